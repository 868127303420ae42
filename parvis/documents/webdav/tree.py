"""The tree a WebDAV client sees, built over the GED's models, with the person's rights on it.

    /dav/                        her organisations, by slug
    /dav/<org>/                  the spaces of that organisation whose documents she may read
    /dav/<org>/<space>/          the space's top folder (`actions.root_folder`)
    /dav/<org>/<space>/a/b.pdf   folders and files below it, by name

Rights are those of the web, from the same policy helpers: the space step follows `get_space`
(not visible → None, i.e. 404; visible but not readable, or a second factor required that the
person has not turned on → `Refused`, i.e. 403; documents tool off → 404), and each folder's level
comes from its parent's through `policies.child_level`, so a path costs one query per segment,
never one per ancestor. A folder hidden by a restriction resolves to None exactly like a missing
one.

Children are listed with a constant number of queries (one for subfolders, one for the
restricted ones' lists, one for documents as plain rows), whatever their number: a PROPFIND of
a folder of 10,000 files must not cost 10,000 queries.
"""

import datetime
import unicodedata
from dataclasses import dataclass, field

from django.db.models import prefetch_related_objects
from django.db.models.functions import Coalesce

from parvis.core.audit import Actor
from parvis.core.auth import has_second_factor
from parvis.core.models import Organisation, User
from parvis.core.policies import organisations
from parvis.spaces.models import Space
from parvis.spaces.policies import can_read, readable_spaces, spaces

from .. import actions
from ..models import Document, Folder, Version
from ..policies import MANAGE, child_level, group_ids, space_level, tool_on, tool_spaces, writes


class Refused(Exception):
    """A place the person sees but may not enter (403), as the web's `get_space` refuses it."""


def normalize(path: str) -> str:
    """ "/a/b" (NFC, no trailing slash), or "/" for the top: macOS sends decomposed accents,
    Windows and Linux composed ones; both must reach the same file."""
    parts = [p for p in unicodedata.normalize("NFC", path).split("/") if p]
    return "/" + "/".join(parts)


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def join(path: str, name: str) -> str:
    return f"{path.rstrip('/')}/{name}"


@dataclass(slots=True)
class FileInfo:
    """What a listing needs of a document and its current version, read as plain values."""

    doc_id: int
    name: str
    created_at: datetime.datetime
    modified_at: datetime.datetime
    locked_by_id: int | None
    size: int
    mime_type: str
    sha: str | None
    status: str | None
    version: Version | None = None

    @classmethod
    def from_document(cls, doc: Document) -> "FileInfo":
        v = doc.current
        return cls(
            doc.pk,
            doc.name,
            doc.created_at,
            v.file_modified_at if v else doc.modified_at,
            doc.locked_by_id,
            v.size if v else 0,
            v.mime_type if v else actions.guess_type(doc.name),
            v.blob_id if v else None,
            v.status if v else None,
            v,
        )


# Document columns read for listings, in FileInfo's order (the version's, through a LEFT JOIN).
FILE_COLUMNS = (
    "pk",
    "name",
    "created_at",
    "shown_modified_at",  # the version's file_modified_at, else the document's modified_at
    "locked_by_id",
    "current__size",
    "current__mime_type",
    "current__blob_id",
    "current__status",
)


def _file_from_row(row: tuple) -> FileInfo:  # type: ignore[type-arg]
    pk, name, created, modified, locked_by, size, mime, sha, status = row
    return FileInfo(
        pk,
        name,
        created,
        modified,
        locked_by,
        size or 0,
        mime or actions.guess_type(name),
        sha,
        status,
    )


# --- Nodes --------------------------------------------------------------------------------------


@dataclass(eq=False)
class Node:
    """One place of the tree. `path` is normalized ("/" for the top)."""

    path: str

    is_collection = True
    lockable = False  # may the person take a WebDAV lock here (she may write here)?

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        """What dead properties are stored under: the object, not its path, so that a rename
        or a move on the web keeps them."""
        return "/"

    created_at: datetime.datetime | None = field(default=None, init=False)
    modified_at: datetime.datetime | None = field(default=None, init=False)


@dataclass(eq=False)
class RootNode(Node):
    @property
    def display_name(self) -> str:
        return "Parvis"


@dataclass(eq=False)
class OrgNode(Node):
    organisation: Organisation = field(default=None)  # type: ignore[assignment]

    @property
    def display_name(self) -> str:
        return self.organisation.name

    @property
    def key(self) -> str:
        return f"organisation:{self.organisation.pk}"


@dataclass(eq=False)
class FolderNode(Node):
    """A folder, or a space's top folder (then named by the space's slug)."""

    space: Space = field(default=None)  # type: ignore[assignment]
    folder: Folder = field(default=None)  # type: ignore[assignment]
    level: str | None = None

    def __post_init__(self) -> None:
        self.created_at = self.folder.created_at
        self.modified_at = self.folder.modified_at

    @property
    def is_space_root(self) -> bool:
        return self.folder.parent_id is None

    @property
    def display_name(self) -> str:
        return self.space.name if self.is_space_root else self.folder.name

    @property
    def key(self) -> str:
        return f"folder:{self.folder.pk}"

    @property
    def writable(self) -> bool:
        """FolderPolicy.can(user, "change", folder), from the level already known."""
        return writes(self.level) and not self.space.is_archived

    @property
    def lockable(self) -> bool:  # type: ignore[override]
        return self.writable


@dataclass(eq=False)
class FileNode(Node):
    space: Space = field(default=None)  # type: ignore[assignment]
    folder: Folder = field(default=None)  # type: ignore[assignment]
    level: str | None = None
    info: FileInfo = field(default=None)  # type: ignore[assignment]

    is_collection = False

    def __post_init__(self) -> None:
        self.created_at = self.info.created_at
        self.modified_at = self.info.modified_at

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def key(self) -> str:
        return f"document:{self.info.doc_id}"

    @property
    def etag(self) -> str | None:
        return self.info.sha

    @property
    def writable(self) -> bool:
        """DocumentPolicy.can(user, "change", doc), except the web lock, answered apart (423)."""
        return writes(self.level) and not self.space.is_archived

    def locked_by_other(self, user: User) -> bool:
        return self.info.locked_by_id is not None and self.info.locked_by_id != user.pk

    @property
    def downloadable(self) -> bool:
        """DocumentPolicy.can(user, "download", doc)."""
        return self.level is not None and not self.space.block_downloads

    @property
    def lockable(self) -> bool:  # type: ignore[override]
        return self.writable


# --- Resolution ---------------------------------------------------------------------------------

_REFUSED = object()


class DavContext:
    """One request of one person: her rights, and the places already resolved (a MOVE looks up
    its source, its destination and both parents; each is resolved once)."""

    def __init__(self, user: User, ip: str | None = None) -> None:
        self.user = user
        self.actor = Actor(user, ip)
        self._cache: dict[str, object] = {}
        self._groups: list[int] | None = None
        self._second_factor: bool | None = None

    def forget(self) -> None:
        """After a write: what was resolved may have moved."""
        self._cache.clear()

    @property
    def groups(self) -> list[int]:
        if self._groups is None:
            self._groups = group_ids(self.user)
        return self._groups

    @property
    def second_factor(self) -> bool:
        if self._second_factor is None:
            self._second_factor = has_second_factor(self.user)
        return self._second_factor

    def resolve(self, path: str) -> Node | None:
        """The node at `path`, None if it does not exist or is hidden; raises Refused (403)."""
        path = normalize(path)
        if path in self._cache:
            found = self._cache[path]
            if found is _REFUSED:
                raise Refused(path)
            return found  # type: ignore[return-value]
        try:
            node = self._resolve(path)
        except Refused:
            self._cache[path] = _REFUSED
            raise
        self._cache[path] = node
        return node

    def _resolve(self, path: str) -> Node | None:
        if path == "/":
            return RootNode("/")
        if path.count("/") == 2 and parent_of(path) not in self._cache:
            found = self._space_at(path)
            if found is not None:
                return found
        parent = self.resolve(parent_of(path))
        name = path.rsplit("/", 1)[-1]
        if isinstance(parent, RootNode):
            org = organisations.visible(self.user).filter(slug=name).first()
            return OrgNode(path, organisation=org) if org else None
        if isinstance(parent, OrgNode):
            return self._space(parent, name)
        if isinstance(parent, FolderNode):
            return self._in_folder(parent, name)
        return None

    def _space(self, parent: OrgNode, slug: str) -> FolderNode | None:
        space = (
            spaces.visible(self.user)
            .filter(organisation=parent.organisation, slug=slug)
            .select_related("organisation")
            .first()
        )
        return self._enter(parent.path, space)

    def _space_at(self, path: str) -> FolderNode | None:
        """/org/space in one query when both are there (spaces.visible implies the organisation
        is hers and active); when not, the caller resolves the organisation first, as usual."""
        org_slug, slug = path.strip("/").split("/")
        space = (
            spaces.visible(self.user)
            .filter(organisation__slug=org_slug, slug=slug)
            .select_related("organisation")
            .first()
        )
        if space is None:
            return None
        org_path = parent_of(path)
        self._cache[org_path] = OrgNode(org_path, organisation=space.organisation)
        return self._enter(org_path, space)

    def _enter(self, org_path: str, space: Space | None) -> FolderNode | None:
        """The same steps, in the same order, as the web's `documents_space`: not visible →
        404, not readable → 403, second factor missing → 403, documents off → 404. The level
        is asked first: it is None exactly when the tool is off or she cannot read, so the
        common case costs no second look at her role."""
        if space is None:
            return None
        level = space_level(self.user, space)
        if level is None and (tool_on(space) or not can_read(self.user, space)):
            raise Refused(space.slug)
        if space.require_2fa and not self.second_factor:
            raise Refused(space.slug)
        if level is None:
            return None
        return self._space_node(org_path, space, level)

    def _space_node(self, org_path: str, space: Space, level: str | None) -> FolderNode:
        return FolderNode(
            join(org_path, space.slug), space=space, folder=actions.root_folder(space), level=level
        )

    def _in_folder(self, parent: FolderNode, name: str) -> Node | None:
        path = join(parent.path, name)
        sub = Folder.objects.filter(parent=parent.folder, name=name, deleted_at__isnull=True).first()
        if sub is not None:
            level = self._child_level(parent.level, [sub])[0]
            return FolderNode(path, space=parent.space, folder=sub, level=level) if level else None
        doc = (
            Document.objects.filter(folder=parent.folder, name=name, deleted_at__isnull=True)
            .select_related("current")
            .defer("current__text")
            .first()
        )
        if doc is None:
            return None
        return FileNode(
            path,
            space=parent.space,
            folder=parent.folder,
            level=parent.level,
            info=FileInfo.from_document(doc),
        )

    def _child_level(self, level: str | None, children: list[Folder]) -> list[str | None]:
        """The policy's `child_level` for each subfolder; the lists of the restricted ones are
        read in one query (and only when the parent's level can still be narrowed)."""
        if level is None or level == MANAGE:
            return [level] * len(children)
        restricted = [c for c in children if c.restricted]
        if not restricted:
            return [level] * len(children)
        prefetch_related_objects(restricted, "accesses")
        return [child_level(level, c, self.user, self.groups) for c in children]

    # --- Listings --------------------------------------------------------------------------------

    def children(self, node: Node) -> list[Node]:
        if isinstance(node, RootNode):
            return [
                OrgNode(join("/", org.slug), organisation=org)
                for org in organisations.visible(self.user).order_by("slug")
            ]
        if isinstance(node, OrgNode):
            listed = (
                readable_spaces(self.user)
                .filter(organisation=node.organisation, pk__in=tool_spaces().values("pk"))
                .select_related("organisation")
                .order_by("slug")
            )
            return [
                self._space_node(node.path, space, space_level(self.user, space))
                for space in listed
                if not space.require_2fa or self.second_factor
            ]
        if isinstance(node, FolderNode):
            return self._folder_children(node)
        return []

    def _folder_children(self, node: FolderNode) -> list[Node]:
        subfolders = list(Folder.objects.filter(parent=node.folder, deleted_at__isnull=True).order_by("name"))
        levels = self._child_level(node.level, subfolders)
        found: list[Node] = [
            FolderNode(join(node.path, sub.name), space=node.space, folder=sub, level=level)
            for sub, level in zip(subfolders, levels, strict=True)
            if level is not None
        ]
        rows = (
            Document.objects.filter(folder=node.folder, deleted_at__isnull=True)
            .order_by("name")
            .annotate(shown_modified_at=Coalesce("current__file_modified_at", "modified_at"))
            .values_list(*FILE_COLUMNS)
        )
        for row in rows:
            info = _file_from_row(row)
            found.append(
                FileNode(
                    join(node.path, info.name),
                    space=node.space,
                    folder=node.folder,
                    level=node.level,
                    info=info,
                )
            )
        return found
