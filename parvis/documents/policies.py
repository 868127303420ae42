"""Rights on folders and documents.

A person's right in a space's documents starts from her space role: a reader (or a member of an
organisation-wide space) reads, a contributor writes, a facilitator manages. A folder either
follows its parent or is restricted to a list of people and groups with a level; the right on a
folder is the most restrictive along its path, capped by the space role. Facilitators always
keep access to everything (nobody locks the space's managers out), and an archived space is
read-only for all. A document follows its folder.

`visible()` builds lists in SQL with the materialized path: a folder is hidden when one of its
ancestors (or itself) is restricted and does not list the person or one of her groups.
"""

from dataclasses import dataclass

from django.db.models import CharField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.utils import timezone

from parvis.core.models import Group, User
from parvis.core.policies import AnyUser, Policy, is_person
from parvis.spaces.models import Role, Space
from parvis.spaces.policies import can_read, managed_spaces, readable_spaces, role_in
from parvis.spaces.policies import spaces as space_policy

from .models import (
    LEVEL_RANK,
    Document,
    Folder,
    FolderAccess,
    Level,
    ShareLink,
    Subscription,
    Version,
    weakest,
)

TOOL = "documents"
MANAGE = "manage"  # a space facilitator: write, and set the folders' restrictions


def tool_on(space: Space) -> bool:
    return TOOL in (space.tools or [])


def tool_spaces() -> QuerySet[Space]:
    """Spaces where the documents tool is switched on (a JSON list: matched as text, which
    works the same on SQLite and PostgreSQL)."""
    return Space.objects.filter(tools__icontains=f'"{TOOL}"')


def space_level(user: AnyUser, space: Space) -> str | None:
    """What the space role allows in its documents: manage, write, read, or nothing."""
    if not tool_on(space) or not is_person(user):
        return None
    role = role_in(user, space)
    if role is None:
        return Level.READ if can_read(user, space) else None
    if space.is_archived:
        return Level.READ
    return {Role.MANAGER: MANAGE, Role.CONTRIBUTOR: Level.WRITE, Role.READER: Level.READ}[Role(role)]


def group_ids(user: AnyUser) -> list[int]:
    if not is_person(user):
        return []
    return list(Group.objects.filter(members=user).values_list("pk", flat=True))


def listed_level(folder: Folder, user: AnyUser, groups: list[int]) -> str | None:
    """The level a restricted folder's list gives the person (the best of her own line and
    her groups' lines), or None when she is not on it."""
    levels = [
        a.level
        for a in folder.accesses.all()
        if (a.user_id is not None and a.user_id == user.pk) or (a.group_id in groups)
    ]
    return max(levels, key=lambda level: LEVEL_RANK[level]) if levels else None


def folder_level(user: AnyUser, folder: Folder) -> str | None:
    """The person's level on a folder: manage, write, read or None. Ignores the trash (the
    trash policy needs the level a deleted folder had)."""
    start = space_level(user, folder.space)
    if start is None or start == MANAGE:
        return start
    restricted = list(
        Folder.objects.filter(pk__in=folder.ancestor_ids(), restricted=True).prefetch_related("accesses")
    )
    groups = group_ids(user) if restricted else []
    level: str | None = start
    for ancestor in restricted:
        level = weakest(level, listed_level(ancestor, user, groups))
        if level is None:
            break
    return level


def child_level(parent_level: str | None, child: Folder, user: AnyUser, groups: list[int]) -> str | None:
    """A subfolder's level from its parent's, without a query (accesses prefetched)."""
    if parent_level is None or parent_level == MANAGE or not child.restricted:
        return parent_level
    return weakest(parent_level, listed_level(child, user, groups))


def writes(level: str | None) -> bool:
    return level in (Level.WRITE, MANAGE)


def _denying_folders(user: AnyUser) -> QuerySet[Folder]:
    """Restricted folders on the path of the outer folder (OuterRef "path") that do not list
    this person or one of her groups."""
    listed = FolderAccess.objects.filter(folder=OuterRef("pk")).filter(Q(user=user) | Q(group__members=user))
    return (
        Folder.objects.filter(restricted=True, space=OuterRef("space"))
        .annotate(target=ExpressionWrapper(OuterRef("path"), output_field=CharField()))
        .filter(target__startswith=F("path"))
        .exclude(Exists(listed))
    )


def _readable_folders(user: AnyUser, qs: QuerySet[Folder]) -> QuerySet[Folder]:
    if not is_person(user):
        return qs.none()
    spaces_ok = readable_spaces(user).filter(pk__in=tool_spaces().values("pk"))
    return qs.filter(space__in=spaces_ok).filter(
        Q(space__in=managed_spaces(user).values("pk")) | ~Exists(_denying_folders(user))
    )


def _writable_folders(user: AnyUser, qs: QuerySet[Folder]) -> QuerySet[Folder]:
    """Folders where the person writes: her space role writes, nothing on the path denies her,
    and no restricted folder on the path gives her read only."""
    if not is_person(user):
        return qs.none()
    contributing = Space.objects.filter(
        Q(memberships__user=user, memberships__role__in=[Role.MANAGER, Role.CONTRIBUTOR])
        | Q(group_grants__group__members=user, group_grants__role__in=[Role.MANAGER, Role.CONTRIBUTOR])
    )
    writer_spaces = (
        readable_spaces(user)
        .filter(pk__in=tool_spaces().values("pk"), archived_at__isnull=True)
        .filter(Q(pk__in=managed_spaces(user).values("pk")) | Q(pk__in=contributing.values("pk")))
    )
    writes_here = FolderAccess.objects.filter(folder=OuterRef("pk"), level=Level.WRITE).filter(
        Q(user=user) | Q(group__members=user)
    )
    not_writing = (
        Folder.objects.filter(restricted=True, space=OuterRef("space"))
        .annotate(target=ExpressionWrapper(OuterRef("path"), output_field=CharField()))
        .filter(target__startswith=F("path"))
        .exclude(Exists(writes_here))
    )
    return qs.filter(space__in=writer_spaces).filter(
        Q(space__in=managed_spaces(user).values("pk")) | ~Exists(not_writing)
    )


class FolderPolicy(Policy[Folder]):
    model = Folder
    actions = ("view", "change", "manage")

    def can(self, user: AnyUser, action: str, obj: Folder) -> bool:
        if obj.in_trash:
            return False
        level = folder_level(user, obj)
        if action == "view":
            return level is not None
        if action == "change":
            return writes(level) and not obj.space.is_archived
        if action == "manage":
            return level == MANAGE
        return False

    def visible(self, user: AnyUser, qs: QuerySet[Folder] | None = None) -> QuerySet[Folder]:
        return _readable_folders(user, self.all(qs).filter(deleted_at__isnull=True))

    def writable(self, user: AnyUser, qs: QuerySet[Folder] | None = None) -> QuerySet[Folder]:
        """The set form of can(user, "change", folder)."""
        return _writable_folders(user, self.all(qs).filter(deleted_at__isnull=True))

    def audience(self, action: str, obj: Folder) -> QuerySet[User]:
        """Who hears that something arrived: the folder's subscribers (and those of the folders
        above it) who can still see it."""
        subscribers = User.objects.filter(
            is_active=True,
            pk__in=Subscription.objects.filter(folder_id__in=obj.ancestor_ids()).values("user_id"),
        )
        return User.objects.filter(pk__in=[u.pk for u in subscribers if self.can(u, "view", obj)])


class DocumentPolicy(Policy[Document]):
    model = Document
    actions = ("view", "change", "download", "share")

    def can(self, user: AnyUser, action: str, obj: Document) -> bool:
        if obj.in_trash:
            return False
        level = folder_level(user, obj.folder) if not obj.folder.in_trash else None
        if action == "view":
            return level is not None
        if action == "change":
            return writes(level) and not obj.space.is_archived and not locked_by_other(obj, user)
        if action == "download":
            return level is not None and not obj.space.block_downloads
        if action == "share":
            return writes(level) and not obj.space.block_downloads
        return False

    def visible(self, user: AnyUser, qs: QuerySet[Document] | None = None) -> QuerySet[Document]:
        folders = folders_policy.visible(user)
        return self.all(qs).filter(deleted_at__isnull=True, folder__in=folders)


def locked_by_other(document: Document, user: AnyUser) -> bool:
    return document.locked_by_id is not None and document.locked_by_id != user.pk


class VersionPolicy(Policy[Version]):
    """A version is seen by whoever sees its document."""

    model = Version

    def can(self, user: AnyUser, action: str, obj: Version) -> bool:
        return action == "view" and documents_policy.can(user, "view", obj.document)

    def visible(self, user: AnyUser, qs: QuerySet[Version] | None = None) -> QuerySet[Version]:
        return self.all(qs).filter(document__in=documents_policy.visible(user))


@dataclass(frozen=True)
class TrashItem:
    kind: str  # "folder" or "document"
    obj: Folder | Document


class TrashPolicy(Policy[Document]):
    """The trash of a space: what was deleted by itself (not with its folder), seen and
    restored by whoever could write where it was."""

    model = Document

    def can(self, user: AnyUser, action: str, obj: Folder | Document) -> bool:  # type: ignore[override]
        if not obj.in_trash or not obj.trash_root:
            return False
        folder = obj.parent if isinstance(obj, Folder) else obj.folder
        if folder is None:
            return False
        level = folder_level(user, folder)
        if action in ("view", "restore"):
            return writes(level) and not obj.space.is_archived
        if action == "purge":
            return level == MANAGE
        return False

    def visible_folders(self, user: AnyUser, space: Space) -> QuerySet[Folder]:
        writable_parents = _writable_folders(user, Folder.objects.filter(space=space))
        return Folder.objects.filter(
            space=space, deleted_at__isnull=False, trash_root=True, parent__in=writable_parents
        )

    def visible_documents(self, user: AnyUser, space: Space) -> QuerySet[Document]:
        writable_parents = _writable_folders(user, Folder.objects.filter(space=space))
        return Document.objects.filter(
            space=space, deleted_at__isnull=False, trash_root=True, folder__in=writable_parents
        )

    def visible(self, user: AnyUser, qs: QuerySet[Document] | None = None) -> QuerySet[Document]:
        writable_parents = _writable_folders(user, Folder.objects.all())
        return self.all(qs).filter(deleted_at__isnull=False, trash_root=True, folder__in=writable_parents)


class ShareLinkPolicy(Policy[ShareLink]):
    """Links are listed and revoked by whoever may share the target: writers of its folder,
    in spaces whose downloads are not blocked."""

    model = ShareLink
    actions = ("view", "revoke")

    def can(self, user: AnyUser, action: str, obj: ShareLink) -> bool:
        if action not in self.actions:
            return False
        folder = obj.folder if obj.folder_id else obj.document.folder  # type: ignore[union-attr]
        return writes(folder_level(user, folder)) and not obj.target.in_trash

    def visible(self, user: AnyUser, qs: QuerySet[ShareLink] | None = None) -> QuerySet[ShareLink]:
        writable = folders_policy.writable(user)
        return self.all(qs).filter(
            Q(folder__in=writable) | Q(document__folder__in=writable, document__deleted_at__isnull=True)
        )


def share_link_works(link: ShareLink) -> bool:
    """A link serves only while usable, its target is not in the trash, and its space still
    allows downloads and has the tool on."""
    target = link.target
    return (
        link.is_usable()
        and not target.in_trash
        and (link.folder_id is not None or not link.document.folder.in_trash)  # type: ignore[union-attr]
        and not link.space.block_downloads
        and not link.space.is_archived
        and tool_on(link.space)
        and link.space.organisation.is_active
        and link.expires_at > timezone.now()
    )


def space_of_documents(user: AnyUser, space: Space) -> bool:
    """May the person open this space's documents at all?"""
    return space_policy.can(user, "read", space) and tool_on(space)


folders_policy = FolderPolicy()
documents_policy = DocumentPolicy()
versions_policy = VersionPolicy()
trash_policy = TrashPolicy()
share_links_policy = ShareLinkPolicy()
