"""WebDAV at /dav/ against a real server: who gets in, what a download goes through, what each
write does to the GED, and what survives a restart. The personas' world and its GED are
described in tests/support/dav.py.
"""

import html
import json
import os
import unicodedata
from collections.abc import Iterator

import pytest
from django.utils import translation

from conftest import french
from parvis.documents.actions import human_size
from tests.support.dav import (
    AGENDA,
    AGENDA_BYTES,
    COUNCIL,
    DELIBERATIONS,
    ORG,
    OTHER_SPACE,
    WEB_LOCKED,
    DavClient,
    DavWorld,
    dav_world,
)

pytestmark = pytest.mark.slow

MAX_FILE_BYTES = 4 * 1024 * 1024
LOCK = b"""<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>
<D:locktype><D:write/></D:locktype><D:owner>Paul Durand</D:owner></D:lockinfo>"""


def shown(msgid: str, **params: object) -> str:
    """The French text of a msgid as a WebDAV client receives it (plain text)."""
    return html.unescape(french(msgid, **params))


@pytest.fixture(scope="module")
def dav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavWorld]:
    extra = {"PARVIS_MAX_FILE_BYTES": str(MAX_FILE_BYTES)}
    with dav_world(tmp_path_factory.mktemp("dav"), "dav", extra) as world:
        yield world


def in_instance(dav: DavWorld, code: str) -> object:
    """Run Python in the instance; the last line it prints is read as JSON."""
    return json.loads(dav.inst.python(code).strip().splitlines()[-1])


def new_app_password(dav: DavWorld, email: str, secrets_registry: object) -> str:
    secret = str(
        in_instance(
            dav,
            "import json\nfrom parvis.core.audit import Actor\n"
            "from parvis.core.auth import create_app_password\nfrom parvis.core.models import User\n"
            f"person = User.objects.get(email={email!r})\n"
            "print(json.dumps(create_app_password(Actor(None), person, 'Test')[1]))",
        )
    )
    secrets_registry.add(secret)  # type: ignore[attr-defined]
    return secret


# --- Windows and the mount --------------------------------------------------------------------------


def test_windows_probes_the_server_root_and_gets_dav_headers_not_a_redirect(dav: DavWorld) -> None:
    anonymous = dav.client("anonyme")
    options = anonymous.request("OPTIONS", "/")
    assert options.status == 200
    assert "2" in options.headers["dav"]
    assert options.headers["ms-author-via"] == "DAV"
    assert "location" not in options.headers
    root = anonymous.propfind("/")
    assert root.status == 207
    assert root.hrefs() == ["/"]
    assert root.prop("{DAV:}resourcetype")[0].find("{DAV:}collection") is not None
    assert anonymous.get("/").status == 302  # the web is still the web


def test_the_mount_claims_dav_class_2_and_ms_author_via_to_elu(dav: DavWorld) -> None:
    options = dav.client("elu").request("OPTIONS", f"{COUNCIL}/")
    assert options.status == 200
    assert options.headers["dav"].replace(" ", "") == "1,2"
    assert options.headers["ms-author-via"] == "DAV"
    assert "LOCK" in options.headers["allow"]


# --- Who gets in --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PROPFIND", "GET", "PUT"])
def test_a_client_without_credentials_is_asked_for_basic_in_french(dav: DavWorld, method: str) -> None:
    answer = dav.client("anonyme").request(method, f"{COUNCIL}/")
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == 'Basic realm="Parvis"'
    assert answer.body.decode() == shown(
        "Sign in with your e-mail address and an app password (your profile, “App passwords”)."
    )


def test_elu_with_a_wrong_app_password_is_refused(dav: DavWorld, secrets_registry: object) -> None:
    wrong = "aaaaa-bbbbb-ccccc-ddddd-eeeee"
    secrets_registry.add(wrong)  # type: ignore[attr-defined]
    assert DavClient(dav.url, dav.emails["elu"], wrong).propfind("/dav/").status == 401
    assert DavClient(dav.url, dav.emails["elu"], dav.secrets["maire"]).propfind("/dav/").status == 401


def test_a_revoked_app_password_is_refused_at_once(dav: DavWorld, secrets_registry: object) -> None:
    secret = new_app_password(dav, dav.emails["elu"], secrets_registry)
    laptop = DavClient(dav.url, dav.emails["elu"], secret)
    assert laptop.propfind(f"{COUNCIL}/").status == 207
    assert laptop.propfind(f"{COUNCIL}/").status == 207  # remembered by the server now
    dav.inst.python(
        "from parvis.core.audit import Actor\nfrom parvis.core.auth import revoke_app_password\n"
        "from parvis.core.models import AppPassword\n"
        "revoke_app_password(Actor(None), AppPassword.objects.get(name='Test', user__email="
        f"{dav.emails['elu']!r}))"
    )
    assert laptop.propfind(f"{COUNCIL}/").status == 401
    assert laptop.get(AGENDA).status == 401
    assert dav.client("elu").propfind(f"{COUNCIL}/").status == 207  # her other device still works


def test_a_deactivated_person_is_refused_at_once(dav: DavWorld, secrets_registry: object) -> None:
    email = "stagiaire@saint-aubin.localhost"
    dav.inst.python(
        "from parvis.core.models import Organisation\n"
        "from parvis.core.tests.factories import make_user, member\n"
        f"member(Organisation.objects.get(slug='saint-aubin'), make_user({email!r}))"
    )
    trainee = DavClient(dav.url, email, new_app_password(dav, email, secrets_registry))
    assert trainee.propfind(f"{COUNCIL}/").status == 207
    dav.inst.python(
        f"from parvis.core.models import User\nUser.objects.filter(email={email!r}).update(is_active=False)"
    )
    assert trainee.propfind(f"{COUNCIL}/").status == 401


def test_agent_rh_enters_the_2fa_space_only_once_her_second_factor_is_on(dav: DavWorld) -> None:
    agent = dav.client("agent_rh")
    assert agent.propfind(f"{ORG}/rh/").status == 403
    assert f"{ORG}/rh/" not in agent.propfind(f"{ORG}/", "1").hrefs()
    dav.inst.python(
        "from parvis.core.audit import Actor\nfrom parvis.core.auth import confirm_totp, pending_totp\n"
        f"from parvis.core.models import User\nu = User.objects.get(email={dav.emails['agent_rh']!r})\n"
        "confirm_totp(Actor(u), pending_totp(u))"
    )
    assert agent.propfind(f"{ORG}/rh/").status == 207
    assert f"{ORG}/rh/" in agent.propfind(f"{ORG}/", "1").hrefs()


# --- Downloads ----------------------------------------------------------------------------------


def test_a_download_leaves_through_serve_with_its_etag_and_ranges(dav: DavWorld) -> None:
    elu = dav.client("elu")
    listed = elu.propfind(AGENDA)
    etag = listed.prop("{DAV:}getetag")[0].text
    got = elu.get(AGENDA)
    assert (got.status, got.body) == (200, AGENDA_BYTES)
    assert got.headers["etag"] == etag
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["accept-ranges"] == "bytes"
    part = elu.get(AGENDA, {"Range": "bytes=0-7"})
    assert (part.status, part.body) == (206, AGENDA_BYTES[:8])
    assert part.headers["content-range"] == f"bytes 0-7/{len(AGENDA_BYTES)}"
    head = elu.request("HEAD", AGENDA)
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", str(len(AGENDA_BYTES)))
    assert elu.get(AGENDA, {"If-None-Match": str(etag)}).status == 304


def test_a_folder_opened_in_a_browser_lists_what_it_holds(dav: DavWorld) -> None:
    page = dav.client("elu").get(f"{DELIBERATIONS}/")
    assert page.status == 200
    assert "ordre-du-jour.pdf" in page.body.decode()
    assert page.headers["content-security-policy"] == "default-src 'none'"


# --- Writes -------------------------------------------------------------------------------------


def test_elu_puts_a_file_and_gets_the_same_bytes_back_and_the_journal_names_her(dav: DavWorld) -> None:
    elu = dav.client("elu")
    path = f"{DELIBERATIONS}/Procès-verbal du 12 mars.odt"
    created = elu.put(path, b"premier jet")
    assert created.status == 201
    assert created.headers["etag"]
    assert elu.get(path).body == b"premier jet"
    replaced = elu.put(path, b"version relue")
    assert replaced.status == 204
    assert replaced.headers["etag"] != created.headers["etag"]
    assert elu.get(path).body == b"version relue"
    journal = in_instance(
        dav,
        "import json\nfrom parvis.core.models import AuditEvent\n"
        "from parvis.documents.models import Version\n"
        "print(json.dumps([list(AuditEvent.objects.filter(action='documents.upload', "
        "object_label='Procès-verbal du 12 mars.odt').values_list('actor__email', flat=True)), "
        "Version.objects.filter(document__name='Procès-verbal du 12 mars.odt').count()]))",
    )
    assert journal == [[dav.emails["elu"]] * 2, 2]


def test_the_modification_time_a_client_sends_is_kept(dav: DavWorld) -> None:
    elu = dav.client("elu")
    path = f"{DELIBERATIONS}/photo.jpg"
    put = elu.put(path, b"jpeg", {"X-OC-Mtime": "1700000000"})
    assert put.headers["x-oc-mtime"] == "accepted"
    assert elu.propfind(path).prop("{DAV:}getlastmodified")[0].text == "Tue, 14 Nov 2023 22:13:20 GMT"


def test_a_file_over_the_size_limit_is_refused_in_french_and_nothing_is_kept(dav: DavWorld) -> None:
    elu = dav.client("elu")
    too_big = elu.put(f"{DELIBERATIONS}/trop-gros.bin", b"x" * (MAX_FILE_BYTES + 1))
    assert too_big.status == 413
    with translation.override("fr"):
        limit = human_size(MAX_FILE_BYTES)
    assert too_big.body.decode() == shown("This file is too big: at most %(limit)s per file.", limit=limit)
    assert elu.propfind(f"{DELIBERATIONS}/trop-gros.bin").status == 404
    assert not list((dav.inst.var / "blobs" / "tmp").glob("spool-*"))


def test_inconnu_is_told_in_french_when_her_organisation_is_full(dav: DavWorld) -> None:
    dav.inst.python(
        "from parvis.core.models import Organisation\n"
        "Organisation.objects.filter(slug='val-de-brume').update(storage_quota_bytes=1000)"
    )
    full = dav.client("inconnu").put(f"{OTHER_SPACE}/gros.bin", b"x" * 2000)
    assert full.status == 507
    with translation.override("fr"):
        quota = human_size(1000)
    assert full.body.decode() == shown(
        "The storage space of %(org)s is full (%(quota)s). Empty the trash or ask the administrator.",
        org="Commune de Val-de-Brume",
        quota=quota,
    )


def test_a_document_the_maire_locked_on_the_web_is_423_for_elu_and_still_hers(dav: DavWorld) -> None:
    elu = dav.client("elu")
    locked = elu.put(WEB_LOCKED, b"ma version")
    assert locked.status == 423
    assert locked.body.decode() == shown("“%(name)s” is locked by someone else.", name="verrouillé.txt")
    assert elu.delete(WEB_LOCKED).status == 423
    assert elu.move(WEB_LOCKED, f"{DELIBERATIONS}/ailleurs.txt").status == 423
    assert elu.request("LOCK", WEB_LOCKED, LOCK, {"Content-Type": "application/xml"}).status == 423
    assert dav.client("maire").put(WEB_LOCKED, b"relu par la maire").status == 204


def test_elu_renames_moves_and_copies_inside_the_space(dav: DavWorld) -> None:
    elu = dav.client("elu")
    folder = f"{COUNCIL}/Commission voirie"
    assert elu.mkcol(folder).status == 201
    assert elu.put(f"{folder}/a.txt", b"voirie").status == 201
    assert elu.move(f"{folder}/a.txt", f"{folder}/b.txt").status == 201
    assert elu.get(f"{folder}/a.txt").status == 404
    assert elu.mkcol(f"{folder}/2026").status == 201
    assert elu.move(f"{folder}/b.txt", f"{folder}/2026/b.txt").status == 201
    assert elu.copy(f"{folder}/2026", f"{folder}/2027").status == 201
    assert elu.get(f"{folder}/2027/b.txt").body == b"voirie"
    assert elu.copy(f"{folder}/2026", f"{folder}/vide", overwrite=True).status == 201
    assert elu.put(f"{folder}/c.txt", b"autre").status == 201
    assert elu.move(f"{folder}/c.txt", f"{folder}/2026/b.txt", overwrite=False).status == 412
    assert elu.move(f"{folder}/c.txt", f"{folder}/2026/b.txt").status == 204
    assert elu.get(f"{folder}/2026/b.txt").body == b"autre"
    trashed = in_instance(
        dav,
        "import json\nfrom parvis.documents.models import Document\n"
        "print(json.dumps(list(Document.objects.filter(name='b.txt', deleted_at__isnull=False, "
        "folder__name='2026').values_list('trash_root', flat=True))))",
    )
    assert trashed == [True]  # what was overwritten is in the trash, not lost


def test_delete_puts_a_folder_in_the_trash_with_what_it_holds(dav: DavWorld) -> None:
    elu = dav.client("elu")
    folder = f"{COUNCIL}/Brouillons"
    assert elu.mkcol(folder).status == 201
    assert elu.put(f"{folder}/note.txt", b"brouillon").status == 201
    assert elu.delete(f"{folder}/").status == 204
    assert elu.propfind(f"{folder}/").status == 404
    trash = in_instance(
        dav,
        "import json\nfrom parvis.documents.models import Document, Folder\n"
        "f = Folder.objects.get(name='Brouillons')\n"
        "print(json.dumps([f.trash_root, Document.objects.get(name='note.txt').deletion == f.deletion]))",
    )
    assert trash == [True, True]


def test_dead_properties_stay_with_their_file_when_the_web_renames_it(dav: DavWorld) -> None:
    elu = dav.client("elu")
    path = f"{DELIBERATIONS}/avec-propriété.txt"
    assert elu.put(path, b"texte").status == 201
    patch = b"""<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:parvis:test">
    <D:set><D:prop><x:couleur>vert</x:couleur></D:prop></D:set></D:propertyupdate>"""
    assert elu.request("PROPPATCH", path, patch, {"Content-Type": "application/xml"}).status == 207
    dav.inst.python(
        "from parvis.core.audit import Actor\nfrom parvis.documents import actions\n"
        "from parvis.documents.models import Document\n"
        "actions.rename(Actor(None), Document.objects.get(name='avec-propriété.txt'), 'renommé.txt')"
    )
    wanted = b"""<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:x="urn:parvis:test"><D:prop>
    <x:couleur/><D:getcontentlength/></D:prop></D:propfind>"""
    renamed = elu.propfind(f"{DELIBERATIONS}/renommé.txt", "0", wanted)
    assert [e.text for e in renamed.prop("{urn:parvis:test}couleur")] == ["vert"]
    assert elu.put(path, b"nouveau").status == 201  # a new file under the old name starts bare
    fresh = elu.propfind(path, "0", wanted)
    assert fresh.prop("{urn:parvis:test}couleur") == []
    assert fresh.prop("{DAV:}getcontentlength")[0].text == "7"


def test_propfind_answers_what_a_resource_lacks_in_a_404_propstat(dav: DavWorld) -> None:
    wanted = b"""<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/>
    <D:displayname/><z:inconnue xmlns:z="urn:ailleurs"/></D:prop></D:propfind>"""
    answer = dav.client("elu").propfind(f"{DELIBERATIONS}/", "0", wanted)
    [response] = answer.xml().findall("{DAV:}response")
    statuses = {
        propstat.findtext("{DAV:}status"): sorted(p.tag for p in propstat.find("{DAV:}prop"))
        for propstat in response.findall("{DAV:}propstat")
    }
    assert statuses == {
        "HTTP/1.1 200 OK": ["{DAV:}displayname"],
        "HTTP/1.1 404 Not Found": ["{DAV:}getcontentlength", "{urn:ailleurs}inconnue"],
    }
    names = dav.client("elu").propfind(AGENDA, "0", b'<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>')
    listed = {
        p.tag for p in names.xml().iter() if p.getparent() is not None and p.getparent().tag == "{DAV:}prop"
    }
    assert {"{DAV:}getetag", "{DAV:}getcontentlength", "{DAV:}lockdiscovery"} <= listed


def test_a_mac_asking_with_decomposed_accents_reaches_the_same_folder(dav: DavWorld) -> None:
    decomposed = unicodedata.normalize("NFD", f"{DELIBERATIONS}/")
    assert decomposed != f"{DELIBERATIONS}/"
    answer = dav.client("elu").propfind(decomposed)
    assert answer.status == 207
    assert answer.hrefs() == ["/dav/saint-aubin/conseil/D%C3%A9lib%C3%A9rations/"]


# --- Last: the restart ----------------------------------------------------------------------------


def test_a_lock_survives_a_restart_of_the_server(dav: DavWorld) -> None:
    elu = dav.client("elu")
    path = f"{DELIBERATIONS}/rapport.odt"
    assert elu.put(path, b"rapport").status == 201
    locked = elu.request("LOCK", path, LOCK, {"Content-Type": "application/xml", "Timeout": "Second-3600"})
    assert locked.status == 200
    token = locked.headers["lock-token"].strip("<>")
    dav.inst.stop()
    dav.inst.start_server()
    tokens = [
        e.text
        for e in elu.propfind(path, "0").xml().iter("{DAV:}href")
        if e.text and e.text.startswith("opaque")
    ]
    assert tokens == [token]
    assert dav.client("maire").put(path, b"autre main").status == 423
    assert elu.put(path, b"sans jeton").status == 423
    assert elu.put(path, b"avec jeton", {"If": f"(<{token}>)"}).status == 204
    assert elu.request("UNLOCK", path, headers={"Lock-Token": f"<{token}>"}).status == 204
    assert dav.client("maire").put(path, b"libre").status == 204
    assert os.path.exists(dav.inst.log_path)
