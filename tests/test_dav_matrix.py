"""The DAV matrix: each kind of place under /dav/ × each persona, with the status she gets.

The same table is checked twice: over WebDAV against a real server (PROPFIND, and GET for
files), and on the web pages of the same places in-process — so WebDAV answers exactly what
the web answers (a page that shows is a 207 Multi-Status, the web's redirect to the sign-in
page is WebDAV's 401). The top of the mount has no page of its own on the web.

A second table holds writes that must be refused (and a few that must succeed, on new names).
A write *below* a folder one cannot see answers what a write below a missing folder answers —
409, RFC 4918 §9.7.1 — so that the answer does not tell the two apart; whatever addresses the
hidden thing itself is 404.
"""

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.dav import (
    AGENDA,
    BUDGET,
    CLOSED,
    CLOSED_FILE,
    COUNCIL,
    DELIBERATIONS,
    ORG,
    OTHER_FILE,
    OTHER_SPACE,
    DavWorld,
    dav_world,
    seed,
)

PERSONAS = ("maire", "secretaire", "elu", "agent_rh", "dpo", "externe", "inconnu", "anonyme")

# kind: (DAV path, the web page of the same place: URL name and its arguments)
PLACES = {
    "root": ("/dav/", None),
    "organisation": (f"{ORG}/", ("spaces:my_spaces", "saint-aubin")),
    "space": (f"{COUNCIL}/", ("documents:home", "saint-aubin", "conseil")),
    "folder": (f"{DELIBERATIONS}/", ("documents:folder", "saint-aubin", "conseil", "deliberations")),
    "restricted folder": (f"{CLOSED}/", ("documents:folder", "saint-aubin", "conseil", "closed")),
    "read-only folder": (f"{BUDGET}/", ("documents:folder", "saint-aubin", "conseil", "budget")),
    "file": (AGENDA, ("documents:document", "saint-aubin", "conseil", "agenda")),
    "restricted file": (CLOSED_FILE, ("documents:document", "saint-aubin", "conseil", "closed_file")),
    "space joined on request": (f"{ORG}/ecole/", ("documents:home", "saint-aubin", "ecole")),
    "space requiring 2FA": (f"{ORG}/rh/", ("documents:home", "saint-aubin", "rh")),
    "another commune's space": (f"{OTHER_SPACE}/", ("documents:home", "val-de-brume", "conseil")),
    "another commune's file": (OTHER_FILE, ("documents:document", "val-de-brume", "conseil", "other_file")),
}

# fmt: off
MATRIX = {
    #                            maire secr  elu   rh   dpo   ext   inc   anon
    "root":                      (207, 207, 207, 207, 207, 207, 207, 401),
    "organisation":              (207, 207, 207, 207, 207, 207, 404, 401),
    "space":                     (207, 207, 207, 207, 207, 404, 404, 401),
    "folder":                    (207, 207, 207, 207, 207, 404, 404, 401),
    "restricted folder":         (207, 207, 404, 404, 404, 404, 404, 401),
    "read-only folder":          (207, 207, 207, 404, 404, 404, 404, 401),
    "file":                      (207, 207, 207, 207, 207, 404, 404, 401),
    "restricted file":           (207, 207, 404, 404, 404, 404, 404, 401),
    "space joined on request":   (207, 207, 403, 403, 403, 207, 404, 401),
    "space requiring 2FA":       (404, 403, 404, 403, 404, 404, 404, 401),
    "another commune's space":   (404, 404, 404, 404, 207, 404, 207, 401),
    "another commune's file":    (404, 404, 404, 404, 207, 404, 207, 401),
}
# fmt: on

WEB = {207: 200, 403: 403, 404: 404, 401: 302}


def expected(persona: str) -> dict[str, int]:
    column = PERSONAS.index(persona)
    return {kind: row[column] for kind, row in MATRIX.items()}


@pytest.fixture(scope="module")
def dav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavWorld]:
    with dav_world(tmp_path_factory.mktemp("dav-matrix"), "dav-matrix") as world:
        yield world


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_over_webdav_what_the_matrix_says(dav: DavWorld, persona: str) -> None:
    client = dav.client(persona)
    got = {kind: client.propfind(path).status for kind, (path, _web) in PLACES.items()}
    assert got == expected(persona)


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_downloads_over_webdav_the_files_the_matrix_lets_her_see(
    dav: DavWorld, persona: str
) -> None:
    client = dav.client(persona)
    files = [kind for kind in PLACES if "file" in kind]
    got = {kind: client.get(PLACES[kind][0]).status for kind in files}
    assert got == {
        kind: {207: 200}.get(status, status) for kind, status in expected(persona).items() if kind in files
    }


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_web_answers_each_persona_as_the_same_matrix_says(db: None, persona: str) -> None:
    world, seeded = seed()
    client = Client()
    if persona != "anonyme":
        client.force_login(world.persona(persona))
    got = {}
    for kind, (_path, web) in PLACES.items():
        if web is None:
            continue
        name, *args = web
        url = reverse(name, args=[seeded["ids"].get(a, a) for a in args])
        got[kind] = client.get(url).status_code
    assert got == {kind: WEB[status] for kind, status in expected(persona).items() if PLACES[kind][1]}


# --- Writes ---------------------------------------------------------------------------------------

NEW = "nouveau"  # replaced by a name of the persona's own, so that successes never collide

# (method, path, destination): statuses for maire, secretaire, elu, agent_rh, dpo, externe,
# inconnu; None where the write would succeed on a shared object (tested elsewhere).
# fmt: off
WRITES = {
    ("PUT", f"{DELIBERATIONS}/{NEW}.txt", None):        (201, 201, 201, 403, 403, 409, 409),
    ("MKCOL", f"{DELIBERATIONS}/{NEW}", None):          (201, 201, 201, 403, 403, 409, 409),
    ("PUT", f"{CLOSED}/{NEW}.txt", None):               (201, 201, 409, 409, 409, 409, 409),
    ("MKCOL", f"{CLOSED}/{NEW}", None):                 (201, 201, 409, 409, 409, 409, 409),
    ("PUT", f"{BUDGET}/{NEW}.txt", None):               (201, 201, 403, 409, 409, 409, 409),
    ("MKCOL", f"{OTHER_SPACE}/{NEW}", None):            (409, 409, 409, 409, 403, 409, 201),
    ("PUT", f"{OTHER_SPACE}/{NEW}.txt", None):          (409, 409, 409, 409, 403, 409, 201),
    ("PUT", f"{ORG}/{NEW}.txt", None):                  (403, 403, 403, 403, 403, 403, 409),
    ("DELETE", AGENDA, None):                           (None, None, None, 403, 403, 404, 404),
    ("DELETE", f"{DELIBERATIONS}/", None):              (None, None, None, 403, 403, 404, 404),
    ("DELETE", CLOSED_FILE, None):                      (None, None, 404, 404, 404, 404, 404),
    ("DELETE", OTHER_FILE, None):                       (404, 404, 404, 404, 403, 404, None),
    ("DELETE", f"{COUNCIL}/", None):                    (403, 403, 403, 403, 403, 404, 404),
    ("MOVE", AGENDA, f"{DELIBERATIONS}/déplacé.pdf"):   (None, None, None, 403, 403, 404, 404),
    ("MOVE", AGENDA, f"{CLOSED}/déplacé.pdf"):          (None, None, 409, 409, 409, 404, 404),
    ("MOVE", CLOSED_FILE, f"{DELIBERATIONS}/sorti.txt"): (None, None, 404, 404, 404, 404, 404),
    ("MOVE", AGENDA, f"{OTHER_SPACE}/parti.pdf"):       (409, 409, 409, 409, 403, 404, 404),
    ("MOVE", AGENDA, f"{ORG}/finances/parti.pdf"):      (502, 502, 502, 409, 409, 404, 404),
    ("COPY", AGENDA, f"{ORG}/finances/copie.pdf"):      (502, 502, 502, 409, 409, 404, 404),
    ("COPY", CLOSED_FILE, f"{DELIBERATIONS}/copie.txt"): (None, None, 404, 404, 404, 404, 404),
    ("COPY", AGENDA, f"{BUDGET}/copie.pdf"):            (None, None, 403, 409, 409, 404, 404),
    ("COPY", AGENDA, f"{CLOSED}/copie.pdf"):            (None, None, 409, 409, 409, 404, 404),
    ("PROPPATCH", AGENDA, None):                        (None, None, None, 403, 403, 404, 404),
    ("LOCK", AGENDA, None):                             (None, None, None, 403, 403, 409, 409),
}
# fmt: on

PROPPATCH = b"""<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:parvis:test">
<D:set><D:prop><x:note>modifiee</x:note></D:prop></D:set></D:propertyupdate>"""
LOCK = b"""<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
<D:locktype><D:write/></D:locktype></D:lockinfo>"""


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS[:-1])
def test_each_persona_may_write_over_webdav_only_where_the_web_lets_her(dav: DavWorld, persona: str) -> None:
    client = dav.client(persona)
    column = PERSONAS.index(persona)
    want, got = {}, {}
    for (method, path, destination), statuses in WRITES.items():
        status = statuses[column]
        if status is None:
            continue
        path = path.replace(NEW, f"{NEW}-{persona}")
        case = f"{method} {path}" + (f" → {destination}" if destination else "")
        if method in ("MOVE", "COPY"):
            answer = client.move(path, destination) if method == "MOVE" else client.copy(path, destination)
        elif method == "PUT":
            answer = client.put(path, b"contenu")
        elif method == "PROPPATCH":
            answer = client.request("PROPPATCH", path, PROPPATCH, {"Content-Type": "application/xml"})
        elif method == "LOCK":
            answer = client.request(
                "LOCK", path, LOCK, {"Content-Type": "application/xml", "Timeout": "Second-60"}
            )
        else:
            answer = client.request(method, path)
        want[case], got[case] = status, answer.status
    assert got == want
