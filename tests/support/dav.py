"""A real Parvis serving /dav/, seeded with the personas and a small GED, and a plain HTTP
client to talk WebDAV to it (any method, Basic credentials, raw answers).

The seed, in the council's space ("conseil", open to the whole organisation):

    Délibérations/ordre-du-jour.pdf     everyone who reads the space
    Délibérations/verrouillé.txt        locked on the web by the maire
    Huis clos/compte-rendu.txt          restricted: the Direction group (maire, secretaire), write
    Budget/prévisions.txt               restricted: elu, read only

and in Val-de-Brume's council, `budget-val-de-brume.txt` (inconnu manages that space, the DPO
reads it). Every persona has an app password; documents are switched on in every space.
"""

import base64
import http.client
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import pytest
from lxml import etree

from tests.support.instance import Instance, instance

if TYPE_CHECKING:
    from parvis.core.tests.factories import World

ORG = "/dav/saint-aubin"
COUNCIL = f"{ORG}/conseil"
DELIBERATIONS = f"{COUNCIL}/Délibérations"
AGENDA = f"{DELIBERATIONS}/ordre-du-jour.pdf"
WEB_LOCKED = f"{DELIBERATIONS}/verrouillé.txt"
CLOSED = f"{COUNCIL}/Huis clos"
CLOSED_FILE = f"{CLOSED}/compte-rendu.txt"
BUDGET = f"{COUNCIL}/Budget"
OTHER_SPACE = "/dav/val-de-brume/conseil"
OTHER_FILE = f"{OTHER_SPACE}/budget-val-de-brume.txt"
AGENDA_BYTES = b"%PDF-1.4 ordre du jour du conseil municipal\n"


def seed() -> tuple["World", dict[str, Any]]:
    """The personas' world and the small GED above, written through the actions; returns the
    world, and the personas' addresses with the ids of what it made (the web's URLs need them)."""
    from django.test import override_settings

    from parvis.core.audit import Actor
    from parvis.core.tests.factories import build_world
    from parvis.documents import actions
    from parvis.documents.actions import Grant
    from parvis.spaces.models import Space

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        w = build_world()
    Space.objects.update(tools=["documents"])
    maire = Actor(w.maire)
    top = actions.root_folder(w.council)
    deliberations = actions.create_folder(maire, top, "Délibérations")
    agenda = actions.store_bytes(maire, deliberations, "ordre-du-jour.pdf", AGENDA_BYTES).document
    locked = actions.store_bytes(maire, deliberations, "verrouillé.txt", b"en cours de relecture").document
    actions.set_lock(maire, locked, True)
    closed = actions.create_folder(maire, top, "Huis clos")
    actions.set_restriction(maire, closed, True, [Grant(None, w.direction, "write")])
    closed_file = actions.store_bytes(
        maire, closed, "compte-rendu.txt", "séance à huis clos".encode()
    ).document
    budget = actions.create_folder(maire, top, "Budget")
    actions.set_restriction(maire, budget, True, [Grant(w.elu, None, "read")])
    actions.store_bytes(maire, budget, "prévisions.txt", "prévisions 2027".encode())
    other = actions.store_bytes(
        Actor(w.inconnu), actions.root_folder(w.other_space), "budget-val-de-brume.txt", b"Val-de-Brume"
    ).document
    return w, {
        "emails": {name: w.persona(name).email for name in w.PERSONAS},
        "ids": {
            "deliberations": deliberations.pk,
            "agenda": agenda.pk,
            "closed": closed.pk,
            "closed_file": closed_file.pk,
            "budget": budget.pk,
            "other_file": other.pk,
        },
    }


SEED = """
import json
from parvis.core.audit import Actor
from parvis.core.auth import create_app_password
from parvis.core.models import User
from tests.support.dav import seed

_world, seeded = seed()
seeded["secrets"] = {
    name: create_app_password(Actor(None), User.objects.get(email=email), "Client WebDAV")[1]
    for name, email in seeded["emails"].items()
}
print(json.dumps(seeded))
"""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def xml(self) -> etree._Element:
        return etree.fromstring(self.body)

    def hrefs(self) -> list[str]:
        return [h.text or "" for h in self.xml().iter("{DAV:}href") if h.getparent().tag == "{DAV:}response"]

    def prop(self, name: str, href_end: str = "") -> list[etree._Element]:
        """The 200-status values of property `name` (Clark notation) in responses whose href
        ends with `href_end`."""
        found = []
        for response in self.xml().iter("{DAV:}response"):
            if not (response.findtext("{DAV:}href") or "").endswith(href_end):
                continue
            for propstat in response.iter("{DAV:}propstat"):
                if "200" in (propstat.findtext("{DAV:}status") or ""):
                    found += propstat.find("{DAV:}prop").findall(name)
        return found


@dataclass
class DavClient:
    """One person's WebDAV client (or an anonymous one)."""

    base_url: str
    email: str | None = None
    secret: str | None = None

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        url = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
        sent = dict(headers or {})
        if self.email is not None:
            token = base64.b64encode(f"{self.email}:{self.secret}".encode()).decode()
            sent["Authorization"] = f"Basic {token}"
        try:
            connection.request(method, quote(path, safe="/%"), body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def propfind(self, path: str, depth: str = "0", body: bytes = b"") -> Answer:
        headers = {"Depth": depth}
        if body:
            headers["Content-Type"] = "application/xml"
        return self.request("PROPFIND", path, body, headers)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def put(self, path: str, data: bytes, headers: dict[str, str] | None = None) -> Answer:
        return self.request("PUT", path, data, headers)

    def mkcol(self, path: str) -> Answer:
        return self.request("MKCOL", path)

    def delete(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("DELETE", path, headers=headers)

    def move(self, path: str, destination: str, overwrite: bool = True) -> Answer:
        return self._transfer("MOVE", path, destination, overwrite)

    def copy(self, path: str, destination: str, overwrite: bool = True) -> Answer:
        return self._transfer("COPY", path, destination, overwrite)

    def _transfer(self, method: str, path: str, destination: str, overwrite: bool) -> Answer:
        headers = {
            "Destination": self.base_url + quote(destination, safe="/"),
            "Overwrite": "T" if overwrite else "F",
        }
        return self.request(method, path, headers=headers)


@dataclass
class DavWorld:
    """The running instance, the personas' addresses and app passwords."""

    inst: Instance
    emails: dict[str, str]
    secrets: dict[str, str] = field(repr=False)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.inst.url

    def client(self, persona: str) -> DavClient:
        """`client("anonyme")` sends no credentials."""
        if persona == "anonyme":
            return DavClient(self.url)
        return DavClient(self.url, self.emails[persona], self.secrets[persona])


@contextmanager
def dav_world(root: Path, name: str, extra_env: dict[str, str] | None = None) -> Iterator[DavWorld]:
    """A migrated, seeded instance serving HTTP; its app passwords are registered as secrets
    (the suite greps every log for them)."""
    from conftest import Secrets

    with instance(root, name, extra_env) as inst:
        seeded = json.loads(inst.python(SEED).strip().splitlines()[-1])
        Secrets().add(*seeded["secrets"].values())
        inst.start_server()
        yield DavWorld(inst, seeded["emails"], seeded["secrets"], seeded["ids"])


def missing_tool(message: str) -> None:
    """litmus and rclone are Debian packages (make system-test-deps): a skip on a developer's
    machine, a failure in CI, where nothing may be skipped for lack of a tool."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
