"""The wsgidav provider: the tree of `tree.py` as DAV resources, and every write through
`parvis.documents.actions`.

Reads come from the tree (rights already computed); a write first asks the node what the web
would answer — 403 where the person reads but may not write, 423 where someone else locked the
document on the web — then calls the action, whose refusals (`DocumentError`) become the HTTP
answer they carry (409, 413, 423, 507…), with their French message as the body.

DELETE, MOVE and COPY are handled natively (one action each, one audit event, no walk through
wsgidav's file-by-file fallback): DELETE puts in the trash, MOVE is a rename inside a folder or
a move inside the space, COPY copies inside the space (across spaces it answers 502, as the
web does not offer it either). A destination that exists, with Overwrite: T, goes to the trash
first, in the same transaction.
"""

import datetime
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from wsgidav.dav_error import (
    HTTP_BAD_GATEWAY,
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_LOCKED,
    HTTP_NOT_FOUND,
    DAVError,
)
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, DAVProvider

from .. import actions
from ..actions import DocumentError
from ..models import Document, Folder
from ..storage import SpoolFile, blob_store
from . import propfind
from .locks import DbLockStorage
from .properties import copy_keyed
from .tree import (
    DavContext,
    FileInfo,
    FileNode,
    FolderNode,
    Node,
    OrgNode,
    Refused,
    RootNode,
    join,
    normalize,
    parent_of,
)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class DavRefusal(DAVError):
    """A refusal told to the person in French (the body of the answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, context_info=message)
        self.message = message

    def get_response_page(self) -> tuple[str, bytes]:
        return "text/plain; charset=utf-8", self.message.encode("utf-8")


@contextmanager
def refusals() -> Iterator[None]:
    """DocumentError → the DAV answer it names."""
    try:
        yield
    except DocumentError as error:
        raise DavRefusal(error.status, error.message) from error


def context(environ: Environ) -> DavContext:
    return environ["parvis.dav"]  # type: ignore[no-any-return]


def wrap(node: Node | None, environ: Environ) -> "Resource | None":
    if node is None:
        return None
    kind: type[Resource] = {
        RootNode: RootResource,
        OrgNode: OrgResource,
        FolderNode: FolderResource,
        FileNode: FileResource,
    }[type(node)]
    return kind(node, environ)


def _timestamp(moment: datetime.datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def _name(path: str) -> str:
    return normalize(path).rsplit("/", 1)[-1]


# --- Rights of a write --------------------------------------------------------------------------


def require_change(node: Node, ctx: DavContext) -> None:
    """The web's answer when the person may not change `node` (rename, move, delete,
    overwrite): 403, or 423 for a document someone else locked on the web."""
    if not isinstance(node, FolderNode | FileNode) or not node.writable:
        raise DAVError(HTTP_FORBIDDEN)
    if isinstance(node, FileNode) and node.locked_by_other(ctx.user):
        raise DavRefusal(HTTP_LOCKED, _("“%(name)s” is locked by someone else.") % {"name": node.name})


def changeable(node: Node, ctx: DavContext) -> Folder | Document:
    """The object behind `node`, if the person may change it."""
    require_change(node, ctx)
    if isinstance(node, FileNode):
        return Document.objects.select_related("space__organisation", "folder").get(pk=node.info.doc_id)
    assert isinstance(node, FolderNode)
    return node.folder


def destination(
    ctx: DavContext, dest_path: str, source: FolderNode | FileNode
) -> tuple[FolderNode, str, Node | None]:
    """Where a MOVE or COPY goes: a folder the person writes in, in the same space."""
    try:
        parent = ctx.resolve(parent_of(normalize(dest_path)))
        existing = ctx.resolve(dest_path)
    except Refused:
        raise DAVError(HTTP_FORBIDDEN) from None
    if parent is None:
        raise DAVError(HTTP_NOT_FOUND)
    if not isinstance(parent, FolderNode) or not parent.writable:
        raise DAVError(HTTP_FORBIDDEN)
    if parent.space.pk != source.space.pk:
        raise DAVError(HTTP_BAD_GATEWAY, "Documents move and copy only inside their space.")
    return parent, _name(dest_path), existing


# --- Resources ----------------------------------------------------------------------------------


class Resource:
    """What every resource of the tree shares (mixed in before wsgidav's base classes)."""

    node: Node
    environ: Environ
    provider: "ParvisProvider"

    @property
    def ctx(self) -> DavContext:
        return context(self.environ)

    def get_creation_date(self) -> float | None:
        return _timestamp(self.node.created_at)

    def get_last_modified(self) -> float | None:
        return _timestamp(self.node.modified_at)

    def get_display_name(self) -> str:
        return self.node.display_name

    def prevent_locking(self) -> bool:
        """Only where she writes: a reader's lock would keep the writers out."""
        return not self.node.lockable

    def get_property_value(self, name: str) -> Any:
        if name == "{DAV:}getetag":  # RFC 4918 §15.6: the entity-tag, quotes included
            etag = self.get_etag()  # type: ignore[attr-defined]
            if etag is None:
                raise DAVError(HTTP_NOT_FOUND)
            return f'"{etag}"'
        return super().get_property_value(name)  # type: ignore[misc]

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        if not self.node.lockable:
            raise DAVError(HTTP_FORBIDDEN)
        return super().set_property_value(name, value, dry_run=dry_run)  # type: ignore[misc]

    def _release_locks(self, path: str) -> None:
        manager = self.provider.lock_manager
        if manager is not None:
            manager.remove_all_locks_from_url(propfind.lock_url(Node(normalize(path))), recursive=True)


class _Collection(Resource, DAVCollection):
    def __init__(self, node: Node, environ: Environ) -> None:
        DAVCollection.__init__(self, node.path, environ)
        self.node = node

    def get_member_names(self) -> list[str]:
        return [child.name for child in self.ctx.children(self.node)]

    def get_member(self, name: str) -> "Resource | None":
        try:
            return wrap(self.ctx.resolve(join(self.node.path, name)), self.environ)
        except Refused:
            return None

    def get_member_list(self) -> list["Resource"]:
        return [wrap(child, self.environ) for child in self.ctx.children(self.node)]  # type: ignore[misc]

    def create_empty_resource(self, name: str) -> DAVNonCollection:
        raise DAVError(HTTP_FORBIDDEN)

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN)

    def handle_delete(self) -> bool:
        raise DAVError(HTTP_FORBIDDEN)

    def handle_move(self, dest_path: str) -> bool:
        raise DAVError(HTTP_FORBIDDEN)

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        raise DAVError(HTTP_FORBIDDEN)

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN)

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        raise DAVError(HTTP_FORBIDDEN)


class RootResource(_Collection):
    """/dav/: the person's organisations."""


class OrgResource(_Collection):
    """/dav/<org>/: its spaces with documents she may read."""


class _Writes(Resource):
    """DELETE, MOVE and COPY of a folder or a file, natively."""

    node: FolderNode | FileNode  # type: ignore[assignment]

    def handle_delete(self) -> bool:
        manager = self.provider.lock_manager
        if manager is not None:  # wsgidav checks only the parent's locks before handing over
            manager.check_write_permission(
                url=self.get_ref_url(),  # type: ignore[attr-defined]
                depth="infinity",
                token_list=self.environ.get("wsgidav.ifLockTokenList", []),
                principal=self.environ["wsgidav.user_name"],
            )
        item = changeable(self.node, self.ctx)
        with refusals():
            actions.trash(self.ctx.actor, item)
        self._release_locks(self.node.path)
        self.ctx.forget()
        return True

    def delete(self) -> None:
        self.handle_delete()

    def handle_move(self, dest_path: str) -> bool:
        ctx = self.ctx
        item = changeable(self.node, ctx)
        parent, name, existing = destination(ctx, dest_path, self.node)
        if existing is not None and existing.key == self.node.key:
            existing = None  # the same file under another spelling (accents composed or not)
        if existing is not None and self.node.path.startswith(existing.path + "/"):
            raise DAVError(HTTP_CONFLICT)  # overwriting a folder that holds the source
        self.environ["parvis.dav.created"] = existing is None
        with transaction.atomic(), refusals():
            if existing is not None:
                actions.trash(ctx.actor, changeable(existing, ctx))
            here = item.parent_id if isinstance(item, Folder) else item.folder_id
            if here == parent.folder.pk:
                actions.rename(ctx.actor, item, name)
            else:
                actions.move(ctx.actor, item, parent.folder, name)
        self._release_locks(self.node.path)
        if existing is not None:
            self._release_locks(dest_path)
        ctx.forget()
        return True

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        ctx = self.ctx
        node = self.node
        source: Folder | Document
        if isinstance(node, FileNode):
            if not node.downloadable:  # a copy would be a way out of blocked downloads
                raise DAVError(HTTP_FORBIDDEN)
            source = Document.objects.select_related("current").get(pk=node.info.doc_id)
        elif node.is_space_root:
            raise DAVError(HTTP_FORBIDDEN)
        else:
            source = node.folder
        parent, name, existing = destination(ctx, dest_path, node)
        self.environ["parvis.dav.created"] = existing is None
        with transaction.atomic(), refusals():
            if existing is not None:
                actions.trash(ctx.actor, changeable(existing, ctx))
            if isinstance(source, Folder) and not depth_infinity:
                made: Folder | Document = actions.create_folder(ctx.actor, parent.folder, name)
            else:
                made = actions.copy(ctx.actor, source, parent.folder, name)
            copy_keyed(node.key, f"{'folder' if isinstance(made, Folder) else 'document'}:{made.pk}")
        if existing is not None:
            self._release_locks(dest_path)
        ctx.forget()
        return True

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        raise DAVError(HTTP_FORBIDDEN)  # never reached: MOVE and COPY are handled natively


class FolderResource(_Writes, _Collection):
    """A folder, or a space's top folder."""

    node: FolderNode

    def _writable(self) -> FolderNode:
        if not self.node.writable:
            raise DAVError(HTTP_FORBIDDEN)
        return self.node

    def create_collection(self, name: str) -> None:
        folder = self._writable().folder
        with refusals():
            actions.create_folder(self.ctx.actor, folder, _name(name))
        self.ctx.forget()

    def create_empty_resource(self, name: str) -> DAVNonCollection:
        """PUT of a new file: nothing is stored before its bytes have arrived. LOCK of an unmapped
        URL (RFC 4918 §7.3): an empty file, stored now."""
        node = self._writable()
        name = _name(name)
        if self.environ["REQUEST_METHOD"] != "LOCK":
            return NewFileResource(join(node.path, name), self.environ, node, name)
        with refusals():
            actions.store_bytes(self.ctx.actor, node.folder, name, b"")
        self.ctx.forget()
        created = self.ctx.resolve(join(node.path, name))
        assert isinstance(created, FileNode)
        return FileResource(created, self.environ)

    def handle_delete(self) -> bool:
        if self.node.is_space_root:
            raise DAVError(HTTP_FORBIDDEN)
        return super().handle_delete()

    def handle_move(self, dest_path: str) -> bool:
        if self.node.is_space_root:
            raise DAVError(HTTP_FORBIDDEN)
        return super().handle_move(dest_path)


class _Upload(Resource):
    """PUT: the body goes to a spool file in large blocks, hashed on the way; `store_spool`
    then renames it into the store and records the version."""

    _spool: SpoolFile | None = None

    def _target(self) -> tuple[FolderNode | FileNode, Folder, str]:
        raise NotImplementedError

    def begin_write(self, *, content_type: str | None = None) -> "Sink":
        node, _folder, _name = self._target()
        organisation = node.space.organisation
        length = self.environ.get("CONTENT_LENGTH", "")
        if length.isdigit():
            with refusals():  # refuse before reading a byte: too big, or no room left
                actions.check_quota(organisation, int(length))
        self._spool = blob_store().spool()
        return Sink(self._spool, organisation)

    def end_write(self, *, with_errors: bool) -> None:
        spool, self._spool = self._spool, None
        if spool is None:
            return
        if with_errors:
            spool.discard()
            return
        _node, folder, name = self._target()
        try:
            with refusals():
                stored = actions.store_spool(
                    self.ctx.actor, folder, name, spool, modified_at=self._client_mtime()
                )
        finally:
            spool.discard()
        self.info = FileInfo.from_document(stored.document)
        self.ctx.forget()

    def _client_mtime(self) -> datetime.datetime | None:
        """X-OC-Mtime (seconds since the epoch), as Nextcloud clients and rclone send it."""
        value = self.environ.get("HTTP_X_OC_MTIME", "").strip()
        if not value.isdigit():
            return None
        self.environ["parvis.dav.mtime"] = True
        return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)

    info: FileInfo | None = None

    def get_etag(self) -> str | None:
        return self.info.sha if self.info else None

    def support_etag(self) -> bool:
        return True


class Sink:
    """Where wsgidav writes a PUT body; past the size limit it stops with the French 413."""

    def __init__(self, spool: SpoolFile, organisation: Any) -> None:
        self.spool = spool
        self.organisation = organisation

    def write(self, data: bytes) -> None:
        self.spool.write(data)
        if self.spool.size > settings.PARVIS_MAX_FILE_BYTES:
            with refusals():
                actions.check_quota(self.organisation, self.spool.size)

    def close(self) -> None:
        """The spool is finished (fsynced) by `store_spool`, or discarded."""


class FileResource(_Writes, _Upload, DAVNonCollection):
    node: FileNode

    def __init__(self, node: FileNode, environ: Environ) -> None:
        DAVNonCollection.__init__(self, node.path, environ)
        self.node = node
        self.info = node.info

    def _target(self) -> tuple[FileNode, Folder, str]:
        require_change(self.node, self.ctx)  # 403, or 423 for a web lock, before reading the body
        return self.node, self.node.folder, self.node.name

    def get_content_length(self) -> int:
        return self.info.size if self.info else 0

    def get_content_type(self) -> str:
        return self.node.info.mime_type

    def get_content(self) -> Any:
        """Only HEAD/GET read content, and they go through `views.common.serve` before wsgidav;
        this stays for completeness."""
        if not self.node.downloadable:
            raise DAVError(HTTP_FORBIDDEN)
        if not self.node.info.sha:
            return io.BytesIO(b"")
        return blob_store().open(self.node.info.sha)

    def support_ranges(self) -> bool:
        return True


class NewFileResource(_Upload, DAVNonCollection):
    """The target of a PUT that creates a file, until its bytes are stored."""

    def __init__(self, path: str, environ: Environ, parent: FolderNode, name: str) -> None:
        DAVNonCollection.__init__(self, path, environ)
        self.node = parent
        self.parent = parent
        self.new_name = name

    def _target(self) -> tuple[FolderNode, Folder, str]:
        if not self.parent.writable:
            raise DAVError(HTTP_FORBIDDEN)
        return self.parent, self.parent.folder, self.new_name

    def get_content_length(self) -> int:
        return self.info.size if self.info else 0

    def get_content(self) -> Any:
        return io.BytesIO(b"")

    def prevent_locking(self) -> bool:
        return False


# --- Provider -----------------------------------------------------------------------------------


class ParvisProvider(DAVProvider):
    """One provider for the whole mount: organisations, spaces, folders, files."""

    def __init__(self, lock_storage: DbLockStorage) -> None:
        super().__init__()
        self.lock_storage = lock_storage

    def get_resource_inst(self, path: str, environ: Environ) -> Resource | None:
        try:
            return wrap(context(environ).resolve(path), environ)
        except Refused:
            raise DAVError(HTTP_FORBIDDEN) from None

    def custom_request_handler(
        self, environ: Environ, start_response: StartResponse, default_handler: Callable[..., Iterable[bytes]]
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method == "PROPFIND" and propfind.handles(environ):
            return propfind.propfind(environ, start_response, self.lock_storage, self.mount_path)
        if method == "LOCK":
            self._refuse_web_lock(environ)
        if method == "PROPPATCH":
            self._refuse_readers(environ)
        if method in ("PUT", "COPY", "MOVE"):
            start_response = _amended(environ, start_response)
        return default_handler(environ, start_response)

    def _refuse_readers(self, environ: Environ) -> None:
        """PROPPATCH where she only reads: a plain 403, as for every other write (wsgidav would
        answer 207 with a 403 per property)."""
        resource = self.get_resource_inst(environ["PATH_INFO"], environ)
        if resource is not None and not resource.node.lockable:
            raise DAVError(HTTP_FORBIDDEN)

    def _refuse_web_lock(self, environ: Environ) -> None:
        """A document someone locked on the web cannot be locked over WebDAV either (423)."""
        try:
            node = context(environ).resolve(environ["PATH_INFO"])
        except Refused:
            raise DAVError(HTTP_FORBIDDEN) from None
        if isinstance(node, FileNode) and node.writable and node.locked_by_other(context(environ).user):
            raise DavRefusal(HTTP_LOCKED, _("“%(name)s” is locked by someone else.") % {"name": node.name})


def _amended(environ: Environ, start_response: StartResponse) -> StartResponse:
    """wsgidav answers 204 to every natively handled COPY/MOVE: a new destination is 201
    (RFC 4918 §9.8.5). A PUT that honoured X-OC-Mtime says so, as Nextcloud does."""

    def amend(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if environ.get("parvis.dav.created") and status.startswith("204"):
            status = "201 Created"
        if environ.get("parvis.dav.mtime"):
            headers = [*headers, ("X-OC-MTime", "accepted")]
        return start_response(status, headers, exc_info)

    return amend
