"""What the benchmarks put into a Parvis instance, run inside it by `Parvis.seed()` (Django is
set up by `manage.py shell`). Everything goes through the GED's actions, as the web and WebDAV
do; each function returns JSON-able data.

The people are the test personas (parvis/core/tests/factories.py): the benchmarks speak WebDAV
as `elu`, a contributor of the council's space ("conseil") — not a manager, so every request
goes through the rights of the space and of the folders.
"""

import base64
import io
from pathlib import Path
from typing import Any

SPACE_PATH = "/saint-aubin/conseil"


def world() -> dict[str, Any]:
    """The personas, documents on in every space, a folder `Bench` and elu's app password."""
    from django.test import override_settings

    from parvis.core.audit import Actor
    from parvis.core.auth import create_app_password
    from parvis.core.tests.factories import build_world
    from parvis.documents import actions
    from parvis.spaces.models import Space

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        w = build_world()
    Space.objects.update(tools=["documents"])
    actions.create_folder(Actor(w.maire), actions.root_folder(w.council), "Bench")
    _app_password, secret = create_app_password(Actor(None), w.elu, "Banc d'essai WebDAV")
    return {"email": w.elu.email, "secret": secret, "space": SPACE_PATH}


def _folder(path: str) -> Any:
    from parvis.core.audit import Actor
    from parvis.core.models import User
    from parvis.documents import actions
    from parvis.spaces.models import Space

    council = Space.objects.get(slug="conseil", organisation__slug="saint-aubin")
    maire = Actor(User.objects.get(email__startswith="maire"))
    return actions.ensure_path(maire, actions.root_folder(council), [p for p in path.split("/") if p])


def big_file(source: str, folder: str, name: str) -> dict[str, Any]:
    """`source` (a large file) stored as folder/name, written by elu; returns its blob path."""
    from parvis.core.audit import Actor
    from parvis.core.models import User
    from parvis.documents import actions
    from parvis.documents.storage import CHUNK, blob_store

    spool = blob_store().spool()
    with open(source, "rb") as f:
        while chunk := f.read(4 * CHUNK):
            spool.write(chunk)
    elu = Actor(User.objects.get(email__startswith="elu"))
    stored = actions.store_spool(elu, _folder(folder), name, spool)
    sha = stored.version.sha256
    return {"sha": sha, "blob": str(blob_store().path(sha)), "size": stored.version.size}


def many_files(folder: str, count: int, mirror: str) -> dict[str, Any]:
    """`count` small files in folder (one version each, as an upload makes them), and the same
    names and bytes written under `mirror` for the peer."""
    from parvis.core.audit import Actor
    from parvis.core.models import User
    from parvis.documents import actions

    target = _folder(folder)
    maire = Actor(User.objects.get(email__startswith="maire"))
    out = Path(mirror)
    out.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        name = f"délibération-{n:05d}.txt"
        data = f"Délibération n° {n} du conseil municipal\n".encode() * 8
        actions.store_bytes(maire, target, name, data)
        (out / name).write_bytes(data)
    return {"count": count}


def count_queries(email: str, secret: str, paths: list[str], body: str) -> dict[str, Any]:
    """SQL queries of one PROPFIND depth 1 on each path (once the credential is remembered, as
    for a client that sends it on every request), counted in-process on the WSGI app /dav/
    serves — the same method as parvis/documents/tests/test_webdav_queries.py."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from lxml import etree

    from parvis.documents.webdav.app import wsgidav_app

    app = wsgidav_app()
    token = "Basic " + base64.b64encode(f"{email}:{secret}".encode()).decode()

    def call(path: str, depth: str, data: bytes) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "PROPFIND",
            "SCRIPT_NAME": "/dav",
            "PATH_INFO": path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": token,
            "HTTP_DEPTH": depth,
            "CONTENT_TYPE": "application/xml",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        chunks = app(environ, lambda s, headers, exc_info=None: status.append(s))
        data = b"".join(chunks)  # the status comes with the first chunk
        return status[0], data

    call("/", "0", b"")  # the credential is checked once, then remembered
    found = {}
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            status, data = call(path, "1", body.encode())
        assert status.startswith("207"), status
        responses = len(etree.fromstring(data).findall("{DAV:}response"))
        found[path] = {"queries": len(queries), "responses": responses}
    return found
