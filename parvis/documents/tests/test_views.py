"""The GED pages and endpoints as people use them: uploads (a form post, a whole folder, a large
file in chunks that resumes), downloads (ranges, blocked downloads), the ZIP of a folder, share
links for people without an account, and the trash."""

import datetime
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conftest import french
from parvis.core.audit import Actor
from parvis.documents import actions
from parvis.documents.actions import Grant
from parvis.documents.models import Document, Folder, Level, ShareLink, Upload
from parvis.documents.storage import blob_store

from .conftest import Docs, doc_url

Persona = Callable[[str], Client]


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- Uploads ------------------------------------------------------------------------------------


def test_a_contributor_sends_files_and_a_whole_folder_with_its_paths(docs: Docs, as_persona: Persona):
    files = [
        SimpleUploadedFile("ordre-du-jour.pdf", b"%PDF-1.4 ordre"),
        SimpleUploadedFile("annexe.txt", b"annexe"),
        SimpleUploadedFile("photo.png", b"png"),
    ]
    paths = ["ordre-du-jour.pdf", "Séance du 3 mars/annexe.txt", "Séance du 3 mars/Photos/photo.png"]
    response = as_persona("elu").post(
        doc_url("upload", docs.space, docs.budget.pk), {"files": files, "paths": paths}
    )
    assert response.status_code == 302
    seance = Folder.objects.get(parent=docs.budget, name="Séance du 3 mars")
    assert Document.objects.get(folder=seance, name="annexe.txt").current.size == 6
    assert Document.objects.get(folder__parent=seance, folder__name="Photos", name="photo.png")
    assert Document.objects.get(folder=docs.budget, name="ordre-du-jour.pdf").created_by == docs.w.elu


def test_an_upload_answers_in_json_to_the_page_script(docs: Docs, as_persona: Persona):
    response = as_persona("elu").post(
        doc_url("upload", docs.space, docs.budget.pk),
        {"files": [SimpleUploadedFile("a.txt", b"a")]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert response.json()["files"][0]["name"] == "a.txt"


def test_a_reader_cannot_upload(docs: Docs, as_persona: Persona):
    actions.set_restriction(Actor(docs.w.maire), docs.budget, True, [Grant(docs.w.elu, None, Level.READ)])
    response = as_persona("elu").post(
        doc_url("upload", docs.space, docs.budget.pk), {"files": [SimpleUploadedFile("a.txt", b"a")]}
    )
    assert response.status_code == 403
    assert not Document.objects.filter(name="a.txt").exists()


def test_an_upload_into_a_full_storage_is_refused_in_french_and_nothing_is_kept(
    docs: Docs, as_persona: Persona
):
    docs.w.org.storage_quota_bytes = 3
    docs.w.org.save()
    response = as_persona("elu").post(
        doc_url("upload", docs.space, docs.budget.pk), {"files": [SimpleUploadedFile("gros.bin", b"12345")]}
    )
    assert response.status_code == 400
    assert "plein" in response.content.decode()
    assert not Document.objects.filter(name="gros.bin").exists()
    assert list(Path(blob_store().spool_dir).glob("*")) == []  # no spool file left behind


def start(client: Client, docs: Docs, size: int, name: str = "video.mp4", path: str = "") -> dict:
    response = client.post(
        doc_url("upload_start", docs.space, docs.budget.pk), {"name": name, "size": str(size), "path": path}
    )
    assert response.status_code == 201, response.content
    return response.json()


def put(client: Client, url: str, offset: int, data: bytes):  # type: ignore[no-untyped-def]
    return client.put(url, data, content_type="application/octet-stream", HTTP_UPLOAD_OFFSET=str(offset))


def test_a_large_file_arrives_in_chunks_and_resumes_where_the_server_stands(docs: Docs, as_persona: Persona):
    client = as_persona("elu")
    data = bytes(range(256)) * 4000  # 1 MB
    state = start(client, docs, len(data), path="Vidéos/conseil.mp4")
    url = state["url"]
    assert put(client, url, 0, data[:300_000]).json()["offset"] == 300_000
    # The connection drops; the page asks where things stand, and a stale part is refused.
    assert client.get(url).json()["offset"] == 300_000
    stale = put(client, url, 0, data[:10])
    assert stale.status_code == 409
    assert stale.json()["offset"] == 300_000
    # The server restarts: the running hash of the upload is gone from memory.
    actions._running_hashes.clear()
    assert put(client, url, 300_000, data[300_000:]).json()["offset"] == len(data)
    finished = client.post(url + "terminer/")
    assert finished.status_code == 200
    doc = Document.objects.get(name="video.mp4", folder__name="Vidéos")
    assert doc.current.size == len(data)
    assert body(client.get(doc_url("download", docs.space, doc.pk))) == data
    assert not Upload.objects.exists()


def test_a_chunked_upload_cannot_grow_past_its_announced_size_or_finish_early(
    docs: Docs, as_persona: Persona
):
    client = as_persona("elu")
    state = start(client, docs, 10)
    assert client.post(state["url"] + "terminer/").status_code == 409
    too_big = put(client, state["url"], 0, b"x" * 11)
    assert too_big.status_code == 400
    assert too_big.json()["offset"] == 0
    assert not Document.objects.filter(name="video.mp4").exists()


def test_an_upload_belongs_to_the_person_who_started_it(docs: Docs, as_persona: Persona):
    state = start(as_persona("elu"), docs, 10)
    assert as_persona("maire").get(state["url"]).status_code == 404
    assert put(as_persona("maire"), state["url"], 0, b"x").status_code == 404


def test_a_chunked_upload_over_the_quota_is_refused_at_once(docs: Docs, as_persona: Persona):
    docs.w.org.storage_quota_bytes = 100
    docs.w.org.save()
    response = as_persona("elu").post(
        doc_url("upload_start", docs.space, docs.budget.pk), {"name": "film.mp4", "size": "1000"}
    )
    assert response.status_code == 413
    assert "plein" in response.json()["error"]
    assert not Upload.objects.exists()


# --- Downloads ----------------------------------------------------------------------------------


def test_a_download_gives_the_bytes_with_their_name_and_resumes_with_a_range(docs: Docs, as_persona: Persona):
    doc = docs.store("maire", docs.budget, "Délibération n°12.pdf", b"0123456789")
    client = as_persona("elu")
    whole = client.get(doc_url("download", docs.space, doc.pk))
    assert body(whole) == b"0123456789"
    assert "filename*=UTF-8''D%C3%A9lib%C3%A9ration" in whole["Content-Disposition"]
    assert whole["Content-Type"] == "application/octet-stream"
    part = client.get(doc_url("download", docs.space, doc.pk), HTTP_RANGE="bytes=4-")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 4-9/10"
    assert body(part) == b"456789"
    assert client.get(doc_url("download", docs.space, doc.pk), HTTP_RANGE="bytes=20-").status_code == 416
    again = client.get(doc_url("download", docs.space, doc.pk), HTTP_IF_NONE_MATCH=whole["ETag"])
    assert again.status_code == 304


def test_an_older_version_can_be_downloaded(docs: Docs, as_persona: Persona):
    doc = docs.store("maire", docs.budget, "budget.ods", b"v1")
    docs.store("maire", docs.budget, "budget.ods", b"v2")
    old = as_persona("elu").get(doc_url("download", docs.space, doc.pk) + "?version=1")
    assert body(old) == b"v1"
    assert as_persona("elu").get(doc_url("download", docs.space, doc.pk) + "?version=9").status_code == 404


def test_in_a_space_with_downloads_blocked_documents_are_read_in_the_page_only(
    docs: Docs, as_persona: Persona
):
    doc = docs.store("maire", docs.budget, "note.txt", "Réunion de chantier".encode())
    docs.space.block_downloads = True
    docs.space.save()
    client = as_persona("elu")
    assert client.get(doc_url("download", docs.space, doc.pk)).status_code == 403
    assert client.get(doc_url("folder_zip", docs.space, docs.budget.pk)).status_code == 403
    assert client.get(doc_url("share", docs.space, "fichier", doc.pk)).status_code == 403
    page = client.get(doc_url("document", docs.space, doc.pk)).content.decode()
    assert "Réunion de chantier" in page
    assert french("Downloads are blocked in this space: the document is read in the page.") in page


def test_a_folder_downloads_as_a_zip_of_what_the_person_may_see(docs: Docs, as_persona: Persona):
    docs.store("maire", docs.budget, "budget.txt", b"budget")
    secret = docs.folder("maire", docs.budget, "Paie")
    docs.store("maire", secret, "salaires.txt", b"salaires")
    actions.set_restriction(Actor(docs.w.maire), secret, True, [Grant(None, docs.w.direction, Level.READ)])

    def names(persona: str) -> dict[str, bytes]:
        response = as_persona(persona).get(doc_url("folder_zip", docs.space, docs.budget.pk))
        archive = zipfile.ZipFile(io.BytesIO(body(response)))
        assert archive.testzip() is None
        return {n: archive.read(n) for n in archive.namelist()}

    assert names("elu") == {"budget.txt": b"budget"}
    assert names("maire") == {"budget.txt": b"budget", "Paie/salaires.txt": b"salaires"}


# --- Share links --------------------------------------------------------------------------------


def make_link(docs: Docs, as_persona: Persona, item: Document | Folder, **form: str) -> str:
    kind = "dossier" if isinstance(item, Folder) else "fichier"
    form.setdefault("expires_on", (timezone.localdate() + datetime.timedelta(days=3)).isoformat())
    page = as_persona("elu").post(doc_url("share", docs.space, kind, item.pk), form)
    assert page.status_code == 200
    text = page.content.decode()
    start = text.index("/partage/") + len("/partage/")
    return text[start : text.index("/", start)]


def test_a_share_link_lets_someone_without_an_account_download_until_it_is_revoked(
    docs: Docs, as_persona: Persona, secrets_registry
):
    doc = docs.store("maire", docs.budget, "plan.pdf", b"%PDF plan")
    token = make_link(docs, as_persona, doc)
    secrets_registry.add(token)
    assert token not in str(list(ShareLink.objects.values()))  # only its digest is kept
    visitor = Client()
    assert "plan.pdf" in visitor.get(f"/partage/{token}/").content.decode()
    assert body(visitor.get(f"/partage/{token}/telecharger/")) == b"%PDF plan"
    link = ShareLink.objects.get()
    assert link.downloads == 1
    as_persona("elu").post(doc_url("share_revoke", docs.space, link.pk))
    assert visitor.get(f"/partage/{token}/").status_code == 404
    assert visitor.get(f"/partage/{token}/telecharger/").status_code == 404


def test_a_share_link_with_a_password_and_a_download_count(docs: Docs, as_persona: Persona, secrets_registry):
    doc = docs.store("maire", docs.budget, "plan.pdf", b"plan")
    secrets_registry.add("Parapluie-de-Cherbourg")
    token = make_link(docs, as_persona, doc, password="Parapluie-de-Cherbourg", max_downloads="1")
    secrets_registry.add(token)
    visitor = Client()
    assert visitor.get(f"/partage/{token}/telecharger/").status_code == 404  # password first
    wrong = visitor.post(f"/partage/{token}/", {"password": "mauvais"})
    assert wrong.status_code == 400
    assert french("This is not the password of this link.") in wrong.content.decode()
    assert visitor.post(f"/partage/{token}/", {"password": "Parapluie-de-Cherbourg"}).status_code == 302
    assert body(visitor.get(f"/partage/{token}/telecharger/")) == b"plan"
    assert visitor.get(f"/partage/{token}/telecharger/").status_code == 404  # its one download is used


def test_guessing_a_share_password_is_throttled(docs: Docs, as_persona: Persona, secrets_registry, settings):
    doc = docs.store("maire", docs.budget, "plan.pdf", b"plan")
    secrets_registry.add("Parapluie-de-Cherbourg")
    token = make_link(docs, as_persona, doc, password="Parapluie-de-Cherbourg")
    secrets_registry.add(token)
    attacker = Client()
    for _ in range(settings.PARVIS_THROTTLES["share_password"]["pair"][0]):
        attacker.post(f"/partage/{token}/", {"password": "essai"})
    assert attacker.post(f"/partage/{token}/", {"password": "Parapluie-de-Cherbourg"}).status_code == 429


def test_an_expired_link_or_one_whose_file_went_to_the_trash_no_longer_works(docs: Docs, as_persona: Persona):
    doc = docs.store("maire", docs.budget, "plan.pdf", b"plan")
    _expired, token = actions.create_share_link(
        Actor(docs.w.elu), doc, expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert Client().get(f"/partage/{token}/").status_code == 404
    _, fresh = actions.create_share_link(
        Actor(docs.w.elu), doc, expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    assert Client().get(f"/partage/{fresh}/").status_code == 200
    actions.trash(Actor(docs.w.maire), doc)
    assert Client().get(f"/partage/{fresh}/").status_code == 404


def test_a_folder_link_shows_only_what_its_maker_still_sees(docs: Docs, as_persona: Persona):
    docs.store("maire", docs.budget, "public.txt", b"public")
    secret = docs.folder("maire", docs.budget, "Paie")
    docs.store("maire", secret, "salaires.txt", b"salaires")
    actions.set_restriction(Actor(docs.w.maire), secret, True, [Grant(None, docs.w.direction, Level.READ)])
    token = make_link(docs, as_persona, docs.budget)
    page = Client().get(f"/partage/{token}/").content.decode()
    assert "public.txt" in page
    assert "Paie" not in page
    assert Client().get(f"/partage/{token}/?dossier={secret.pk}").status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(body(Client().get(f"/partage/{token}/zip/"))))
    assert archive.namelist() == ["public.txt"]


def test_a_link_stops_when_its_maker_leaves_the_space(docs: Docs, as_persona: Persona):
    doc = docs.store("maire", docs.budget, "plan.pdf", b"plan")
    token = make_link(docs, as_persona, doc)
    docs.space.memberships.filter(user=docs.w.elu).delete()
    assert Client().get(f"/partage/{token}/").status_code == 404


# --- Trash and the other pages ------------------------------------------------------------------


def test_the_trash_lists_what_was_deleted_and_restores_it(docs: Docs, as_persona: Persona):
    doc = docs.store("maire", docs.budget, "brouillon.txt")
    client = as_persona("elu")
    assert client.post(doc_url("delete", docs.space, "fichier", doc.pk)).status_code == 302
    trash = client.get(doc_url("trash", docs.space)).content.decode()
    assert "brouillon.txt" in trash
    assert client.post(doc_url("trash_restore", docs.space, "fichier", doc.pk)).status_code == 302
    assert not Document.objects.get(pk=doc.pk).in_trash
    # Only facilitators delete for good.
    client.post(doc_url("delete", docs.space, "fichier", doc.pk))
    assert client.post(doc_url("trash_purge", docs.space, "fichier", doc.pk)).status_code == 403
    assert as_persona("maire").post(doc_url("trash_purge", docs.space, "fichier", doc.pk)).status_code == 302
    assert not Document.objects.filter(pk=doc.pk).exists()


def test_a_document_in_the_trash_is_a_404_at_its_address(docs: Docs, as_persona: Persona):
    doc = docs.store("maire", docs.budget, "brouillon.txt")
    actions.trash(Actor(docs.w.maire), doc)
    assert as_persona("maire").get(doc_url("document", docs.space, doc.pk)).status_code == 404


def test_recent_files_and_favourites(docs: Docs, as_persona: Persona):
    doc = docs.store("maire", docs.budget, "compte-rendu.odt")
    client = as_persona("elu")
    client.get(doc_url("document", docs.space, doc.pk))
    recent = client.get("/o/saint-aubin/documents/recents/").content.decode()
    assert "compte-rendu.odt" in recent
    client.post(doc_url("favourite", docs.space, "fichier", doc.pk), {"on": "1"})
    assert "compte-rendu.odt" in client.get("/o/saint-aubin/documents/favoris/").content.decode()
    assert (
        "compte-rendu.odt"
        not in as_persona("maire").get("/o/saint-aubin/documents/favoris/").content.decode()
    )


def test_a_space_with_the_tool_off_has_no_documents_pages(docs: Docs, as_persona: Persona):
    docs.space.tools = []
    docs.space.save()
    assert as_persona("maire").get(doc_url("home", docs.space)).status_code == 404


def test_renaming_to_a_taken_name_is_refused_in_french_and_nothing_changes(docs: Docs, as_persona: Persona):
    docs.store("maire", docs.budget, "a.txt")
    b = docs.store("maire", docs.budget, "b.txt")
    response = as_persona("elu").post(doc_url("rename", docs.space, "fichier", b.pk), {"name": "a.txt"})
    assert response.status_code == 400
    assert "a.txt" in response.content.decode()
    assert Document.objects.get(pk=b.pk).name == "b.txt"


def test_a_folder_of_many_files_is_shown_page_by_page(docs: Docs, as_persona: Persona, monkeypatch):
    from parvis.documents.views import browse

    monkeypatch.setattr(browse, "FILES_PER_PAGE", 3)
    for n in range(7):
        docs.store("maire", docs.budget, f"piece-{n}.txt")
    first = as_persona("elu").get(doc_url("folder", docs.space, docs.budget.pk)).content.decode()
    last = as_persona("elu").get(doc_url("folder", docs.space, docs.budget.pk) + "?page=3").content.decode()
    assert "piece-0.txt" in first
    assert "piece-3.txt" not in first
    assert "piece-6.txt" in last


def test_the_administrator_sees_the_storage_used_and_sets_how_long_the_trash_keeps(
    docs: Docs, as_persona: Persona
):
    docs.store("maire", docs.budget, "budget.ods", b"x" * 2048)
    page = as_persona("secretaire").get("/o/saint-aubin/admin/documents/").content.decode()
    assert "Commission Finances" in page
    assert "2,0 Ko" in page
    assert as_persona("secretaire").post("/o/saint-aubin/admin/documents/", {"days": "90"}).status_code == 302
    docs.w.org.refresh_from_db()
    assert docs.w.org.trash_retention_days == 90
    refused = as_persona("secretaire").post("/o/saint-aubin/admin/documents/", {"days": "0"})
    assert refused.status_code == 400
    assert french("Choose between 1 and 3,650 days.") in refused.content.decode()
    assert as_persona("maire").get("/o/saint-aubin/admin/documents/").status_code == 403
    docs.w.org.refresh_from_db()
    assert docs.w.org.trash_retention_days == 90
