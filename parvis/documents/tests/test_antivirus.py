"""The antivirus, with a real clamd (tests/support/clamd.py: an EICAR hash database made by
sigtool, no freshclam). With PARVIS_CLAMAV set, a new upload waits in quarantine until clamd
says it is clean; a file with a virus (EICAR, plain or zipped) is refused and its uploader told,
in French; when clamd is down the file stays in quarantine and is scanned again later."""

import datetime
import html
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import french
from parvis.core.audit import Actor
from parvis.core.models import AuditEvent, Notification
from parvis.core.tests.factories import World
from parvis.documents import actions, antivirus, tasks
from parvis.documents.models import Blob, Document, Folder, Version
from tests.support import files
from tests.support.clamd import EICAR, LARGE_SAMPLE, Clamd, clamd, clamd_daemon  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

REFUSED = "“%(name)s” was refused: the antivirus found a virus in it."


@pytest.fixture
def scanned(clamd: Clamd, settings: Any) -> Clamd:  # noqa: F811
    """Uploads go through the real clamd."""
    settings.PARVIS_CLAMAV = clamd.address
    return clamd


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def url(name: str, document: Document, query: str = "") -> str:
    space = document.space
    return reverse(f"documents:{name}", args=[space.organisation.slug, space.slug, document.pk]) + query


def folder_url(name: str, folder: Folder) -> str:
    space = folder.space
    return reverse(f"documents:{name}", args=[space.organisation.slug, space.slug, folder.pk])


def upload(client: Client, folder: Folder, name: str, data: bytes) -> Any:
    answer = client.post(
        folder_url("upload", folder),
        {"files": [SimpleUploadedFile(name, data)]},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.content
    return answer


def zip_names(client: Client, folder: Folder) -> list[str]:
    response = client.get(folder_url("folder_zip", folder))
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()


# --- The client itself --------------------------------------------------------------------------


def test_clamd_answers_ping_and_gives_verdicts_on_clean_bytes_and_on_eicar(
    scanned: Clamd,
) -> None:
    assert antivirus.ping()
    assert antivirus.scan(io.BytesIO(files.pdf("Ordre du jour"))) == antivirus.Verdict(clean=True)
    verdict = antivirus.scan(io.BytesIO(EICAR))
    assert not verdict.clean
    assert verdict.signature.endswith(".UNOFFICIAL")
    assert not antivirus.scan(io.BytesIO(zipped("facture.com", EICAR))).clean


def test_a_large_file_reaches_clamd_whole_through_many_chunks(scanned: Clamd) -> None:
    """The test database also holds the hash of a 3 MB sample: clamd recognises it only if
    every one of its 48 chunks arrived, in order."""
    assert len(LARGE_SAMPLE) > 40 * antivirus.CHUNK
    verdict = antivirus.scan(io.BytesIO(LARGE_SAMPLE))
    assert not verdict.clean
    assert verdict.signature.startswith("parvis-large-sample")
    assert antivirus.scan(io.BytesIO(LARGE_SAMPLE[:-1])).clean


def test_an_unreachable_or_missing_antivirus_gives_no_verdict(tmp_path: Any, settings: Any) -> None:
    for address in (str(tmp_path / "absent.sock"), "127.0.0.1:1", "host-without-port", ""):
        settings.PARVIS_CLAMAV = address
        assert not antivirus.ping()
        with pytest.raises(antivirus.ScanError):
            antivirus.scan(io.BytesIO(b"x"))


# --- Quarantine ---------------------------------------------------------------------------------


def test_a_new_upload_waits_in_quarantine_until_clamd_finds_it_clean(
    scanned: Clamd,
    ged: World,
    client_for: Callable[[str], Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    root = actions.root_folder(ged.council)
    elu, maire = client_for("elu"), client_for("maire")
    with django_capture_on_commit_callbacks() as held:  # the time a worker takes to reach the scan
        upload(elu, root, "plan.png", files.png())
    document = Document.objects.get(folder=root, name="plan.png")
    assert document.current.status == Version.Status.PENDING

    # Waiting: seen in the folder, but not downloadable, not in a ZIP, no preview.
    page = maire.get(url("document", document))
    assert page.status_code == 200
    assert french("The antivirus is checking this file: it can be downloaded once it is found clean.") in (
        page.content.decode()
    )
    assert french("being checked") in maire.get(folder_url("folder", root)).content.decode()
    assert maire.get(url("download", document)).status_code == 403
    assert maire.get(url("preview", document)).status_code == 404
    assert maire.get(url("thumbnail", document)).status_code == 404
    assert zip_names(maire, root) == []

    for callback in held:  # the worker reaches the scan
        callback()
    document.refresh_from_db()
    assert document.current.status == Version.Status.CLEAN
    assert AuditEvent.objects.filter(action="documents.scan_clean", object_id=str(document.pk)).exists()
    download = maire.get(url("download", document))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == files.png()
    assert maire.get(url("preview", document)).status_code == 200
    assert maire.get(url("thumbnail", document))["Content-Type"] == "image/jpeg"
    assert zip_names(maire, root) == ["plan.png"]


def test_without_an_antivirus_an_upload_is_available_at_once(ged: World, settings: Any) -> None:
    settings.PARVIS_CLAMAV = ""
    stored = actions.store_bytes(Actor(ged.elu), actions.root_folder(ged.council), "note.txt", b"ok")
    assert stored.version.status == Version.Status.CLEAN


# --- Refusal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [("facture.pdf.com", EICAR), ("pieces-jointes.zip", zipped("dossier/facture.com", EICAR))],
    ids=["plain", "zipped"],
)
def test_a_new_file_with_a_virus_is_refused_and_the_elu_is_told_in_french(
    scanned: Clamd,
    ged: World,
    client_for: Callable[[str], Client],
    django_capture_on_commit_callbacks: Any,
    name: str,
    data: bytes,
) -> None:
    root = actions.root_folder(ged.council)
    elu = client_for("elu")
    with django_capture_on_commit_callbacks(execute=True):
        upload(elu, root, name, data)
    assert not Document.objects.filter(name=name).exists()
    assert not Version.objects.exists()
    event = AuditEvent.objects.get(action="documents.scan_infected")
    assert event.data["signature"].endswith(".UNOFFICIAL")
    [notice] = Notification.objects.filter(kind="documents.infected")
    assert notice.recipient == ged.elu
    assert notice.title == html.unescape(french(REFUSED, name=name))
    assert french(REFUSED, name=name) in elu.get(reverse("core:notifications")).content.decode()
    assert zip_names(client_for("maire"), root) == []


def test_an_infected_new_version_is_removed_and_the_clean_one_stays_current(
    scanned: Clamd,
    ged: World,
    client_for: Callable[[str], Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    root = actions.root_folder(ged.council)
    elu = client_for("elu")
    with django_capture_on_commit_callbacks(execute=True):
        upload(elu, root, "budget.xlsx", b"version saine")
        upload(elu, root, "budget.xlsx", EICAR)
    document = Document.objects.get(folder=root, name="budget.xlsx")
    assert [v.number for v in Version.objects.filter(document=document)] == [1]
    assert document.current.number == 1
    assert document.current.is_clean
    download = client_for("maire").get(url("download", document))
    assert b"".join(download.streaming_content) == b"version saine"
    assert Notification.objects.get(kind="documents.infected").recipient == ged.elu
    # The refused bytes are no longer used by any version: the garbage collector takes them.
    Blob.objects.update(last_used_at=timezone.now() - datetime.timedelta(days=1))
    assert actions.collect_garbage() == 1


# --- Antivirus down -----------------------------------------------------------------------------


def test_when_clamd_is_down_the_file_stays_in_quarantine_and_housekeeping_scans_it_again_later(
    scanned: Clamd,
    ged: World,
    client_for: Callable[[str], Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    scanned.stop()
    root = actions.root_folder(ged.council)
    elu = client_for("elu")
    with django_capture_on_commit_callbacks(execute=True):
        upload(elu, root, "compte-rendu.pdf", files.pdf("Compte rendu"))
        upload(elu, root, "virus.com", EICAR)
    clean_doc = Document.objects.get(name="compte-rendu.pdf")
    assert set(Version.objects.values_list("status", flat=True)) == {Version.Status.PENDING}
    assert elu.get(url("download", clean_doc)).status_code == 403

    scanned.start()
    tasks.housekeeping()  # too soon: a scan may still be on its way
    assert set(Version.objects.values_list("status", flat=True)) == {Version.Status.PENDING}

    tasks.housekeeping(timezone.now() + datetime.timedelta(minutes=6))
    clean_doc.refresh_from_db()
    assert clean_doc.current.status == Version.Status.CLEAN
    assert clean_doc.current.extracted
    assert "Compte rendu" in clean_doc.current.text
    assert not Document.objects.filter(name="virus.com").exists()
    assert Notification.objects.get(kind="documents.infected").recipient == ged.elu
    assert b"".join(elu.get(url("download", clean_doc)).streaming_content) == files.pdf("Compte rendu")


def test_a_version_waiting_when_the_antivirus_was_switched_off_stays_in_quarantine(
    scanned: Clamd, ged: World, settings: Any
) -> None:
    stored = actions.store_bytes(Actor(ged.elu), actions.root_folder(ged.council), "note.txt", b"ok")
    settings.PARVIS_CLAMAV = ""
    assert tasks.process_version.call(stored.version.pk) == "pending"
    stored.version.refresh_from_db()
    assert stored.version.status == Version.Status.PENDING
