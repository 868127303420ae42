"""The blob stores, against real parts: local disk, and a real S3 server (moto_server over HTTP,
spoken to by boto3 as any S3-compatible store would be). The same tests run on both stores:
spool, adopt, dedupe, open, delete, derived files; then the whole flow through the views
(upload, download), which on S3 answers a redirect to a presigned SigV4 URL."""

import datetime
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from parvis.core.audit import Actor
from parvis.core.tests.factories import World
from parvis.documents import actions, tasks
from parvis.documents.models import Blob, Document
from parvis.documents.storage import BlobStore, LocalBlobStore, S3BlobStore, blob_store
from tests.support.s3 import S3Server, s3_server, s3_store  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> BlobStore:
    """Each test below runs on local disk and on S3."""
    if request.param == "s3":
        return request.getfixturevalue("s3_store")  # type: ignore[no-any-return]
    store = blob_store()
    assert isinstance(store, LocalBlobStore)
    return store


def stored_keys(store: BlobStore) -> list[str]:
    """What the store really holds (files on disk, objects in the bucket), derived files aside."""
    if isinstance(store, LocalBlobStore):
        return sorted(
            p.name
            for p in store.root.rglob("*")
            if p.is_file() and store.spool_dir not in p.parents and store.derived_dir not in p.parents
        )
    listing = store.client.list_objects_v2(Bucket=store.bucket, Prefix="blobs/")
    return sorted(o["Key"].removeprefix("blobs/") for o in listing.get("Contents", []))


def spooled(store: BlobStore, data: bytes) -> tuple[Path, str]:
    spool = store.spool()
    for start in range(0, len(data), 100_000):
        spool.write(data[start : start + 100_000])
    return spool.path, spool.finish()


def read(store: BlobStore, sha: str) -> bytes:
    with store.open(sha) as f:
        return f.read()


def test_a_spool_file_hashes_what_it_receives_and_lives_in_the_stores_own_folder(store: BlobStore) -> None:
    data = os.urandom(300_000)
    path, sha = spooled(store, data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert path.read_bytes() == data
    assert path.parent == Path(store.spool_dir)
    if isinstance(store, LocalBlobStore):  # a rename into the store, never a copy
        assert path.stat().st_dev == store.root.stat().st_dev


def test_adopting_moves_the_bytes_into_the_store_under_their_hash(store: BlobStore) -> None:
    data = b"Ordre du jour du conseil municipal\n" * 1000
    path, sha = spooled(store, data)
    assert not store.exists(sha)
    store.adopt(path, sha)
    assert not path.exists()
    assert store.exists(sha)
    assert read(store, sha) == data
    assert stored_keys(store) == [sha]


def test_the_same_content_adopted_twice_is_stored_once(store: BlobStore) -> None:
    data = os.urandom(50_000)
    first, sha = spooled(store, data)
    store.adopt(first, sha)
    second, again = spooled(store, data)
    assert again == sha
    store.adopt(second, sha)
    assert not second.exists()
    assert stored_keys(store) == [sha]
    assert read(store, sha) == data


def test_a_deleted_blob_is_gone_and_others_stay(store: BlobStore) -> None:
    kept, gone = os.urandom(1000), os.urandom(1000)
    for data in (kept, gone):
        path, sha = spooled(store, data)
        store.adopt(path, sha)
    store.delete(hashlib.sha256(gone).hexdigest())
    assert not store.exists(hashlib.sha256(gone).hexdigest())
    assert stored_keys(store) == [hashlib.sha256(kept).hexdigest()]


def test_derived_files_are_kept_apart_read_back_and_replaced(store: BlobStore) -> None:
    assert store.read_derived("thumb/abc.jpg") is None
    store.write_derived("thumb/abc.jpg", b"first")
    assert store.read_derived("thumb/abc.jpg") == b"first"
    store.write_derived("thumb/abc.jpg", b"second")
    assert store.read_derived("thumb/abc.jpg") == b"second"
    store.write_derived("pages/abc", b"")  # "nothing to show" is remembered too
    assert store.read_derived("pages/abc") == b""
    assert stored_keys(store) == []


def test_a_file_of_several_parts_arrives_whole(store: BlobStore) -> None:
    """20 MB: boto3 sends it as a multipart upload, where S3-compatible servers trip over the
    checksums boto3 adds by default (stack.md §8)."""
    data = os.urandom(20 * 1024 * 1024)
    path, sha = spooled(store, data)
    store.adopt(path, sha)
    assert hashlib.sha256(read(store, sha)).hexdigest() == sha


def test_a_failed_adoption_keeps_the_received_file_so_it_can_be_retried(
    s3_server: S3Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A store that refuses (here a bucket that does not exist) must not destroy what was
    received: a chunked upload's file is all the client has acknowledged."""
    from boto3.exceptions import S3UploadFailedError

    store = S3BlobStore("no-such-bucket", tmp_path / "spool", **s3_server.client_options())
    path, sha = spooled(store, b"tableau des effectifs")
    with pytest.raises(S3UploadFailedError):
        store.adopt(path, sha)
    assert path.read_bytes() == b"tableau des effectifs"


def test_the_local_store_hands_over_a_path_and_s3_a_presigned_sigv4_url(store: BlobStore) -> None:
    data = "Délibération n° 2026-14".encode()
    path, sha = spooled(store, data)
    store.adopt(path, sha)
    delivery = store.delivery(sha, "délibération.txt", inline=False)
    if isinstance(store, LocalBlobStore):
        assert delivery.url is None
        assert delivery.path is not None
        assert delivery.path.read_bytes() == data
        return
    assert delivery.path is None
    assert delivery.url is not None
    query = parse_qs(urlsplit(delivery.url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "AWSAccessKeyId" not in query  # not the SigV2 of boto's default
    response = requests.get(delivery.url, timeout=10)
    assert response.status_code == 200
    assert response.content == data
    assert "filename*=UTF-8''d%C3%A9lib%C3%A9ration.txt" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_garbage_collection_removes_bytes_no_version_points_to(store: BlobStore, ged: World) -> None:
    root = actions.root_folder(ged.council)
    kept = actions.store_bytes(Actor(ged.maire), root, "garde.txt", b"kept")
    dropped = actions.store_bytes(Actor(ged.maire), root, "jete.txt", b"dropped")
    actions.trash(Actor(ged.maire), dropped.document)
    actions.purge(Actor(ged.maire), Document.objects.get(pk=dropped.document.pk))
    Blob.objects.update(last_used_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    assert actions.collect_garbage() == 1
    assert stored_keys(store) == [kept.version.sha256]
    assert not store.exists(dropped.version.sha256)


# --- The whole flow, through the views -----------------------------------------------------------


def upload_url(folder: Any) -> str:
    space = folder.space
    return reverse("documents:upload", args=[space.organisation.slug, space.slug, folder.pk])


def download_url(document: Document) -> str:
    space = document.space
    return reverse("documents:download", args=[space.organisation.slug, space.slug, document.pk])


def test_the_maire_uploads_a_file_and_gets_the_same_bytes_back_from_either_store(
    store: BlobStore, ged: World, client_for: Callable[[str], Any]
) -> None:
    data = os.urandom(256 * 1024) + "fin du compte rendu é".encode()
    root = actions.root_folder(ged.council)
    maire = client_for("maire")
    answer = maire.post(
        upload_url(root),
        {"files": [SimpleUploadedFile("compte-rendu.bin", data)]},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.content
    document = Document.objects.get(folder=root, name="compte-rendu.bin")
    assert document.current.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_keys(store) == [document.current.sha256]
    assert list(Path(store.spool_dir).iterdir()) == []  # nothing left behind in the spool

    response = client_for("elu").get(download_url(document))
    if isinstance(store, LocalBlobStore):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == data
        return
    assert response.status_code == 302
    url = response["Location"]
    assert urlsplit(url).netloc == urlsplit(store.client.meta.endpoint_url).netloc
    assert parse_qs(urlsplit(url).query)["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == document.current.sha256
    assert fetched.headers["Content-Type"] == "application/octet-stream"


def test_someone_of_another_commune_gets_no_presigned_url(
    s3_store: S3BlobStore,  # noqa: F811
    ged: World,
    client_for: Callable[[str], Any],
) -> None:
    stored = actions.store_bytes(Actor(ged.maire), actions.root_folder(ged.council), "budget.txt", b"1 M EUR")
    response = client_for("inconnu").get(download_url(stored.document))
    assert response.status_code == 404
    assert "Location" not in response


def test_housekeeping_sweeps_what_a_crash_left_in_the_spool_but_never_an_upload_in_progress(
    store: BlobStore, ged: World
) -> None:
    live = actions.start_upload(Actor(ged.maire), actions.root_folder(ged.council), "gros.iso", 10)
    spool = Path(store.spool_dir)
    two_days_ago = (timezone.now() - datetime.timedelta(days=2)).timestamp()
    left = {name: spool / name for name in ("spool-cut-off", f"upload-{live.pk}.1a2b3c4d", "spool-fresh")}
    for path in left.values():
        path.write_bytes(b"...")
    for path in (left["spool-cut-off"], left[f"upload-{live.pk}.1a2b3c4d"], actions.upload_path(live)):
        os.utime(path, (two_days_ago, two_days_ago))
    assert tasks.sweep_spool() == 2
    assert sorted(p.name for p in spool.iterdir()) == sorted(["spool-fresh", f"upload-{live.pk}"])
