"""How many SQL queries a PROPFIND costs, counted in-process on the WSGI app that /dav/ serves.

A folder listing must cost the same number of queries for 10 files as for 200 (and so for
10,000): children, their dead properties and their locks are each read in one query.
"""

import base64
import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from lxml import etree

from parvis.core.audit import Actor
from parvis.core.auth import create_app_password
from parvis.documents import actions
from parvis.documents.models import DavProperty
from parvis.documents.webdav import auth, locks
from parvis.documents.webdav.app import wsgidav_app

PROPS = b"""<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>
<D:getetag/><D:getlastmodified/><D:getcontentlength/><D:resourcetype/><D:lockdiscovery/>
<x:colour xmlns:x="urn:parvis:test"/></D:prop></D:propfind>"""


def call(
    app: Any, method: str, path: str, secret: str, email: str, body: bytes = b"", **headers: str
) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "/dav",
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{email}:{secret}".encode()).decode(),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    answer: list[str] = []
    chunks = app(environ, lambda status, headers, exc_info=None: answer.append(status))
    data = b"".join(chunks)
    return answer[0], data


@pytest.fixture
def elu_secret(world, secrets_registry) -> str:  # type: ignore[no-untyped-def]
    world.council.tools = ["documents"]
    world.council.save()
    _app_password, secret = create_app_password(Actor(None), world.elu, "Tests")
    secrets_registry.add(secret)
    auth.forget()
    return secret


def folder_of(world, name: str, files: int):  # type: ignore[no-untyped-def]
    """A folder of `files` files, each with a dead property, and a locked one among them."""
    maire = Actor(world.maire)
    folder = actions.create_folder(maire, actions.root_folder(world.council), name)
    for n in range(files):
        stored = actions.store_bytes(maire, folder, f"pièce-{n:04d}.txt", f"contenu {n}".encode())
        DavProperty.objects.create(
            path=f"document:{stored.document.pk}",
            name="{urn:parvis:test}colour",
            value=f'<x:colour xmlns:x="urn:parvis:test">bleu {n}</x:colour>',
        )
    return folder


def listing_queries(app: Any, world: Any, secret: str, name: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        status, body = call(
            app, "PROPFIND", f"/saint-aubin/conseil/{name}/", secret, world.elu.email, PROPS, depth="1"
        )
    assert status.startswith("207")
    responses = etree.fromstring(body).findall("{DAV:}response")
    return len(queries), len(responses)


def test_a_listing_costs_the_same_queries_for_ten_files_as_for_two_hundred(world, elu_secret):
    folder_of(world, "Dix", 10)
    folder_of(world, "Deux cents", 200)
    app = wsgidav_app()
    call(app, "PROPFIND", "/", elu_secret, world.elu.email, depth="0")  # the credential is remembered
    ten, listed_ten = listing_queries(app, world, elu_secret, "Dix")
    two_hundred, listed_two_hundred = listing_queries(app, world, elu_secret, "Deux cents")
    assert (listed_ten, listed_two_hundred) == (11, 201)
    assert ten == two_hundred
    assert two_hundred <= 20


def test_the_listing_carries_each_files_dead_property_and_lock(world, elu_secret):
    folder_of(world, "Trois", 3)
    app = wsgidav_app()
    lock = b"""<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
    <D:locktype><D:write/></D:locktype><D:owner>Paul</D:owner></D:lockinfo>"""
    email = world.elu.email
    status, _ = call(app, "LOCK", "/saint-aubin/conseil/Trois/pièce-0001.txt", elu_secret, email, lock)
    assert status.startswith("200")
    status, body = call(app, "PROPFIND", "/saint-aubin/conseil/Trois/", elu_secret, email, PROPS, depth="1")
    tree = etree.fromstring(body)
    colours = [c.text for c in tree.iter("{urn:parvis:test}colour") if c.text]
    assert colours == ["bleu 0", "bleu 1", "bleu 2"]
    locked = [
        r.findtext("{DAV:}href")
        for r in tree.findall("{DAV:}response")
        if r.find(".//{DAV:}activelock") is not None
    ]
    assert locked == ["/dav/saint-aubin/conseil/Trois/pi%C3%A8ce-0001.txt"]


def test_a_small_put_reads_the_locks_once_and_still_sees_a_lock_on_its_folder(world, elu_secret):
    """wsgidav asks for the locks of the file and of each parent: within one request they
    are read once. The lock taken on the folder (depth infinity) must still refuse a PUT that
    does not present its token."""
    folder_of(world, "Petits", 0)
    app = wsgidav_app()
    email = world.elu.email
    call(app, "PROPFIND", "/", elu_secret, email, depth="0")  # the credential is remembered
    with CaptureQueriesContext(connection) as queries, locks.per_request():
        status, _ = call(app, "PUT", "/saint-aubin/conseil/Petits/note.txt", elu_secret, email, b"x" * 4096)
    assert status.startswith("201")
    lock_reads = [q for q in queries.captured_queries if "documents_davlock" in q["sql"]]
    assert len(lock_reads) <= 2
    assert len(queries) <= 45  # 44 when written: a guard against a query per parent coming back

    lock = b"""<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
    <D:locktype><D:write/></D:locktype><D:owner>Poste de la mairie</D:owner></D:lockinfo>"""
    with locks.per_request():
        status, _ = call(app, "LOCK", "/saint-aubin/conseil/Petits/", elu_secret, email, lock,
                         depth="infinity")
        assert status.startswith("200")
        # The same request goes on after its own LOCK: what it read before is not trusted.
        status, _ = call(app, "PUT", "/saint-aubin/conseil/Petits/note.txt", elu_secret, email, b"y")
    assert status.startswith("423")
    with locks.per_request():
        status, _ = call(app, "PUT", "/saint-aubin/conseil/Petits/autre.txt", elu_secret, email, b"z")
    assert status.startswith("423")
