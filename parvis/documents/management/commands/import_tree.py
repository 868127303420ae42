"""`manage.py import_tree PATH --space ORG/SPACE [--rights MAPPING.csv] [--dry-run]`: bring a
directory tree (the old file server of a mairie, a USB disk) into a space's documents.

It is made to be run on large trees and stopped: every file is committed on its own, so a run
that is interrupted (Ctrl-C, a lost SSH session, kill -9) is resumed by running the same command
again; files already there (same name, same content) are skipped, so nothing is imported twice.
Every file is read once, hashed on the way into the store, then read back from the store and
hashed again before the document that points to it is written. Writes go through the GED's
actions, which audit them. Restrictions of the mapping are applied to a folder before any file
enters it, so no file is ever visible to more people than the mapping allows.
"""

import argparse
import csv
import datetime
import hashlib
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.core.audit import Actor
from parvis.core.models import Group, Organisation, OrgMembership, User
from parvis.documents import actions
from parvis.documents.actions import DocumentError, Grant, human_size
from parvis.documents.extract import decode
from parvis.documents.models import Blob, Document, Folder, Level
from parvis.documents.policies import tool_on
from parvis.documents.storage import CHUNK, BlobStore, blob_store
from parvis.spaces.models import Space

# Files that operating systems leave behind and nobody means to share.
JUNK = {".ds_store", "thumbs.db", "desktop.ini", ".directory", "icon\r"}
LEVELS = {
    "read": Level.READ,
    "lecture": Level.READ,
    "r": Level.READ,
    "write": Level.WRITE,
    "ecriture": Level.WRITE,
    "écriture": Level.WRITE,
    "w": Level.WRITE,
}
HEADER_WORDS = {"level", "niveau"}


def help_text() -> str:
    """The command's help, in the site's language, its paragraphs wrapped for a terminal and
    the example of a mapping kept line by line."""
    paragraphs = [
        _("Import a directory tree into the documents of a space, with the files' modification dates."),
        _(
            "Folders are created as needed below the top folder of the space. The import can be "
            "stopped and run again with the same arguments: files already imported (same name, and "
            "the same size and date or the same content) are skipped. Every file is checked by its "
            "SHA-256, read back from the store. Nothing is changed with --dry-run. The report at the "
            "end counts the files imported, their size, the files skipped and the errors; the command "
            "fails (exit status 1) when there were errors."
        ),
        _(
            "Rights mapping (--rights): a CSV file (UTF-8 or Windows-1252, separated by “;” or “,”), "
            "one line per folder and person or group, lines starting with # ignored, an optional "
            "header line:"
        ),
    ]
    example = [
        _("folder;who;level"),
        _("Human resources;Human resources;write"),
        _("Human resources/Payroll;mayor@example.org;read"),
    ]
    items = [
        _("folder: the folder's path inside PATH, with “/” between folder names;"),
        _("who: the name of a group of the organisation, or the e-mail address of one of its members;"),
        _("level: read (or lecture) or write (or écriture)."),
    ]
    closing = _(
        "Each folder listed is restricted to the people and groups of its lines (the space's "
        "facilitators keep their access); folders not listed follow their parent."
    )
    blocks = [textwrap.fill(p, 90) for p in paragraphs]
    blocks.append("\n".join("    " + line for line in example))
    blocks.append(
        "\n".join(textwrap.fill(item, 90, initial_indent="- ", subsequent_indent="  ") for item in items)
    )
    blocks.append(textwrap.fill(closing, 90))
    return "\n\n".join(blocks)


@dataclass
class Report:
    files: int = 0
    bytes: int = 0
    versions: int = 0
    already: int = 0
    skipped: int = 0
    folders: int = 0
    restricted: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    """One file of the tree: its path inside the tree, split into folders and name."""

    path: Path
    folders: tuple[str, ...]
    name: str

    @property
    def relative(self) -> str:
        return "/".join([*self.folders, self.name])


def file_date(st: os.stat_result) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(st.st_mtime, tz=datetime.UTC)


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        return help_text()

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the CSV example's lines
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help=gettext_lazy("The folder to import (its content, not itself)."))
        parser.add_argument(
            "--space", required=True, help=gettext_lazy("Where to import: organisation/space, as in URLs.")
        )
        parser.add_argument("--rights", help=gettext_lazy("CSV file of the folders' restrictions."))
        parser.add_argument(
            "--user", help=gettext_lazy("E-mail of the person recorded as the files' uploader.")
        )
        parser.add_argument("--dry-run", action="store_true", help=gettext_lazy("Show, change nothing."))

    # --- Arguments ------------------------------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["path"]).expanduser()
        if not source.is_dir():
            raise CommandError(_("“%(path)s” is not a folder.") % {"path": source})
        space = self.space(options["space"])
        user = self.user(options["user"], space.organisation) if options["user"] else None
        self.actor = Actor(user)
        self.org = space.organisation
        self.dry_run: bool = options["dry_run"]
        self.verbosity: int = options["verbosity"]
        self.store: BlobStore = blob_store()
        self.report = Report()
        folders, entries = self.walk(source)
        rights = (
            self.rights(Path(options["rights"]), space.organisation, folders) if options["rights"] else {}
        )
        total = sum(e.path.lstat().st_size for e in entries)
        self.say(
            _("To import into “%(space)s”: %(count)d file(s) (%(size)s) in %(folders)d folder(s).")
            % {
                "count": len(entries),
                "size": human_size(total),
                "folders": len(folders),
                "space": space.name,
            }
        )
        if self.dry_run:
            self.say(_("Dry run: nothing will be changed."))
        try:
            self.run(space, folders, entries, rights)
        except KeyboardInterrupt:
            self.print_report(interrupted=True)
            raise CommandError(
                _("Interrupted. Run the same command again to resume: what is already there is skipped."),
                returncode=130,
            )
        self.print_report()
        if self.report.errors:
            raise CommandError(
                _("%(count)d file(s) could not be imported: see the list above.")
                % {"count": len(self.report.errors)}
            )

    def space(self, value: str) -> Space:
        org_slug, _slash, space_slug = value.strip("/").partition("/")
        space = (
            Space.objects.select_related("organisation")
            .filter(organisation__slug=org_slug, slug=space_slug)
            .first()
        )
        if space is None or not org_slug or not space_slug:
            raise CommandError(
                _("No space “%(space)s”: give organisation/space, as in URLs.") % {"space": value}
            )
        if not tool_on(space):
            raise CommandError(
                _("The documents tool is not switched on in “%(space)s”.") % {"space": space.name}
            )
        if space.is_archived:
            raise CommandError(
                _("“%(space)s” is archived: nothing can be added to it.") % {"space": space.name}
            )
        return space

    def user(self, email: str, org: Organisation) -> User:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if (
            user is None
            or not OrgMembership.objects.filter(organisation=org, user=user, is_active=True).exists()
        ):
            raise CommandError(
                _("“%(email)s” is not a member of %(org)s.") % {"email": email, "org": org.name}
            )
        return user

    # --- The tree -------------------------------------------------------------------------------

    def walk(self, source: Path) -> tuple[list[tuple[str, ...]], list[Entry]]:
        """Folders (parents first) and files of the tree, in a stable order, so that progress
        counts the same on every run. Symbolic links and special files are not followed."""
        folders: list[tuple[str, ...]] = []
        entries: list[Entry] = []

        def visit(directory: Path, parts: tuple[str, ...]) -> None:
            try:
                children = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as error:
                self.error("/".join(parts) or ".", error.strerror or str(error))
                return
            for child in children:
                if child.is_dir(follow_symlinks=False):
                    folders.append((*parts, child.name))
                    visit(Path(child.path), (*parts, child.name))
            for child in children:
                if child.is_dir(follow_symlinks=False):
                    continue
                if child.is_symlink() or not child.is_file(follow_symlinks=False):
                    self.report.skipped += 1
                    self.line("/".join([*parts, child.name]), _("skipped: not a regular file"))
                elif child.name.lower() in JUNK or child.name.startswith("~$"):
                    self.report.skipped += 1
                    self.line("/".join([*parts, child.name]), _("skipped: a system or lock file"))
                else:
                    entries.append(Entry(Path(child.path), parts, child.name))

        visit(source, ())
        return folders, entries

    # --- The rights mapping ---------------------------------------------------------------------

    def rights(
        self, mapping: Path, org: Organisation, folders: list[tuple[str, ...]]
    ) -> dict[tuple[str, ...], list[Grant]]:
        """The mapping, checked whole before anything is imported: one mistake and nothing is."""
        try:
            text = decode(mapping.read_bytes())
        except OSError as error:
            raise CommandError(
                _("The rights mapping cannot be read: %(error)s") % {"error": error.strerror or error}
            )
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)]
        useful = [(n, line) for n, line in lines if line.strip() and not line.lstrip().startswith("#")]
        try:
            dialect: Any = csv.Sniffer().sniff(useful[0][1], delimiters=";,\t") if useful else csv.excel
        except csv.Error:
            dialect = csv.excel
        known = set(folders)
        grants: dict[tuple[str, ...], list[Grant]] = {}
        problems = []
        for number, line in useful:
            row = [cell.strip() for cell in next(csv.reader([line], dialect))]
            if len(row) != 3:
                problems.append(_("line %(n)d: three columns expected (folder, who, level).") % {"n": number})
                continue
            where, who, level = row
            if level.lower() in HEADER_WORDS and number == useful[0][0]:
                continue
            parts = tuple(p for p in where.replace("\\", "/").split("/") if p not in ("", "."))
            if not parts:
                problems.append(
                    _("line %(n)d: the top folder follows the space's members; restrict a folder inside it.")
                    % {"n": number}
                )
            elif parts not in known:
                problems.append(
                    _("line %(n)d: there is no folder “%(folder)s” in the tree.")
                    % {"n": number, "folder": where}
                )
            if level.lower() not in LEVELS:
                problems.append(
                    _("line %(n)d: unknown level “%(level)s” (read or write).")
                    % {"n": number, "level": level}
                )
            grant = self.grantee(who, org)
            if grant is None:
                problems.append(
                    _(
                        "line %(n)d: “%(who)s” is neither a group of %(org)s "
                        "nor the e-mail of one of its members."
                    )
                    % {"n": number, "who": who, "org": org.name}
                )
            if parts and grant is not None and level.lower() in LEVELS:
                grants.setdefault(parts, []).append(Grant(grant[0], grant[1], LEVELS[level.lower()]))
        if problems:
            raise CommandError(
                "\n".join([_("The rights mapping has mistakes; nothing was imported."), *problems])
            )
        return grants

    def grantee(self, who: str, org: Organisation) -> tuple[User | None, Group | None] | None:
        if "@" in who:
            user = User.objects.filter(
                email__iexact=who,
                pk__in=OrgMembership.objects.filter(organisation=org, is_active=True).values("user_id"),
            ).first()
            return (user, None) if user else None
        group = Group.objects.filter(organisation=org, name__iexact=who).first()
        return (None, group) if group else None

    # --- Importing ------------------------------------------------------------------------------

    def run(
        self,
        space: Space,
        folders: list[tuple[str, ...]],
        entries: list[Entry],
        rights: dict[tuple[str, ...], list[Grant]],
    ) -> None:
        root = Folder.objects.filter(space=space, parent__isnull=True).first()
        if root is None and not self.dry_run:
            root = actions.root_folder(space)
        # A folder that could not be made has no place (its files and subfolders are errors); in
        # a dry run, a folder still to be created has the place None.
        places: dict[tuple[str, ...], Folder | None] = {(): root}
        for parts in folders:
            if parts[:-1] not in places:
                continue
            try:
                places[parts] = self.folder(places[parts[:-1]], parts, rights.get(parts))
            except DocumentError as error:
                self.error("/".join(parts) + "/", error.message)
        by_folder: dict[tuple[str, ...], list[Entry]] = {}
        for entry in entries:
            by_folder.setdefault(entry.folders, []).append(entry)
        index = 0
        for parts in [(), *folders]:
            for entry in by_folder.get(parts, []):
                index += 1
                prefix = f"[{index}/{len(entries)}]"
                if parts and parts not in places:  # its folder could not be made
                    self.error(entry.relative, _("its folder could not be created"), prefix)
                    continue
                self.file(places[parts], entry, prefix)

    def folder(
        self, parent: Folder | None, parts: tuple[str, ...], grants: list[Grant] | None
    ) -> Folder | None:
        """The folder of `parts`, created if missing, restricted if the mapping says so. None
        when it does not exist yet and this is a dry run."""
        relative = "/".join(parts)
        existing = (
            Folder.objects.filter(parent=parent, name=parts[-1], deleted_at__isnull=True).first()
            if parent is not None
            else None
        )
        if existing is None:
            self.report.folders += 1
            if self.dry_run:
                self.line(relative + "/", _("folder to create"))
                if grants:
                    self.report.restricted += 1
                return None
            assert parent is not None
            existing = actions.create_folder(self.actor, parent, parts[-1])
            self.line(relative + "/", _("folder created"))
        if grants and not self.same_rights(existing, grants):
            self.report.restricted += 1
            if self.dry_run:
                self.line(relative + "/", _("folder to restrict"))
            else:
                actions.set_restriction(self.actor, existing, True, grants)
                self.line(relative + "/", _("folder restricted"))
        return existing

    @staticmethod
    def same_rights(folder: Folder, grants: list[Grant]) -> bool:
        """Already restricted exactly so (a resumed run does not set it, and audit it, again)."""
        have = {(a.user_id, a.group_id, a.level) for a in folder.accesses.all()}
        want = {(g.user.pk if g.user else None, g.group.pk if g.group else None, g.level) for g in grants}
        return folder.restricted and have == want

    def file(self, folder: Folder | None, entry: Entry, prefix: str) -> None:
        try:
            name = actions.clean_name(entry.name)
            st = entry.path.lstat()
            document = (
                Document.objects.filter(folder=folder, name=name, deleted_at__isnull=True)
                .select_related("current")
                .first()
                if folder is not None
                else None
            )
            current = document.current if document else None
            if current and current.size == st.st_size and current.file_modified_at == file_date(st):
                self.already(entry, prefix)
                return
            # In a dry run nothing is stored: what it would have stored counts against the quota.
            actions.check_quota(self.org, st.st_size + (self.report.bytes if self.dry_run else 0))
            if self.dry_run:
                self.dry(entry, st, current, prefix)
                return
            assert folder is not None
            self.bring(folder, name, entry, st, current, prefix)
        except DocumentError as error:
            self.error(entry.relative, error.message, prefix)
        except OSError as error:
            self.error(entry.relative, error.strerror or str(error), prefix)

    def bring(
        self, folder: Folder, name: str, entry: Entry, st: os.stat_result, current: Any, prefix: str
    ) -> None:
        """Copy into the store (hashing), read back and compare, then record the document."""
        spool = self.store.spool()
        try:
            with entry.path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    spool.write(chunk)
            sha = spool.finish()
            after = entry.path.lstat()
            if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                self.error(entry.relative, _("the file changed while it was read; run again"), prefix)
                return
            if current is not None and current.sha256 == sha:
                self.already(entry, prefix)
                return
            self.store.adopt(spool.path, sha)
            if self.read_back(sha) != sha:
                if not Blob.objects.filter(sha256=sha).exists():
                    self.store.delete(sha)  # bad bytes nobody points to
                self.error(entry.relative, _("the copy in the store does not match the file"), prefix)
                return
            # The bytes are in the store already: store_file finds them there.
            try:
                stored = actions.store_file(
                    self.actor,
                    folder,
                    name,
                    spool.path,
                    sha,
                    spool.size,
                    modified_at=file_date(st),
                    imported=True,
                )
            except DocumentError:
                if not Blob.objects.filter(sha256=sha).exists():
                    self.store.delete(sha)  # refused (locked, quota): bytes nobody points to
                raise
        finally:
            spool.discard()
        self.report.bytes += stored.version.size
        if stored.created:
            self.report.files += 1
            self.line(entry.relative, _("imported (%(size)s)") % {"size": human_size(spool.size)}, prefix)
        else:
            self.report.versions += 1
            self.line(
                entry.relative,
                _("imported as version %(number)d (%(size)s)")
                % {"number": stored.version.number, "size": human_size(spool.size)},
                prefix,
            )

    def read_back(self, sha: str) -> str:
        digest = hashlib.sha256()
        with self.store.open(sha) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def dry(self, entry: Entry, st: os.stat_result, current: Any, prefix: str) -> None:
        if current is not None and current.size == st.st_size and self.hash(entry.path) == current.sha256:
            self.already(entry, prefix)
            return
        self.report.bytes += st.st_size
        if current is None:
            self.report.files += 1
            self.line(entry.relative, _("to import (%(size)s)") % {"size": human_size(st.st_size)}, prefix)
        else:
            self.report.versions += 1
            self.line(
                entry.relative,
                _("to import as a new version (%(size)s)") % {"size": human_size(st.st_size)},
                prefix,
            )

    @staticmethod
    def hash(path: Path) -> str:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    # --- Output ---------------------------------------------------------------------------------

    def already(self, entry: Entry, prefix: str) -> None:
        self.report.already += 1
        self.line(entry.relative, _("already imported"), prefix)

    def error(self, relative: str, message: str, prefix: str = "") -> None:
        self.report.errors.append(f"{relative} : {message}")
        self.line(relative, _("error: %(message)s") % {"message": message}, prefix, style=self.style.ERROR)

    def line(self, relative: str, status: str, prefix: str = "", style: Any = None) -> None:
        if self.verbosity >= 1:
            text = f"{prefix} {relative} — {status}".strip()
            self.stdout.write(style(text) if style else text)
            self.stdout.flush()

    def say(self, text: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(text)

    def print_report(self, interrupted: bool = False) -> None:
        r = self.report
        if interrupted:
            title = _("Import interrupted.")
        elif self.dry_run:
            title = _("Dry run finished: nothing was changed.")
        else:
            title = _("Import finished.")
        lines = [
            title,
            _("Files imported: %(count)d (%(size)s)") % {"count": r.files, "size": human_size(r.bytes)},
            _("New versions of files already there: %(count)d") % {"count": r.versions},
            _("Files already imported, skipped: %(count)d") % {"count": r.already},
            _("Other files skipped: %(count)d") % {"count": r.skipped},
            _("Folders created: %(count)d, restricted: %(restricted)d")
            % {"count": r.folders, "restricted": r.restricted},
            _("Errors: %(count)d") % {"count": len(r.errors)},
            *(f"  {error}" for error in r.errors),
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
