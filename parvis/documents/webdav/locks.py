"""WebDAV locks in the database (DavLock), for wsgidav's LockManager.

wsgidav's own storages are a dict (lost on restart, unseen by the other web processes) and a
shelve file (one process). Locks must hold across every process of the scale setup and
survive a restart, so the storage is the table, with the same contract as
`wsgidav.lock_man.lock_storage.LockStorageDict`: `root` is a normalized ref-URL ("/a/b", no
trailing slash), `expire` seconds since the epoch, `owner` the client's XML as bytes.

Prefix lookups are filtered again in Python: SQLite's LIKE ignores case, lock roots do not.

A single PUT makes wsgidav ask for the locks of the file and of each of its parents, a dozen
times in all. Within one request (`per_request()`, which the DAV app opens around each), the
locks of the request's top folder are read once and kept until the request writes a lock.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Q
from wsgidav.lock_man.lock_manager import generate_lock_token, normalize_lock_root, validate_lock
from wsgidav.lock_man.lock_storage import LockStorageDict

from ..models import DavLock

Lock = dict[str, Any]


def _as_dict(row: DavLock) -> Lock:
    return {
        "token": row.token,
        "root": row.root,
        "owner": row.owner.encode("utf-8"),
        "principal": row.principal,
        "scope": row.scope,
        "type": row.kind,
        "depth": row.depth,
        "timeout": row.timeout,
        "expire": row.expires_at,
    }


def _live(row: DavLock, now: float) -> bool:
    return row.expires_at < 0 or row.expires_at >= now


def _timeout(requested: float | None) -> float:
    if requested is None:
        return LockStorageDict.LOCK_TIME_OUT_DEFAULT
    if requested < 0 or requested > LockStorageDict.LOCK_TIME_OUT_MAX:
        return LockStorageDict.LOCK_TIME_OUT_MAX
    return float(requested)


_local = threading.local()


@contextmanager
def per_request() -> Iterator[None]:
    """Read each top folder's locks once while it lasts (one request, in its thread)."""
    _local.near = {}
    try:
        yield
    finally:
        _local.near = None


def _changed() -> None:
    if getattr(_local, "near", None) is not None:
        _local.near = {}


def _rows_near(path: str, children: bool) -> list[DavLock] | None:
    """Every lock on the root, on the top folder of `path` or below it, read once per request
    (for the root itself, its own locks only); None outside a request, or when the children
    of the root (everything) are asked for."""
    near = getattr(_local, "near", None)
    top = path.strip("/").split("/", 1)[0]
    if near is None or (not top and children):
        return None
    if top not in near:
        where = Q(root="/")
        if top:
            where |= Q(root="/" + top) | Q(root__startswith=f"/{top}/")
        near[top] = list(DavLock.objects.filter(where))
    return near[top]


class DbLockStorage:
    """A LockManager storage over the DavLock table."""

    def __repr__(self) -> str:
        return "DbLockStorage"

    def open(self) -> None:
        """Nothing to open: the table is there."""

    def close(self) -> None:
        """Nothing to close."""

    def cleanup(self) -> None:
        DavLock.objects.filter(expires_at__gte=0, expires_at__lt=time.time()).delete()
        _changed()

    def clear(self) -> None:
        DavLock.objects.all().delete()
        _changed()

    def get(self, token: str) -> Lock | None:
        row = DavLock.objects.filter(token=token).first()
        if row is None:
            return None
        if not _live(row, time.time()):
            row.delete()
            _changed()
            return None
        return _as_dict(row)

    def create(self, path: str, lock: Lock) -> Lock:
        assert lock.get("token") is None
        assert lock.get("expire") is None, "Use timeout instead of expire"
        lock["root"] = normalize_lock_root(path)
        lock["timeout"] = _timeout(lock.get("timeout"))
        lock["expire"] = time.time() + lock["timeout"]
        validate_lock(lock)
        lock["token"] = generate_lock_token()
        owner = lock["owner"]
        DavLock.objects.create(
            token=lock["token"],
            root=lock["root"],
            owner=owner.decode("utf-8") if isinstance(owner, bytes) else owner,
            principal=lock["principal"],
            scope=lock["scope"],
            kind=lock["type"],
            depth=lock["depth"],
            timeout=lock["timeout"],
            expires_at=lock["expire"],
        )
        _changed()
        return lock

    def refresh(self, token: str, *, timeout: float | None) -> Lock:
        row = DavLock.objects.get(token=token)
        row.timeout = _timeout(timeout)
        row.expires_at = time.time() + row.timeout
        DavLock.objects.filter(token=token).update(timeout=row.timeout, expires_at=row.expires_at)
        _changed()
        return _as_dict(row)

    def delete(self, token: str) -> bool:
        deleted, _ = DavLock.objects.filter(token=token).delete()
        _changed()
        return bool(deleted)

    def get_lock_list(
        self, path: str, *, include_root: bool, include_children: bool, token_only: bool
    ) -> list[Any]:
        assert include_root or include_children
        path = normalize_lock_root(path)
        below = "/" if path == "/" else path + "/"
        query = Q()
        if include_root:
            query |= Q(root=path)
        if include_children:
            query |= Q(root__startswith=below)
        now = time.time()
        found = []
        rows = _rows_near(path, include_children)
        for row in DavLock.objects.filter(query) if rows is None else rows:
            if not (row.root == path and include_root) and not (
                include_children and row.root.startswith(below) and row.root != path
            ):
                continue
            if not _live(row, now):
                row.delete()
                _changed()
                continue
            found.append(row.token if token_only else _as_dict(row))
        return found

    def locks_below(self, path: str) -> dict[str, list[Lock]]:
        """Every live lock on `path` and under it, by root: one query for a whole listing."""
        path = normalize_lock_root(path)
        below = "/" if path == "/" else path + "/"
        now = time.time()
        by_root: dict[str, list[Lock]] = {}
        for row in DavLock.objects.filter(Q(root=path) | Q(root__startswith=below)):
            if (row.root == path or row.root.startswith(below)) and _live(row, now):
                by_root.setdefault(row.root, []).append(_as_dict(row))
        return by_root
