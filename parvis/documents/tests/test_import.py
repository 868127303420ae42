"""`manage.py import_tree`: a real directory tree brought into a space, with its dates, its
folder rights from a CSV mapping, a check of every file read back from the store, a report in
French, a dry run that changes nothing, and a run killed half-way (kill -9, in a real process)
then resumed without duplicates."""

import datetime
import hashlib
import html
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from conftest import french
from parvis.core.audit import Actor
from parvis.core.models import AuditEvent, Notification
from parvis.core.tests.factories import World
from parvis.documents import actions
from parvis.documents.management.commands.import_tree import Command
from parvis.documents.models import Blob, Document, Folder, FolderAccess, Level, Subscription, Version
from parvis.documents.policies import documents_policy
from parvis.documents.storage import LocalBlobStore, blob_store
from parvis.spaces.models import Space
from tests.support import files
from tests.support.instance import ROOT, Instance, instance
from tests.support.s3 import s3_server, s3_store  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

COUNCIL = "saint-aubin/conseil"
A_DATE = datetime.datetime(2019, 3, 14, 9, 26, 53, 589000, tzinfo=datetime.UTC)


def said(msgid: str, **params: object) -> str:
    """A message as the command prints it: in French (and in the catalogue)."""
    return html.unescape(french(msgid, **params))


def write(path: Path, data: bytes, when: datetime.datetime = A_DATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The old file server of the mairie."""
    root = tmp_path / "serveur"
    write(root / "Lisez-moi.txt", b"Serveur de fichiers de la mairie.")
    write(root / "Séances" / "2026" / "Ordre du jour.pdf", files.pdf("Ordre du jour du 12 mars"))
    write(root / "Séances" / "2026" / "Procès-verbal.docx", files.docx("Procès-verbal de la séance"))
    write(root / "Séances" / "2025" / "Procès-verbal.odt", files.odt("Séance de décembre"))
    write(root / "Ressources humaines" / "Paie" / "bulletins.csv", b"nom;montant\n")
    write(root / "Ressources humaines" / "organigramme.png", files.png())
    (root / "Vide").mkdir()
    write(root / "Séances" / ".DS_Store", b"\0\0\0\1Bud1")
    write(root / "Séances" / "~$Procès-verbal.docx", b"lock")
    (root / "raccourci.txt").symlink_to(root / "Lisez-moi.txt")
    return root


def run(*args: str, **options: Any) -> str:
    out = io.StringIO()
    with translation.override("fr"):
        call_command("import_tree", *args, stdout=out, **options)
    return out.getvalue()


def documents_of(space: Space) -> dict[str, Document]:
    """Every live document of the space by its path below the top folder."""
    found = {}
    for doc in Document.objects.filter(space=space, deleted_at__isnull=True).select_related(
        "folder", "current"
    ):
        names = [f.name for f in Folder.objects.filter(pk__in=doc.folder.ancestor_ids()).order_by("path")][1:]
        found["/".join([*names, doc.name])] = doc
    return found


def stored_bytes(doc: Document) -> bytes:
    with blob_store().open(doc.current.sha256) as f:
        return f.read()


def snapshot() -> dict[str, Any]:
    """Everything an import could change."""
    store = blob_store()
    kept = (
        sorted(str(p) for p in store.root.rglob("*") if p.is_file())
        if isinstance(store, LocalBlobStore)
        else []
    )
    return {
        "rows": [m.objects.count() for m in (Folder, FolderAccess, Document, Version, Blob, AuditEvent)],
        "files": kept,
    }


# --- Importing ----------------------------------------------------------------------------------


def test_the_tree_comes_in_with_its_folders_contents_and_dates(tree: Path, ged: World) -> None:
    output = run(str(tree), space=COUNCIL)
    docs = documents_of(ged.council)
    assert sorted(docs) == [
        "Lisez-moi.txt",
        "Ressources humaines/Paie/bulletins.csv",
        "Ressources humaines/organigramme.png",
        "Séances/2025/Procès-verbal.odt",
        "Séances/2026/Ordre du jour.pdf",
        "Séances/2026/Procès-verbal.docx",
    ]
    for path, doc in docs.items():
        source = (tree / path).read_bytes()
        assert stored_bytes(doc) == source
        assert doc.current.sha256 == hashlib.sha256(source).hexdigest()
        assert doc.current.file_modified_at == A_DATE
        assert doc.modified_at == A_DATE  # the list shows the file's own date, not the import's
        assert doc.current.uploaded_by is None
    assert Folder.objects.filter(space=ged.council, name="Vide", deleted_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="documents.upload").count() == 6

    total = actions.human_size(sum(d.current.size for d in docs.values()))
    announce = "To import into “%(space)s”: %(count)d file(s) (%(size)s) in %(folders)d folder(s)."
    assert said(announce, space="Conseil municipal", count=6, size=total, folders=6) in output
    assert "[1/6] Lisez-moi.txt — importé (" in output
    assert "[6/6] Séances/2026/Procès-verbal.docx — importé (" in output
    assert "Séances/.DS_Store — " + said("skipped: a system or lock file") in output
    assert "raccourci.txt — " + said("skipped: not a regular file") in output
    assert said("Import finished.") in output
    assert said("Files imported: %(count)d (%(size)s)", count=6, size=total) in output
    assert said("Other files skipped: %(count)d", count=3) in output
    assert said("Errors: %(count)d", count=0) in output


def test_an_import_records_its_uploader_and_does_not_flood_subscribers(tree: Path, ged: World) -> None:
    Subscription.objects.create(user=ged.elu, folder=actions.root_folder(ged.council))
    run(str(tree), space=COUNCIL, user="secretaire@saint-aubin.localhost")
    assert {d.current.uploaded_by for d in documents_of(ged.council).values()} == {ged.secretaire}
    assert not Notification.objects.filter(recipient=ged.elu).exists()
    with pytest.raises(CommandError) as refused:
        run(str(tree), space=COUNCIL, user="secretaire@val-de-brume.localhost")
    assert str(refused.value) == said(
        "“%(email)s” is not a member of %(org)s.",
        email="secretaire@val-de-brume.localhost",
        org="Commune de Saint-Aubin",
    )


def test_a_second_run_skips_what_is_there_and_takes_a_changed_file_as_a_new_version(
    tree: Path, ged: World
) -> None:
    run(str(tree), space=COUNCIL)
    before = snapshot()
    again = run(str(tree), space=COUNCIL)
    assert snapshot() == before  # nothing at all changed
    assert said("Files already imported, skipped: %(count)d", count=6) in again
    assert "[2/6] Ressources humaines/organigramme.png — déjà importé" in again

    # Same size and date, but touched: read, found identical, skipped.
    os.utime(tree / "Lisez-moi.txt")
    # Changed content: a new version of the same document.
    changed = write(
        tree / "Séances" / "2026" / "Ordre du jour.pdf", files.pdf("Ordre du jour modifié"), A_DATE
    )
    third = run(str(tree), space=COUNCIL)
    assert said("New versions of files already there: %(count)d", count=1) in third
    assert said("Files already imported, skipped: %(count)d", count=5) in third
    docs = documents_of(ged.council)
    assert len(docs) == 6
    agenda = docs["Séances/2026/Ordre du jour.pdf"]
    assert agenda.current.number == 2
    assert stored_bytes(agenda) == changed.read_bytes()
    assert Version.objects.count() == 7


def test_an_import_goes_to_s3_and_is_checked_there(
    s3_store: Any,  # noqa: F811
    tree: Path,
    ged: World,
) -> None:
    run(str(tree), space=COUNCIL)
    docs = documents_of(ged.council)
    assert len(docs) == 6
    for path, doc in docs.items():
        assert stored_bytes(doc) == (tree / path).read_bytes()
    listing = s3_store.client.list_objects_v2(Bucket=s3_store.bucket, Prefix="blobs/")
    assert listing["KeyCount"] == 6


def test_a_file_whose_stored_copy_does_not_match_is_refused(tree: Path, ged: World) -> None:
    """The check reads the bytes back from the store: here the store already holds a damaged
    copy under the file's hash (a disk fault), which the import must not point a document to."""
    data = (tree / "Lisez-moi.txt").read_bytes()
    store = blob_store()
    assert isinstance(store, LocalBlobStore)
    damaged = store.path(hashlib.sha256(data).hexdigest())
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(data[:-1] + b"?")
    with pytest.raises(CommandError) as raised:
        run(str(tree), space=COUNCIL)
    assert str(raised.value) == said("%(count)d file(s) could not be imported: see the list above.", count=1)
    assert raised.value.returncode == 1
    assert "Lisez-moi.txt" not in documents_of(ged.council)
    assert len(documents_of(ged.council)) == 5


def test_files_that_cannot_be_imported_are_listed_and_the_others_come_in(tmp_path: Path, ged: World) -> None:
    tree = tmp_path / "arbre"
    write(tree / "bon.txt", b"ok")
    write(tree / "mauvais\\nom.txt", b"backslash")
    actions.store_bytes(Actor(ged.maire), actions.root_folder(ged.council), "Archives", b"x")
    write(tree / "Archives" / "vieux.txt", b"old")  # a document already has the folder's name
    out = io.StringIO()
    with pytest.raises(CommandError), translation.override("fr"):
        call_command("import_tree", str(tree), space=COUNCIL, stdout=out)
    output = out.getvalue()
    assert sorted(documents_of(ged.council)) == ["Archives", "bon.txt"]
    assert said("Errors: %(count)d", count=3) in output
    assert said("A name cannot hold a slash, a backslash or a control character.") in output
    assert "Archives/vieux.txt — " + said(
        "error: %(message)s", message=said("its folder could not be created")
    ) in (output)


def test_the_command_refuses_a_wrong_place_in_french(tree: Path, ged: World) -> None:
    Space.objects.filter(pk=ged.commission.pk).update(tools=[])
    no_space = "No space “%(space)s”: give organisation/space, as in URLs."
    tool_off = "The documents tool is not switched on in “%(space)s”."
    cases = [
        (tree, "saint-aubin/inconnu", no_space, {"space": "saint-aubin/inconnu"}),
        (tree, "saint-aubin", no_space, {"space": "saint-aubin"}),
        (tree, "saint-aubin/finances", tool_off, {"space": "Commission Finances"}),
        (tree / "absent", COUNCIL, "“%(path)s” is not a folder.", {"path": tree / "absent"}),
    ]
    for path, where, msgid, params in cases:
        with pytest.raises(CommandError) as raised:
            run(str(path), space=where)
        assert str(raised.value) == said(msgid, **params)
    assert not Document.objects.exists()


def test_the_help_explains_the_mapping_format_in_french() -> None:
    with translation.override("fr"):
        text = Command().create_parser("manage.py", "import_tree").format_help()
    assert said("folder;who;level") in text  # dossier;qui;niveau
    assert said("level: read (or lecture) or write (or écriture).") in text
    assert "--dry-run" in text
    assert "--rights" in text


# --- Rights -------------------------------------------------------------------------------------


def mapping(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "droits.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_the_mapping_restricts_folders_before_their_files_arrive(
    tree: Path, ged: World, tmp_path: Path
) -> None:
    rights = mapping(
        tmp_path,
        "dossier;qui;niveau\n"
        "# Les dossiers du personnel\n"
        "Ressources humaines;Ressources humaines;écriture\n"
        "Ressources humaines;maire@saint-aubin.localhost;lecture\n"
        "Ressources humaines/Paie;ressources HUMAINES;read\n",
        "cp1252",
    )
    output = run(str(tree), space=COUNCIL, rights=rights)
    hr = Folder.objects.get(space=ged.council, name="Ressources humaines")
    pay = Folder.objects.get(space=ged.council, name="Paie")
    assert hr.restricted
    assert pay.restricted
    assert {(a.user, a.group, a.level) for a in hr.accesses.all()} == {
        (None, ged.rh_group, Level.WRITE),
        (ged.maire, None, Level.READ),
    }
    assert {(a.user, a.group, a.level) for a in pay.accesses.all()} == {(None, ged.rh_group, Level.READ)}
    assert not Folder.objects.get(space=ged.council, name="Séances").restricted
    assert said("Folders created: %(count)d, restricted: %(restricted)d", count=6, restricted=2) in output

    # Who sees what: the elu no longer sees the HR files; the HR agent does.
    def visible(persona: str) -> set[str]:
        return set(documents_policy.visible(ged.persona(persona)).values_list("name", flat=True))

    assert {"bulletins.csv", "organigramme.png"} & visible("elu") == set()
    assert {"bulletins.csv", "organigramme.png"} <= visible("agent_rh")
    # The restriction was set before any file went in.
    events = list(AuditEvent.objects.order_by("pk").values_list("action", "object_id"))
    first_upload_inside = min(
        i
        for i, (action, oid) in enumerate(events)
        if action == "documents.upload" and Document.objects.get(pk=oid).folder_id in (hr.pk, pay.pk)
    )
    rights_set = [i for i, (action, oid) in enumerate(events) if action == "documents.folder_rights"]
    assert len(rights_set) == 2
    assert max(rights_set) < first_upload_inside

    # A resumed run does not set (and audit) the same rights again.
    run(str(tree), space=COUNCIL, rights=rights)
    assert AuditEvent.objects.filter(action="documents.folder_rights").count() == 2


def test_a_mapping_with_mistakes_imports_nothing_and_lists_them_all(
    tree: Path, ged: World, tmp_path: Path
) -> None:
    rights = mapping(
        tmp_path,
        "Séances,Direction,read\n"  # fine: the separator is sniffed from the first line
        "Absent,Direction,read\n"
        "Séances,Comptabilité,read\n"
        "Séances,secretaire@val-de-brume.localhost,read\n"
        "Séances,Direction,admin\n"
        ".,Direction,read\n"
        "Séances,Direction\n",
    )
    before = snapshot()
    with pytest.raises(CommandError) as raised:
        run(str(tree), space=COUNCIL, rights=rights)
    message = str(raised.value)
    assert snapshot() == before
    assert said("The rights mapping has mistakes; nothing was imported.") in message
    org = "Commune de Saint-Aubin"
    nobody = "line %(n)d: “%(who)s” is neither a group of %(org)s nor the e-mail of one of its members."
    expected = [
        said("line %(n)d: there is no folder “%(folder)s” in the tree.", n=2, folder="Absent"),
        said(nobody, n=3, who="Comptabilité", org=org),
        said(nobody, n=4, who="secretaire@val-de-brume.localhost", org=org),
        said("line %(n)d: unknown level “%(level)s” (read or write).", n=5, level="admin"),
        said("line %(n)d: the top folder follows the space's members; restrict a folder inside it.", n=6),
        said("line %(n)d: three columns expected (folder, who, level).", n=7),
    ]
    assert message.splitlines()[1:] == expected


# --- Dry run ------------------------------------------------------------------------------------


def test_a_dry_run_changes_nothing_and_says_what_would_happen(tree: Path, ged: World, tmp_path: Path) -> None:
    rights = mapping(tmp_path, "Ressources humaines;Ressources humaines;write\n")
    before = snapshot()
    output = run(str(tree), space=COUNCIL, rights=rights, dry_run=True)
    assert snapshot() == before
    assert not Folder.objects.filter(space=ged.council).exists()  # not even the top folder
    assert said("Dry run: nothing will be changed.") in output
    assert "Séances/2026/ — " + said("folder to create") in output
    assert "[3/6] Ressources humaines/Paie/bulletins.csv — à importer (" in output
    assert said("Dry run finished: nothing was changed.") in output
    assert said("Folders created: %(count)d, restricted: %(restricted)d", count=6, restricted=1) in output

    run(str(tree), space=COUNCIL)
    write(tree / "Lisez-moi.txt", b"nouveau contenu")
    before = snapshot()
    second = run(str(tree), space=COUNCIL, dry_run=True)
    assert snapshot() == before
    assert said("Files already imported, skipped: %(count)d", count=5) in second
    assert (
        "Lisez-moi.txt — " + said("to import as a new version (%(size)s)", size=actions.human_size(15))
        in second
    )


def test_a_dry_run_counts_what_it_would_store_against_the_quota(tree: Path, ged: World) -> None:
    ged.org.storage_quota_bytes = 1000
    ged.org.save(update_fields=["storage_quota_bytes"])
    before = snapshot()
    with pytest.raises(CommandError):
        run(str(tree), space=COUNCIL, dry_run=True)
    assert snapshot() == before


# --- Stopped and resumed, in a real process -----------------------------------------------------

SEED = """
from django.test import override_settings
from parvis.core.tests.factories import build_world
from parvis.spaces.models import Space
with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
    build_world()
Space.objects.update(tools=["documents"])
"""

STATE = """
import hashlib, json
from parvis.documents.models import Document, Version
from parvis.documents.storage import blob_store
docs = []
for d in Document.objects.filter(deleted_at__isnull=True).select_related("current", "folder"):
    with blob_store().open(d.current.sha256) as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    docs.append({"folder": d.folder.name, "name": d.name, "sha": d.current.sha256, "actual": actual})
print(json.dumps({"docs": docs, "versions": Version.objects.count()}))
"""


def big_tree(root: Path, count: int) -> dict[str, str]:
    """`count` files in a few folders; their SHA-256 by "folder/name"."""
    expected = {}
    for n in range(count):
        data = os.urandom(2048 + n) + f"fichier {n}".encode()
        path = write(root / f"Dossier {n % 7}" / f"pièce {n:03d}.bin", data)
        expected[f"{path.parent.name}/{path.name}"] = hashlib.sha256(data).hexdigest()
    return expected


def start_import(inst: Instance, tree: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_tree", str(tree), "--space", COUNCIL],
        cwd=ROOT,
        env=inst.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_progress(process: subprocess.Popen[str], at_least: int) -> list[str]:
    """Read the progress lines until `at_least` files are done."""
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(f"[{at_least}/"):
            return lines
    raise AssertionError(f"the import did not reach {at_least} files:\n{''.join(lines)}")


def assert_complete(inst: Instance, expected: dict[str, str]) -> None:
    state = json.loads(inst.python(STATE).strip().splitlines()[-1])
    found = {f"{d['folder']}/{d['name']}": d["sha"] for d in state["docs"]}
    assert found == expected  # every file, once
    assert all(d["sha"] == d["actual"] for d in state["docs"])  # and its bytes are those
    assert state["versions"] == len(expected)  # no file imported twice as a new version


@pytest.mark.slow
def test_an_import_killed_half_way_then_stopped_by_ctrl_c_is_resumed_without_duplicates(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "serveur"
    expected = big_tree(tree, 150)
    with instance(tmp_path / "instance", "import-resume") as inst:
        inst.python(SEED)

        first = start_import(inst, tree)
        wait_for_progress(first, 30)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL

        second = start_import(inst, tree)
        lines = wait_for_progress(second, 80)
        assert sum("déjà importé" in line for line in lines) >= 29  # the first run's files
        second.send_signal(signal.SIGINT)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 130
        assert said("Import interrupted.") in out
        assert (
            said("Interrupted. Run the same command again to resume: what is already there is skipped.")
            in err
        )

        third = start_import(inst, tree)
        out, err = third.communicate(timeout=300)
        assert third.returncode == 0, err
        assert said("Import finished.") in out
        assert said("Errors: %(count)d", count=0) in out
        assert_complete(inst, expected)
