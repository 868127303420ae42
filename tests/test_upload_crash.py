"""Uploads survive a crash of the server (kill -9), on a real instance (tests/support/instance.py:
its own database, SQLite file or PostgreSQL, the production settings, `manage.py serve`), spoken
to over real HTTP by 50 concurrent clients, half posting forms, half sending chunks.

What is promised after the restart:

* No partial file is visible: every document's current version points to bytes whose SHA-256
  is the one recorded, and that are exactly what its uploader sent; no upload that was cut off
  shows up as a document.
* Every upload the server acknowledged (a 2xx answer reached the client) is there, whole.
* A chunked upload cut off by the crash resumes from where the server last acknowledged, and
  then arrives whole too.

The second test stops the server at a named crash point (parvis.core.faults) between putting
the bytes in the store and committing the rows that point to them, the one moment where a
finished chunked upload could otherwise be lost.
"""

import hashlib
import json
import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from parvis.core.tests.factories import PASSWORD
from tests.support.instance import Instance, instance

pytestmark = pytest.mark.slow

UPLOADS = 50
PART = 128 * 1024
SPACE = "/o/saint-aubin/e/conseil/documents"

SEED = """
import json
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from parvis.core.models import User
from parvis.core.tests.factories import PASSWORD, build_world
from parvis.documents.actions import root_folder
from parvis.spaces.models import Space
with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
    w = build_world()
User.objects.filter(pk=w.maire.pk).update(password=make_password(PASSWORD))
Space.objects.update(tools=["documents"])
print(json.dumps({"root": root_folder(w.council).pk}))
"""

STATE = """
import hashlib, json
from parvis.documents.models import Document, Upload, Version
from parvis.documents.storage import blob_store
docs = []
for d in Document.objects.filter(deleted_at__isnull=True).select_related("current"):
    digest = hashlib.sha256()
    with blob_store().open(d.current.sha256) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    docs.append({"id": d.pk, "name": d.name, "sha": d.current.sha256, "size": d.current.size,
                 "actual": digest.hexdigest(), "versions": Version.objects.filter(document=d).count()})
print(json.dumps({"docs": docs, "uploads": [str(u) for u in Upload.objects.values_list("pk", flat=True)]}))
"""


@dataclass
class Sent:
    """One upload as its client saw it."""

    name: str
    data: bytes
    chunked: bool
    acknowledged: bool = False
    upload_url: str | None = None  # a chunked upload the server opened
    acked_offset: int = 0  # how far the server acknowledged its chunks
    finish_tried: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class Browser:
    """A signed-in HTTP client of the maire (session and CSRF token, as a browser has them)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        page = self.http.get(f"{base}/connexion/", timeout=30)
        answer = self.http.post(
            f"{base}/connexion/",
            data={
                "email": "maire@saint-aubin.localhost",
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.token(page.text),
            },
            timeout=30,
        )
        assert answer.status_code == 200, answer.status_code
        assert "sessionid" in self.http.cookies
        self.csrf = self.token(self.http.get(f"{base}{SPACE}/", timeout=30).text)
        self.http.headers.update({"X-CSRFToken": self.csrf, "Accept": "application/json"})

    @staticmethod
    def token(html: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match, "no CSRF token in the page"
        return match.group(1)

    def secrets(self) -> list[str]:
        return [self.http.cookies.get("sessionid", ""), PASSWORD]

    def clone(self) -> "Browser":
        """Another connection of the same signed-in person (one per thread: a requests
        Session is not meant to be shared between threads)."""
        other = object.__new__(Browser)
        other.base, other.csrf = self.base, self.csrf
        other.http = requests.Session()
        other.http.cookies.update(self.http.cookies)
        other.http.headers.update(self.http.headers)
        return other


def post_form(browser: Browser, root: int, sent: Sent) -> None:
    answer = browser.http.post(
        f"{browser.base}{SPACE}/dossier/{root}/televerser/",
        files={"files": (sent.name, sent.data, "application/octet-stream")},
        timeout=60,
    )
    sent.acknowledged = 200 <= answer.status_code < 300
    if not sent.acknowledged:
        sent.errors.append(f"form {answer.status_code}")


def send_chunks(browser: Browser, sent: Sent, start: int = 0) -> None:
    assert sent.upload_url is not None
    offset = start
    while offset < len(sent.data):
        piece = sent.data[offset : offset + PART]
        answer = browser.http.put(
            f"{browser.base}{sent.upload_url}",
            data=piece,
            headers={"Upload-Offset": str(offset), "Content-Type": "application/octet-stream"},
            timeout=60,
        )
        assert answer.status_code == 200, (answer.status_code, answer.text)
        offset = answer.json()["offset"]
        sent.acked_offset = offset
    sent.finish_tried = True
    answer = browser.http.post(f"{browser.base}{sent.upload_url}terminer/", timeout=60)
    sent.acknowledged = 200 <= answer.status_code < 300
    if not sent.acknowledged:
        sent.errors.append(f"finish {answer.status_code} {answer.text[:200]}")


def chunked(browser: Browser, root: int, sent: Sent) -> None:
    answer = browser.http.post(
        f"{browser.base}{SPACE}/dossier/{root}/televersements/",
        data={"name": sent.name, "size": str(len(sent.data))},
        timeout=60,
    )
    assert answer.status_code == 201, (answer.status_code, answer.text)
    sent.upload_url = answer.json()["url"]
    send_chunks(browser, sent)


def upload(browser: Browser, root: int, sent: Sent, acks: threading.Semaphore) -> None:
    try:
        (chunked if sent.chunked else post_form)(browser, root, sent)
    except (requests.RequestException, AssertionError, ValueError) as error:
        sent.errors.append(type(error).__name__)
    if sent.acknowledged:
        acks.release()


def state(inst: Instance) -> dict[str, Any]:
    return dict(json.loads(inst.python(STATE).strip().splitlines()[-1]))


def assert_nothing_partial(inst: Instance, sent: dict[str, Sent]) -> dict[str, dict[str, Any]]:
    """Every document is one we sent, whole, recorded once; returns them by name."""
    docs = {d["name"]: d for d in state(inst)["docs"]}
    for name, doc in docs.items():
        assert name in sent, f"a document nobody uploaded: {name}"
        assert doc["actual"] == doc["sha"], f"{name}: the stored bytes are not the recorded ones"
        assert doc["sha"] == sent[name].sha, f"{name}: not what its client sent"
        assert doc["size"] == len(sent[name].data)
        assert doc["versions"] == 1, f"{name} recorded twice"
    for name, one in sent.items():
        if one.chunked and not one.finish_tried:
            assert name not in docs, f"{name}: a chunked upload never finished shows as a document"
    return docs


def download(browser: Browser, doc_id: int) -> bytes:
    answer = browser.http.get(f"{browser.base}{SPACE}/fichier/{doc_id}/telecharger/", timeout=60)
    assert answer.status_code == 200, answer.status_code
    return answer.content


def test_acknowledged_uploads_survive_a_kill_9_of_the_server_and_nothing_partial_shows(
    tmp_path: Path, secrets_registry: Any
) -> None:
    with instance(tmp_path, "upload-crash") as inst:
        root = json.loads(inst.python(SEED).strip().splitlines()[-1])["root"]
        server = inst.start_server()
        signed_in = Browser(inst.url)
        secrets_registry.add(*signed_in.secrets())
        sent = {}
        for n in range(UPLOADS):
            is_chunked = n % 2 == 1
            size = (700_000 + 9_973 * n) if is_chunked else (40_000 + 31_337 * n)
            name = f"{'morceaux' if is_chunked else 'formulaire'}-{n:02d}.bin"
            sent[name] = Sent(name, os.urandom(size), is_chunked)

        acks = threading.Semaphore(0)
        with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
            futures = [pool.submit(upload, signed_in.clone(), root, one, acks) for one in sent.values()]
            for _ in range(12):  # let a dozen uploads be acknowledged, then pull the plug
                assert acks.acquire(timeout=120), "the server acknowledged too few uploads"
            server.send_signal(signal.SIGKILL)
            assert server.wait(timeout=30) == -signal.SIGKILL
            for future in futures:
                future.result(timeout=120)

        acknowledged = [s for s in sent.values() if s.acknowledged]
        cut_off = [s for s in sent.values() if not s.acknowledged]
        assert 12 <= len(acknowledged) < UPLOADS, "the crash must fall in the middle of the uploads"
        assert any(s.chunked and s.upload_url and not s.finish_tried for s in cut_off), (
            "some chunked upload should have been cut off half-way"
        )

        inst.start_server()
        docs = assert_nothing_partial(inst, sent)
        for one in acknowledged:
            assert one.name in docs, f"{one.name} was acknowledged and is lost"

        # Black box: the restarted server hands out exactly what was acknowledged.
        browser = Browser(inst.url)
        secrets_registry.add(*browser.secrets())
        for one in acknowledged:
            assert hashlib.sha256(download(browser, docs[one.name]["id"])).hexdigest() == one.sha

        # Chunked uploads cut off by the crash resume where the server last acknowledged.
        resumed = 0
        for one in cut_off:
            if not one.chunked or one.upload_url is None:
                continue
            where = browser.http.get(f"{inst.url}{one.upload_url}", timeout=30)
            if where.status_code == 404:  # its finish committed just before the crash
                assert one.finish_tried
                assert one.name in docs
                continue
            assert where.status_code == 200
            offset = where.json()["offset"]
            assert offset >= one.acked_offset  # nothing acknowledged was lost
            assert offset <= len(one.data)
            one.errors.clear()
            send_chunks(browser, one, offset)
            assert one.acknowledged, one.errors
            resumed += 1
        assert resumed > 0
        docs = assert_nothing_partial(inst, sent)
        for one in sent.values():
            if one.chunked and one.upload_url is not None:
                assert one.name in docs, f"{one.name} could not be resumed"
                assert hashlib.sha256(download(browser, docs[one.name]["id"])).hexdigest() == one.sha
        # Left: only uploads opened by the server as it died, whose clients never heard of them.
        known = {one.upload_url.rstrip("/").rsplit("/", 1)[-1] for one in sent.values() if one.upload_url}
        assert not known & set(state(inst)["uploads"])


def test_a_chunked_upload_whose_finish_died_between_store_and_commit_can_be_finished_again(
    tmp_path: Path, secrets_registry: Any
) -> None:
    with instance(tmp_path, "upload-crash-point") as inst:
        root = json.loads(inst.python(SEED).strip().splitlines()[-1])["root"]
        inst.start_server()
        browser = Browser(inst.url)
        secrets_registry.add(*browser.secrets())
        one = Sent("registre.bin", os.urandom(3 * PART + 17), chunked=True)
        answer = browser.http.post(
            f"{inst.url}{SPACE}/dossier/{root}/televersements/",
            data={"name": one.name, "size": str(len(one.data))},
            timeout=30,
        )
        one.upload_url = answer.json()["url"]
        inst.stop()

        # The same instance, started so that it dies right after moving bytes into the store.
        crash_at = {"PARVIS_CRASH_AT": "documents.after_adopt"}
        crashing = inst.start("serve", "--no-worker", "--port", str(inst.port), env=crash_at)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{inst.url}/connexion/", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with pytest.raises(requests.ConnectionError):
            send_chunks(browser, one)
        assert crashing.wait(timeout=30) == -signal.SIGKILL
        assert not one.acknowledged
        assert one.acked_offset == len(one.data)  # every chunk was acknowledged before finish

        inst.start_server()
        assert state(inst)["docs"] == []  # the crash came before the document was recorded
        where = browser.http.get(f"{inst.url}{one.upload_url}", timeout=30)
        assert where.json()["offset"] == len(one.data)
        finish = browser.http.post(f"{inst.url}{one.upload_url}terminer/", timeout=30)
        assert finish.status_code == 200, finish.text
        [doc] = assert_nothing_partial(inst, {one.name: one}).values()
        assert hashlib.sha256(download(browser, doc["id"])).hexdigest() == one.sha
        assert browser.http.get(f"{inst.url}{one.upload_url}", timeout=30).status_code == 404
        assert state(inst)["uploads"] == []
