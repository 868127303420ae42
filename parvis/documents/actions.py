"""Every write in the GED, as a named action: atomic, audited, notifications after commit.

The web pages, WebDAV, the chunked-upload endpoints and `import_tree` all call these. A refusal
raises `DocumentError` with a French message (and the HTTP status WebDAV answers with); nothing
has changed when it is raised.
"""

import datetime
import fcntl
import hashlib
import mimetypes
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Sum, Value
from django.db.models.functions import Concat, Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.core import faults
from parvis.core.audit import Actor, audit
from parvis.core.models import Group, Organisation, User, digest
from parvis.core.notify import notify
from parvis.spaces.actions import touch
from parvis.spaces.models import Space

from . import usage as storage_usage
from .models import (
    Blob,
    Document,
    Favourite,
    Folder,
    FolderAccess,
    Level,
    ShareLink,
    Subscription,
    Upload,
    Version,
    Visit,
)
from .storage import SpoolFile, blob_store

NAME_MAX = 255
FORBIDDEN = re.compile(r"[\x00-\x1f\x7f/\\]")
SHARE_LINK_BYTES = 24


class DocumentError(Exception):
    """A refusal the person is told of, in French. `status` is what WebDAV answers."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- Names and places ---------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """A file or folder name every operating system accepts."""
    name = (name or "").strip()
    if not name or name in (".", ".."):
        raise DocumentError(_("Give a name."), 400)
    if len(name) > NAME_MAX:
        raise DocumentError(_("A name has at most 255 characters."), 400)
    if FORBIDDEN.search(name):
        raise DocumentError(_("A name cannot hold a slash, a backslash or a control character."), 400)
    return name


def name_taken(folder: Folder, name: str, *, ignore: Folder | Document | None = None) -> bool:
    folders = Folder.objects.filter(parent=folder, name=name, deleted_at__isnull=True)
    docs = Document.objects.filter(folder=folder, name=name, deleted_at__isnull=True)
    if isinstance(ignore, Folder):
        folders = folders.exclude(pk=ignore.pk)
    if isinstance(ignore, Document):
        docs = docs.exclude(pk=ignore.pk)
    return folders.exists() or docs.exists()


def _require_free(folder: Folder, name: str, ignore: Folder | Document | None = None) -> None:
    if name_taken(folder, name, ignore=ignore):
        raise DocumentError(
            _("“%(name)s” already exists in “%(folder)s”.") % {"name": name, "folder": display_name(folder)}
        )


def display_name(folder: Folder) -> str:
    return _("Documents") if folder.is_root else folder.name


def free_name(folder: Folder, name: str) -> str:
    """`name`, or `name (2)`, `name (3)`… if it is taken in `folder`."""
    if not name_taken(folder, name):
        return name
    stem, dot, ext = name.rpartition(".") if "." in name.strip(".") else (name, "", "")
    for n in range(2, 1000):
        candidate = f"{stem} ({n}){dot}{ext}"
        if not name_taken(folder, candidate):
            return candidate
    return f"{stem} ({uuid.uuid4().hex[:6]}){dot}{ext}"


def root_folder(space: Space) -> Folder:
    """The top of a space's documents, created the first time it is needed."""
    root = Folder.objects.filter(space=space, parent__isnull=True).first()
    if root is not None:
        return root
    try:
        with transaction.atomic():
            root = Folder.objects.create(space=space, name=space.name[:NAME_MAX])
            root.path = f"/{root.pk}/"
            root.save(update_fields=["path"])
    except IntegrityError:
        root = Folder.objects.get(space=space, parent__isnull=True)
    return root


def _new_folder(parent: Folder, name: str, user: User | None) -> Folder:
    folder = Folder.objects.create(space=parent.space, parent=parent, name=name, created_by=user)
    folder.path = f"{parent.path}{folder.pk}/"
    folder.save(update_fields=["path"])
    return folder


def _org(space: Space) -> Organisation:
    return space.organisation


def document_url(document: Document) -> str:
    space = document.space
    return reverse("documents:document", args=[space.organisation.slug, space.slug, document.pk])


def folder_url(folder: Folder) -> str:
    space = folder.space
    return reverse("documents:folder", args=[space.organisation.slug, space.slug, folder.pk])


# --- Folders ------------------------------------------------------------------------------------


def _rehome(folder: Folder, parent: Folder) -> None:
    """Rewrite the materialized paths of `folder` and everything below it for its new parent:
    one UPDATE, whatever the size of the subtree."""
    old_path, new_path = folder.path, f"{parent.path}{folder.pk}/"
    Folder.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
    )


def _version_like(source: Version, document: Document, number: int, user: User | None) -> Version:
    """A new version of `document` with the same bytes (and text, and scan verdict) as
    `source`: copies and restores share the stored content."""
    return Version.objects.create(
        document=document,
        number=number,
        blob_id=source.blob_id,
        size=source.size,
        mime_type=source.mime_type,
        file_modified_at=source.file_modified_at,
        uploaded_by=user,
        status=source.status,
        text=source.text,
        extracted=source.extracted,
    )


@transaction.atomic
def create_folder(actor: Actor, parent: Folder, name: str) -> Folder:
    """A new folder follows its parent's rights."""
    name = clean_name(name)
    _require_free(parent, name)
    folder = _new_folder(parent, name, actor.user)
    audit(actor, "documents.folder_create", folder, organisation=_org(parent.space))
    touch(parent.space)
    return folder


def ensure_path(actor: Actor, base: Folder, parts: Iterable[str]) -> Folder:
    """The folder at `base/part1/part2…`, created where missing (folder uploads, imports)."""
    folder = base
    for part in parts:
        part = clean_name(part)
        existing = Folder.objects.filter(parent=folder, name=part, deleted_at__isnull=True).first()
        folder = existing or create_folder(actor, folder, part)
    return folder


@transaction.atomic
def rename(actor: Actor, item: Folder | Document, name: str) -> None:
    name = clean_name(name)
    if isinstance(item, Folder) and item.is_root:
        raise DocumentError(_("The top folder of a space cannot be renamed."), 403)
    parent = item.parent if isinstance(item, Folder) else item.folder
    assert parent is not None
    if name == item.name:
        return
    _require_free(parent, name, ignore=item)
    old = item.name
    item.name = name
    item.modified_at = timezone.now()
    item.save(update_fields=["name", "modified_at"])
    kind = "folder" if isinstance(item, Folder) else "document"
    audit(actor, f"documents.{kind}_rename", item, organisation=_org(item.space), data={"from": old})
    touch(item.space)
    if isinstance(item, Document):  # search finds it by its new name, not its old one
        _index_on_commit(item)


@transaction.atomic
def move(actor: Actor, item: Folder | Document, target: Folder, name: str | None = None) -> None:
    """Move within the same space. A moved folder takes the restrictions of its new place
    (and keeps its own)."""
    if target.space_id != item.space_id:
        raise DocumentError(_("Documents move only inside their space; copy them instead."), 502)
    if target.in_trash:
        raise DocumentError(_("This folder is in the trash."), 409)
    name = clean_name(name or item.name)
    if isinstance(item, Folder):
        if item.is_root:
            raise DocumentError(_("The top folder of a space cannot be moved."), 403)
        if target.path.startswith(item.path):
            raise DocumentError(_("A folder cannot go inside itself."), 409)
    _require_free(target, name, ignore=item)
    now = timezone.now()
    if isinstance(item, Folder):
        _rehome(item, target)
        Folder.objects.filter(pk=item.pk).update(parent=target, name=name, modified_at=now)
        item.refresh_from_db()
    else:
        item.folder = target
        item.name = name
        item.modified_at = now
        item.save(update_fields=["folder", "name", "modified_at"])
    kind = "folder" if isinstance(item, Folder) else "document"
    audit(actor, f"documents.{kind}_move", item, organisation=_org(item.space), data={"to": target.pk})
    touch(item.space)


@transaction.atomic
def copy(actor: Actor, item: Folder | Document, target: Folder, name: str | None = None) -> Folder | Document:
    """Copies share the stored bytes: no data is copied, only rows."""
    if target.in_trash:
        raise DocumentError(_("This folder is in the trash."), 409)
    name = clean_name(name or item.name)
    if isinstance(item, Folder) and target.path.startswith(item.path):
        raise DocumentError(_("A folder cannot be copied inside itself."), 409)
    _require_free(target, name)
    copied = _copy(actor, item, target, name)
    kind = "folder" if isinstance(item, Folder) else "document"
    audit(actor, f"documents.{kind}_copy", copied, organisation=_org(target.space), data={"from": item.pk})
    touch(target.space)
    return copied


def _copy(actor: Actor, item: Folder | Document, target: Folder, name: str) -> Folder | Document:
    if isinstance(item, Document):
        current = item.current
        check_quota(_org(target.space), current.size if current else 0)
        doc = Document.objects.create(
            space=target.space, folder=target, name=name, created_by=actor.user, modified_at=item.modified_at
        )
        if current is not None:
            version = _version_like(current, doc, 1, actor.user)
            doc.current = version
            doc.save(update_fields=["current"])
            _index_on_commit(doc)
        return doc
    folder = _new_folder(target, name, actor.user)
    for child in Folder.objects.filter(parent=item, deleted_at__isnull=True):
        _copy(actor, child, folder, child.name)
    for doc in Document.objects.filter(folder=item, deleted_at__isnull=True).select_related("current"):
        _copy(actor, doc, folder, doc.name)
    return folder


# --- Trash --------------------------------------------------------------------------------------


@transaction.atomic
def trash(actor: Actor, item: Folder | Document) -> None:
    """To the trash, with everything inside; restorable until the trash is purged."""
    if isinstance(item, Folder) and item.is_root:
        raise DocumentError(_("The top folder of a space cannot be deleted."), 403)
    if item.in_trash:
        return
    now, deletion = timezone.now(), uuid.uuid4()
    marks = {"deleted_at": now, "deleted_by": actor.user, "deletion": deletion}
    if isinstance(item, Folder):
        inside = Folder.objects.filter(path__startswith=item.path, deleted_at__isnull=True)
        Document.objects.filter(folder__in=inside.values("pk"), deleted_at__isnull=True).update(**marks)
        inside.update(**marks)
        Folder.objects.filter(pk=item.pk).update(trash_root=True)
    else:
        Document.objects.filter(pk=item.pk).update(trash_root=True, **marks)
    item.refresh_from_db()
    kind = "folder" if isinstance(item, Folder) else "document"
    audit(actor, f"documents.{kind}_trash", item, organisation=_org(item.space))
    touch(item.space)


@transaction.atomic
def restore(actor: Actor, item: Folder | Document) -> Folder:
    """Back where it was, with its rights; into the top folder if that place is gone, and
    under a new name if the old one was taken meanwhile. Returns where it went."""
    parent = item.parent if isinstance(item, Folder) else item.folder
    assert parent is not None
    if parent.in_trash:
        parent = root_folder(item.space)
    name = free_name(parent, item.name)
    # Place and name first, while it is still deleted: the live names are then never doubled.
    if isinstance(item, Folder):
        if parent.pk != item.parent_id:
            _rehome(item, parent)
        Folder.objects.filter(pk=item.pk).update(parent=parent, name=name)
    else:
        Document.objects.filter(pk=item.pk).update(folder=parent, name=name)
    Folder.objects.filter(deletion=item.deletion).update(
        deleted_at=None, deleted_by=None, deletion=None, trash_root=False
    )
    Document.objects.filter(deletion=item.deletion).update(
        deleted_at=None, deleted_by=None, deletion=None, trash_root=False
    )
    item.refresh_from_db()
    kind = "folder" if isinstance(item, Folder) else "document"
    audit(actor, f"documents.{kind}_restore", item, organisation=_org(item.space))
    touch(item.space)
    return parent


@transaction.atomic
def purge(actor: Actor, item: Folder | Document) -> None:
    """Delete for good what a deletion put in the trash (its bytes go when no version uses
    them any more)."""
    kind = "folder" if isinstance(item, Folder) else "document"
    audit(actor, f"documents.{kind}_purge", item, organisation=_org(item.space))
    _purge_deletion(item.deletion)


def _purge_deletion(deletion: uuid.UUID | None) -> None:
    if deletion is None:
        return
    docs = Document.objects.filter(deletion=deletion)
    Document.objects.filter(pk__in=docs.values("pk")).update(current=None)
    Version.objects.filter(document__in=docs.values("pk")).delete()
    docs.delete()
    Folder.objects.filter(deletion=deletion).order_by("-path").delete()


def purge_expired(now: datetime.datetime | None = None) -> int:
    """The scheduler's daily clean-up: trash older than each organisation's retention."""
    now = now or timezone.now()
    purged = 0
    for org in Organisation.objects.all():
        limit = now - datetime.timedelta(days=org.trash_retention_days)
        deletions = set(
            Folder.objects.filter(space__organisation=org, trash_root=True, deleted_at__lt=limit).values_list(
                "deletion", flat=True
            )
        ) | set(
            Document.objects.filter(
                space__organisation=org, trash_root=True, deleted_at__lt=limit
            ).values_list("deletion", flat=True)
        )
        for deletion in deletions:
            with transaction.atomic():
                audit(
                    Actor.system(),
                    "documents.trash_expired",
                    organisation=org,
                    data={"deletion": str(deletion)},
                )
                _purge_deletion(deletion)
            purged += 1
    return purged


def collect_garbage(grace: datetime.timedelta = datetime.timedelta(hours=1)) -> int:
    """Delete the bytes no version points to any more. A blob touched within `grace` is kept:
    an upload of the same content touches it before it relies on it."""
    cutoff = timezone.now() - grace
    removed = 0
    candidates = Blob.objects.filter(last_used_at__lt=cutoff, versions__isnull=True).values_list(
        "sha256", flat=True
    )
    for sha in list(candidates[:1000]):
        with transaction.atomic():
            # No outer join under FOR UPDATE: PostgreSQL refuses to lock its nullable side.
            blob = (
                Blob.objects.select_for_update()
                .filter(sha256=sha, last_used_at__lt=cutoff)
                .exclude(Exists(Version.objects.filter(blob=OuterRef("pk"))))
                .first()
            )
            if blob is None:
                continue
            blob_store().delete(sha)
            blob.delete()
            removed += 1
    return removed


# --- Rights -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    user: User | None
    group: Group | None
    level: str


@transaction.atomic
def set_restriction(actor: Actor, folder: Folder, restricted: bool, grants: list[Grant]) -> None:
    """Restrict a folder to a list of people and groups with a level, or let it follow its
    parent again. Facilitators keep access whatever the list says."""
    if folder.is_root:
        raise DocumentError(
            _("The top folder follows the space's members; restrict a folder inside it."), 403
        )
    org = _org(folder.space)
    for grant in grants:
        if grant.group is not None and grant.group.organisation_id != org.pk:
            raise DocumentError(_("This group is not one of the organisation's."), 400)
        if grant.level not in Level.values:
            raise DocumentError(_("Choose read or read and write."), 400)
    folder.accesses.all().delete()
    if restricted:
        FolderAccess.objects.bulk_create(
            FolderAccess(folder=folder, user=g.user, group=g.group, level=g.level) for g in grants
        )
    Folder.objects.filter(pk=folder.pk).update(restricted=restricted)
    folder.restricted = restricted
    audit(
        actor,
        "documents.folder_rights",
        folder,
        organisation=org,
        data={
            "restricted": restricted,
            "users": sorted(g.user.pk for g in grants if g.user),
            "groups": sorted(g.group.pk for g in grants if g.group),
        },
    )
    touch(folder.space)


# --- Quotas -------------------------------------------------------------------------------------


def usage(org: Organisation) -> int:
    """Bytes the organisation uses: every version of every document, trash included (a running
    count, see `usage.py`)."""
    return storage_usage.used(org)


def check_quota(org: Organisation, incoming: int) -> None:
    if incoming > settings.PARVIS_MAX_FILE_BYTES:
        raise DocumentError(
            _("This file is too big: at most %(limit)s per file.")
            % {"limit": human_size(settings.PARVIS_MAX_FILE_BYTES)},
            413,
        )
    if usage(org) + incoming > org.storage_quota_bytes:
        raise DocumentError(
            _("The storage space of %(org)s is full (%(quota)s). Empty the trash or ask the administrator.")
            % {"org": org.name, "quota": human_size(org.storage_quota_bytes)},
            507,
        )


@transaction.atomic
def set_trash_retention(actor: Actor, org: Organisation, days: int) -> None:
    """How long deleted documents stay restorable in the organisation's spaces."""
    if not 1 <= days <= 3650:
        raise DocumentError(_("Choose between 1 and 3,650 days."), 400)
    old = org.trash_retention_days
    Organisation.objects.filter(pk=org.pk).update(trash_retention_days=days)
    org.trash_retention_days = days
    audit(actor, "documents.trash_retention", org, organisation=org, data={"from": old, "to": days})


def usage_by_space(org: Organisation) -> list[tuple[Space, int]]:
    """Bytes per space, largest first (trash included)."""
    totals = dict(
        Version.objects.filter(document__space__organisation=org)
        .values_list("document__space")
        .annotate(total=Sum("size"))
        .values_list("document__space", "total")
    )
    spaces = Space.objects.filter(pk__in=totals)
    return sorted(((s, int(totals[s.pk])) for s in spaces), key=lambda pair: -pair[1])


def human_size(size: int) -> str:
    value = float(size)
    for unit in (_("bytes"), _("KB"), _("MB"), _("GB")):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == _("bytes") else f"{value:.1f} {unit}".replace(".", ",")
        value /= 1024
    return f"{value:.1f} {_('TB')}".replace(".", ",")


# --- Files and versions -------------------------------------------------------------------------


def guess_type(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


@dataclass(frozen=True)
class Stored:
    document: Document
    version: Version
    created: bool  # a new document, not a new version of one


def antivirus_on() -> bool:
    return bool(settings.PARVIS_CLAMAV)


def store_file(
    actor: Actor,
    folder: Folder,
    name: str,
    source: Path,
    sha: str,
    size: int,
    *,
    modified_at: datetime.datetime | None = None,
    mime_type: str | None = None,
    imported: bool = False,
) -> Stored:
    """Put a finished, fsynced spool file into `folder` as `name`: a new document, or a new
    version of the document of that name. The bytes are in the store before the rows that
    point to them commit; an acknowledged upload is never lost. An `imported` file (import_tree)
    keeps its own date as the document's, and is not announced to subscribers one by one."""
    name = clean_name(name)
    org = _org(folder.space)
    if folder.in_trash:
        raise DocumentError(_("This folder is in the trash."), 409)
    if Folder.objects.filter(parent=folder, name=name, deleted_at__isnull=True).exists():
        raise DocumentError(_("A folder named “%(name)s” is already there.") % {"name": name}, 405)
    check_quota(org, size)
    # Touch first: the garbage collector never removes a blob touched within its grace time.
    Blob.objects.filter(sha256=sha).update(last_used_at=timezone.now())
    blob_store().adopt(source, sha)
    faults.point("documents.after_adopt")  # the bytes are in the store, no row points to them yet
    for attempt in range(3):
        try:
            return _store_rows(
                actor, folder, name, sha, size, modified_at, mime_type or guess_type(name), imported
            )
        except IntegrityError:  # a concurrent upload of the same name or version number
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _store_rows(
    actor: Actor,
    folder: Folder,
    name: str,
    sha: str,
    size: int,
    modified_at: datetime.datetime | None,
    mime_type: str,
    imported: bool = False,
) -> Stored:
    Blob.objects.get_or_create(sha256=sha, defaults={"size": size})
    now = timezone.now()
    doc = (
        Document.objects.select_for_update().filter(folder=folder, name=name, deleted_at__isnull=True).first()
    )
    created = doc is None
    if doc is None:
        doc = Document.objects.create(space=folder.space, folder=folder, name=name, created_by=actor.user)
    if doc.locked_by_id is not None and actor.user is not None and doc.locked_by_id != actor.user.pk:
        raise DocumentError(_("“%(name)s” is locked by someone else.") % {"name": name}, 423)
    number = (Version.objects.filter(document=doc).aggregate(n=Max("number"))["n"] or 0) + 1
    version = Version.objects.create(
        document=doc,
        number=number,
        blob_id=sha,
        size=size,
        mime_type=mime_type,
        file_modified_at=modified_at or now,
        uploaded_by=actor.user,
        status=Version.Status.PENDING if antivirus_on() else Version.Status.CLEAN,
    )
    doc.current = version
    doc.modified_at = (modified_at or now) if imported else now
    doc.save(update_fields=["current", "modified_at"])
    audit(
        actor,
        "documents.upload",
        doc,
        organisation=_org(folder.space),
        data={"version": number, "size": size, "new": created},
    )
    touch(folder.space)
    if not imported:
        if actor.user is not None:
            record_visit(actor.user, doc)
        _tell_subscribers(doc, version, actor)
    _process_on_commit(version)
    return Stored(doc, version, created)


def store_bytes(
    actor: Actor, folder: Folder, name: str, data: bytes, *, modified_at: datetime.datetime | None = None
) -> Stored:
    """Small contents held in memory (tests, generated files)."""
    spool = blob_store().spool()
    spool.write(data)
    sha = spool.finish()
    try:
        return store_file(actor, folder, name, spool.path, sha, spool.size, modified_at=modified_at)
    finally:
        spool.path.unlink(missing_ok=True)


def store_spool(actor: Actor, folder: Folder, name: str, spool: SpoolFile, **kwargs: object) -> Stored:
    sha = spool.finish()
    try:
        return store_file(actor, folder, name, spool.path, sha, spool.size, **kwargs)  # type: ignore[arg-type]
    finally:
        spool.path.unlink(missing_ok=True)


def _tell_subscribers(doc: Document, version: Version, actor: Actor) -> None:
    from .policies import folders_policy

    audience = folders_policy.audience("add", doc.folder)
    if not audience:
        return
    space = doc.space
    title = (
        _("New document “%(name)s” in “%(folder)s”")
        if version.number == 1
        else _("New version of “%(name)s” in “%(folder)s”")
    ) % {"name": doc.name, "folder": display_name(doc.folder)}
    notify(
        audience,
        organisation=space.organisation,
        kind="documents.added",
        title=title,
        url=document_url(doc),
        space_id=space.pk,
        exclude=actor.user,
    )


def _process_on_commit(version: Version) -> None:
    from .tasks import process_version

    pk = version.pk
    transaction.on_commit(lambda: process_version.enqueue(pk))


def _index_on_commit(doc: Document) -> None:
    from .tasks import index_document

    pk = doc.pk
    transaction.on_commit(lambda: index_document.enqueue(pk))


@transaction.atomic
def restore_version(actor: Actor, version: Version) -> Version:
    """An old version becomes the newest again (as a new version: history is kept)."""
    doc = Document.objects.select_for_update().get(pk=version.document_id)
    if doc.locked_by_id is not None and actor.user is not None and doc.locked_by_id != actor.user.pk:
        raise DocumentError(_("“%(name)s” is locked by someone else.") % {"name": doc.name}, 423)
    number = (Version.objects.filter(document=doc).aggregate(n=Max("number"))["n"] or 0) + 1
    restored = _version_like(version, doc, number, actor.user)
    Blob.objects.filter(sha256=version.blob_id).update(last_used_at=timezone.now())
    doc.current = restored
    doc.modified_at = timezone.now()
    doc.save(update_fields=["current", "modified_at"])
    audit(
        actor,
        "documents.version_restore",
        doc,
        organisation=_org(doc.space),
        data={"from": version.number, "version": number},
    )
    touch(doc.space)
    _index_on_commit(doc)
    return restored


@transaction.atomic
def set_lock(actor: Actor, doc: Document, locked: bool) -> None:
    """A lock keeps others from changing a document while one person works on it."""
    if locked:
        if doc.locked_by_id is not None and doc.locked_by_id != getattr(actor.user, "pk", None):
            raise DocumentError(_("“%(name)s” is already locked by someone else.") % {"name": doc.name}, 423)
        doc.locked_by, doc.locked_at = actor.user, timezone.now()
    else:
        doc.locked_by, doc.locked_at = None, None
    doc.save(update_fields=["locked_by", "locked_at"])
    audit(actor, "documents.lock" if locked else "documents.unlock", doc, organisation=_org(doc.space))


# --- Antivirus and text -------------------------------------------------------------------------


@transaction.atomic
def record_scan(version: Version, clean: bool, signature: str = "") -> None:
    """The antivirus's verdict. An infected upload is refused: its version is removed (and
    its document if it had no other) and the uploader is told."""
    version = (
        Version.objects.select_for_update().select_related("document__space__organisation").get(pk=version.pk)
    )
    doc = version.document
    org = _org(doc.space)
    if clean:
        Version.objects.filter(pk=version.pk).update(status=Version.Status.CLEAN)
        audit(Actor.system(), "documents.scan_clean", doc, organisation=org, data={"version": version.number})
        return
    audit(
        Actor.system(),
        "documents.scan_infected",
        doc,
        organisation=org,
        data={"version": version.number, "signature": signature[:200]},
    )
    uploader = version.uploaded_by
    previous = Version.objects.filter(document=doc).exclude(pk=version.pk).order_by("-number").first()
    Document.objects.filter(pk=doc.pk).update(current=previous)
    Version.objects.filter(pk=version.pk).delete()
    if previous is None:
        doc.delete()
    if uploader is not None:
        notify(
            [uploader],
            organisation=org,
            kind="documents.infected",
            title=_("“%(name)s” was refused: the antivirus found a virus in it.") % {"name": doc.name},
            url=folder_url(doc.folder),
            space_id=doc.space_id,
        )


def record_text(version: Version, text: str) -> None:
    Version.objects.filter(pk=version.pk).update(text=text, extracted=True)


# --- Personal lists -----------------------------------------------------------------------------


def record_visit(user: User, doc: Document) -> None:
    """Personal state ("Mes fichiers récents"): not audited, it changes nothing anyone else sees."""
    Visit.objects.update_or_create(user=user, document=doc, defaults={"at": timezone.now()})


@transaction.atomic
def set_favourite(actor: Actor, item: Folder | Document, on: bool) -> None:
    assert actor.user is not None
    lookup = {"folder": item} if isinstance(item, Folder) else {"document": item}
    if on:
        Favourite.objects.get_or_create(user=actor.user, **lookup)
    else:
        Favourite.objects.filter(user=actor.user, **lookup).delete()
    audit(
        actor, "documents.favourite" if on else "documents.unfavourite", item, organisation=_org(item.space)
    )


@transaction.atomic
def set_subscription(actor: Actor, folder: Folder, on: bool) -> None:
    """ "Me prévenir": hear of what arrives in this folder, at the pace chosen for the space."""
    assert actor.user is not None
    if on:
        Subscription.objects.get_or_create(user=actor.user, folder=folder)
    else:
        Subscription.objects.filter(user=actor.user, folder=folder).delete()
    audit(
        actor,
        "documents.subscribe" if on else "documents.unsubscribe",
        folder,
        organisation=_org(folder.space),
    )


# --- Share links --------------------------------------------------------------------------------


@transaction.atomic
def create_share_link(
    actor: Actor,
    item: Folder | Document,
    *,
    expires_at: datetime.datetime,
    password: str = "",
    max_downloads: int | None = None,
) -> tuple[ShareLink, str]:
    """A link for someone without an account. Returns the link and its token, which is shown
    once and never stored."""
    space = item.space
    if space.block_downloads:
        raise DocumentError(_("Downloads are blocked in this space: it cannot be shared by link."), 403)
    token = secrets.token_urlsafe(SHARE_LINK_BYTES)
    link = ShareLink.objects.create(
        token_digest=digest(token),
        hint=token[-4:],
        space=space,
        folder=item if isinstance(item, Folder) else None,
        document=item if isinstance(item, Document) else None,
        created_by=actor.user,
        expires_at=expires_at,
        password_hash=make_password(password) if password else "",
        max_downloads=max_downloads,
    )
    audit(
        actor,
        "documents.share_create",
        link,
        organisation=_org(space),
        data={
            "expires_at": expires_at.isoformat(),
            "password": bool(password),
            "max_downloads": max_downloads,
        },
    )
    return link, token


@transaction.atomic
def revoke_share_link(actor: Actor, link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    audit(actor, "documents.share_revoke", link, organisation=_org(link.space))


def find_share_link(token: str) -> ShareLink | None:
    if not token or len(token) > 100:
        return None
    return (
        ShareLink.objects.select_related("space__organisation", "document__folder", "folder")
        .filter(token_digest=digest(token))
        .first()
    )


@transaction.atomic
def count_share_download(actor: Actor, link: ShareLink) -> bool:
    """One more download, if the link still allows one (checked and counted atomically)."""
    allowed = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True, expires_at__gt=timezone.now())
    allowed = allowed.filter(Q(max_downloads__isnull=True) | Q(downloads__lt=F("max_downloads")))
    if not allowed.update(downloads=F("downloads") + 1):
        return False
    audit(actor, "documents.share_download", link, organisation=_org(link.space))
    return True


# --- Chunked uploads ----------------------------------------------------------------------------

UPLOAD_LIFETIME = datetime.timedelta(hours=24)
# Hashes of uploads in progress, kept by the process that received their chunks: the final
# step then reads nothing again. Another process (or a restart) re-reads the file once.
_running_hashes: dict[str, tuple[int, "hashlib._Hash"]] = {}


def upload_path(upload: Upload) -> Path:
    return Path(blob_store().spool_dir) / f"upload-{upload.pk}"


def relative_parts(relative_path: str) -> list[str]:
    """The folders of a path inside a dropped folder ("Séances/2026/ordre.pdf" → Séances, 2026)."""
    parts = [p for p in relative_path.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise DocumentError(_("A path cannot go up with “..”."), 400)
    return [clean_name(p) for p in parts[:-1]]


@transaction.atomic
def start_upload(
    actor: Actor,
    folder: Folder,
    name: str,
    size: int,
    *,
    relative_path: str = "",
    modified_at: datetime.datetime | None = None,
) -> Upload:
    """Open a resumable upload. Not audited itself: the finished upload is."""
    assert actor.user is not None
    name = clean_name(name)
    relative_parts(relative_path)
    check_quota(_org(folder.space), size)
    upload = Upload.objects.create(
        user=actor.user,
        folder=folder,
        name=name,
        relative_path=relative_path[:2000],
        size=size,
        file_modified_at=modified_at or timezone.now(),
        expires_at=timezone.now() + UPLOAD_LIFETIME,
    )
    path = upload_path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        os.fsync(f.fileno())
    return upload


def append_chunk(upload: Upload, offset: int, read: Callable[[int], bytes]) -> int:
    """Append the bytes of one chunk at `offset`, which must be where the upload stands. The
    new position is acknowledged (returned, and recorded) only once the bytes are fsynced;
    after a crash the unacknowledged tail is cut off and the client resumes from there."""
    path = upload_path(upload)
    with path.open("r+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        upload.refresh_from_db(fields=["received"])
        if offset != upload.received:
            raise DocumentError(_("This part of the file is not the one expected."), 409)
        f.truncate(upload.received)
        f.seek(upload.received)
        key = str(upload.pk)
        known = _running_hashes.get(key)
        if known and known[0] == upload.received:
            running: hashlib._Hash | None = known[1].copy()
        else:
            running = hashlib.sha256() if upload.received == 0 else None
        position = upload.received
        try:
            while chunk := read(CHUNK_READ):
                position += len(chunk)
                if position > upload.size:
                    raise DocumentError(_("The file is bigger than announced."), 400)
                f.write(chunk)
                if running is not None:
                    running.update(chunk)
        except BaseException:
            f.truncate(upload.received)  # a chunk counts whole or not at all
            raise
        f.flush()
        os.fsync(f.fileno())
        Upload.objects.filter(pk=upload.pk).update(received=position)
        upload.received = position
        if running is not None:
            _running_hashes[key] = (position, running)
        return position


CHUNK_READ = 1024 * 1024


def _hash_file(path: Path, length: int) -> "hashlib._Hash":
    h = hashlib.sha256()
    with path.open("rb") as f:
        remaining = length
        while remaining > 0 and (chunk := f.read(min(CHUNK_READ, remaining))):
            h.update(chunk)
            remaining -= len(chunk)
    return h


def finish_upload(actor: Actor, upload: Upload) -> Stored:
    """All bytes are there: hash, move into the store (a rename, no copy), and record."""
    upload.refresh_from_db()
    if upload.received != upload.size:
        raise DocumentError(_("The file has not fully arrived yet."), 409)
    path = upload_path(upload)
    with path.open("r+b") as f:
        f.truncate(upload.received)
    known = _running_hashes.pop(str(upload.pk), None)
    sha = (
        known[1].hexdigest()
        if known and known[0] == upload.size
        else _hash_file(path, upload.size).hexdigest()
    )
    target = ensure_path(actor, upload.folder, relative_parts(upload.relative_path))
    # The store takes a hard link (same filesystem: no copy), so the upload's own file stays
    # whole until the document and the end of the upload are committed together: after a
    # crash at any point, finishing again either works or finds the document already there.
    source = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        os.link(path, source)
    except OSError:  # no hard links on this filesystem: hand over the file itself
        source = path
    try:
        with transaction.atomic():
            stored = store_file(
                actor, target, upload.name, source, sha, upload.size, modified_at=upload.file_modified_at
            )
            Upload.objects.filter(pk=upload.pk).delete()
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    path.unlink(missing_ok=True)
    return stored


def discard_upload(upload: Upload) -> None:
    _running_hashes.pop(str(upload.pk), None)
    upload_path(upload).unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk).delete()
