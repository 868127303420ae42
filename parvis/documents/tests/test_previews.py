"""Previews through the pages and their URLs: an image's thumbnail, a PDF's pages rendered by
the real pdftoppm (poppler-utils, installed by the Makefile), the start of a text file; with
the status codes, content types and rights a browser meets."""

import io
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from conftest import french
from parvis.core.audit import Actor
from parvis.core.tests.factories import World
from parvis.documents import actions, previews
from parvis.documents.models import Document, Folder, Level
from parvis.documents.storage import blob_store
from parvis.spaces.models import Space
from tests.support import files
from tests.support.clamd import missing
from tests.support.s3 import s3_server, s3_store  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def pdftoppm() -> None:
    if shutil.which("pdftoppm") is None:
        missing("pdftoppm is not installed (make system-deps: poppler-utils)")


@pytest.fixture
def put(django_capture_on_commit_callbacks: Any, ged: World) -> Callable[..., Document]:
    def upload(folder: Folder, name: str, data: bytes) -> Document:
        with django_capture_on_commit_callbacks(execute=True):
            stored = actions.store_bytes(Actor(ged.maire), folder, name, data)
        return Document.objects.select_related("current").get(pk=stored.document.pk)

    return upload


def url(name: str, document: Document, query: str = "") -> str:
    space = document.space
    return reverse(f"documents:{name}", args=[space.organisation.slug, space.slug, document.pk]) + query


def picture(response: Any) -> Image.Image:
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def test_an_image_is_shown_inline_and_gets_a_small_jpeg_thumbnail(
    put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    document = put(actions.root_folder(ged.council), "plan de la salle.png", files.png(640, 480))
    elu = client_for("elu")
    page = elu.get(url("document", document)).content.decode()
    assert f'src="{url("preview", document)}"' in page

    preview = elu.get(url("preview", document))
    assert preview["Content-Type"] == "image/png"
    assert preview["Content-Disposition"].startswith("inline")
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert picture(preview).size == (640, 480)

    thumbnail = elu.get(url("thumbnail", document))
    assert thumbnail["Content-Type"] == "image/jpeg"
    assert picture(thumbnail).size == (240, 180)
    folder_page = elu.get(reverse("documents:home", args=[ged.org.slug, ged.council.slug]))
    assert f'src="{url("thumbnail", document)}"' in folder_page.content.decode()


def test_a_pdf_shows_each_page_rendered_by_pdftoppm(
    pdftoppm: None, put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    document = put(actions.root_folder(ged.council), "Séance.pdf", files.pdf("Ordre du jour", "Annexe"))
    elu = client_for("elu")
    page = elu.get(url("document", document)).content.decode()
    assert f'src="{url("preview", document)}?page=1"' in page
    assert f'src="{url("preview", document)}?page=2"' in page
    assert "?page=3" not in page

    for number in (1, 2):
        response = elu.get(url("preview", document, f"?page={number}"))
        assert response["Content-Type"] == "image/jpeg"
        image = picture(response)
        assert image.width == previews.PAGE_WIDTH
        assert image.height == pytest.approx(previews.PAGE_WIDTH * 792 / 612, abs=2)  # US Letter
    thumbnail = picture(elu.get(url("thumbnail", document)))
    assert thumbnail.width == previews.THUMB_SIZE
    for wrong in ("?page=3", "?page=0", "?page=un", "?page=-1", "?page=999999", ""):
        assert elu.get(url("preview", document, wrong)).status_code == 404, wrong


def test_a_rendered_page_is_kept_and_served_again_without_rendering(
    pdftoppm: None, put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    document = put(actions.root_folder(ged.council), "Séance.pdf", files.pdf("Ordre du jour"))
    first = client_for("elu").get(url("preview", document, "?page=1")).content
    key = f"page/{document.current.sha256}/1.jpg"
    assert blob_store().read_derived(key) == first
    blob_store().write_derived(key, b"kept")  # what is served now comes from the cache
    assert client_for("elu").get(url("preview", document, "?page=1")).content == b"kept"


def test_a_text_file_is_shown_escaped_in_the_page(
    put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    text = "Procès-verbal\n<script>alert('é')</script>\nFin."
    document = put(actions.root_folder(ged.council), "pv.txt", text.encode("cp1252"))
    page = client_for("elu").get(url("document", document)).content.decode()
    assert '<pre class="text-preview">Procès-verbal\n&lt;script&gt;alert(&#x27;é&#x27;)' in page
    assert "<script>alert" not in page
    assert client_for("elu").get(url("preview", document)).status_code == 404  # shown in the page only
    assert client_for("elu").get(url("thumbnail", document)).status_code == 404


def test_a_file_without_preview_says_so(
    put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    document = put(actions.root_folder(ged.council), "tableau.xlsx", b"PK\x03\x04 pas vraiment")
    elu = client_for("elu")
    assert french("No preview for this kind of file.") in elu.get(url("document", document)).content.decode()
    assert elu.get(url("preview", document)).status_code == 404
    assert elu.get(url("thumbnail", document)).status_code == 404


def test_a_broken_pdf_or_image_has_no_picture_and_the_page_still_opens(
    pdftoppm: None, put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    root = actions.root_folder(ged.council)
    broken_pdf = put(root, "abime.pdf", b"%PDF-1.4 tronque")
    broken_png = put(root, "abime.png", b"\x89PNG\r\n\x1a\n tronque")
    elu = client_for("elu")
    assert elu.get(url("document", broken_pdf)).status_code == 200
    assert elu.get(url("preview", broken_pdf, "?page=1")).status_code == 404
    assert elu.get(url("thumbnail", broken_pdf)).status_code == 404
    assert elu.get(url("thumbnail", broken_png)).status_code == 404


# --- Rights -------------------------------------------------------------------------------------


def test_previews_follow_the_documents_rights(
    pdftoppm: None, put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    root = actions.root_folder(ged.council)
    confidential = actions.create_folder(Actor(ged.maire), root, "Dossiers agents")
    actions.set_restriction(
        Actor(ged.maire), confidential, True, [actions.Grant(None, ged.rh_group, Level.READ)]
    )
    hidden = put(confidential, "évaluation.pdf", files.pdf("Confidentiel"))
    image = put(confidential, "photo.png", files.png())
    for persona in ("elu", "inconnu", "externe"):
        client = client_for(persona)
        for response in (
            client.get(url("preview", hidden, "?page=1")),
            client.get(url("thumbnail", hidden)),
            client.get(url("preview", image)),
            client.get(url("document", hidden)),
        ):
            assert response.status_code == 404, persona
    assert client_for("anonyme").get(url("preview", image)).status_code == 302  # to the sign-in page
    rh = client_for("agent_rh")
    assert rh.get(url("preview", hidden, "?page=1"))["Content-Type"] == "image/jpeg"
    assert rh.get(url("preview", image))["Content-Type"] == "image/png"


def test_where_downloads_are_blocked_the_pages_are_still_read_in_the_page(
    pdftoppm: None, put: Callable[..., Document], ged: World, client_for: Callable[[str], Client]
) -> None:
    Space.objects.filter(pk=ged.council.pk).update(block_downloads=True)
    document = put(actions.root_folder(ged.council), "Séance.pdf", files.pdf("Ordre du jour"))
    elu = client_for("elu")
    assert elu.get(url("download", document)).status_code == 403
    assert elu.get(url("preview", document, "?page=1"))["Content-Type"] == "image/jpeg"


def test_pdf_pages_and_thumbnails_are_rendered_from_s3_too(
    pdftoppm: None,
    s3_store: Any,  # noqa: F811
    put: Callable[..., Document],
    ged: World,
    client_for: Callable[[str], Client],
) -> None:
    document = put(actions.root_folder(ged.council), "Séance.pdf", files.pdf("Ordre du jour", "Annexe"))
    elu = client_for("elu")
    assert "?page=2" in elu.get(url("document", document)).content.decode()
    assert picture(elu.get(url("preview", document, "?page=2"))).width == previews.PAGE_WIDTH
    assert picture(elu.get(url("thumbnail", document))).width == previews.THUMB_SIZE
    assert s3_store.read_derived(f"page/{document.current.sha256}/2.jpg") is not None
    image = put(actions.root_folder(ged.council), "plan.png", files.png())
    assert elu.get(url("preview", image)).status_code == 302  # a presigned URL, typed image/png
    assert "response-content-type=image%2Fpng" in elu.get(url("preview", image))["Location"]
