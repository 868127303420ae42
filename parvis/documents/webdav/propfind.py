"""PROPFIND at depth 0 and 1, answered without wsgidav's generic machinery.

wsgidav builds one resource object per child, asks each for each property one by one (the
lock manager and the property manager query once per child and property) and assembles an lxml
tree. For a folder of 10,000 files that is tens of thousands of queries and calls. Here the
children come from one listing (tree.DavContext.children), their dead properties and locks from
one query each, and the multistatus is written as text directly.

Supported: allprop (RFC 4918 live properties, locks and dead properties), propname, and prop
with any names (those a resource does not have answer in a 404 propstat). Everything else —
Depth: infinity, conditional headers — is left to wsgidav.
"""

import datetime
import time
from collections.abc import Callable, Iterable
from html import escape
from typing import Any
from urllib.parse import quote

from wsgidav import util
from wsgidav.dav_error import HTTP_BAD_REQUEST, HTTP_NOT_FOUND, DAVError

from .locks import DbLockStorage, Lock
from .properties import properties_in_folder, properties_of
from .tree import DavContext, FileNode, FolderNode, Node, Refused

DAV = "{DAV:}"
HREF_SAFE = "/!*'(),$-_|."  # as wsgidav's get_href: some clients choke on "%28"
CONDITIONAL = (
    "HTTP_IF",
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
)
LOCK_NAMES = ("lockdiscovery", "supportedlock")
LIVE_NAMES = (
    "resourcetype",
    "creationdate",
    "getcontentlength",
    "getcontenttype",
    "getlastmodified",
    "displayname",
    "getetag",
)
SUPPORTED_LOCK = (
    "<D:supportedlock>"
    "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
    "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
    "</D:supportedlock>"
)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UTC = datetime.UTC

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def handles(environ: Environ) -> bool:
    """Is this a PROPFIND this module answers?"""
    return environ.get("HTTP_DEPTH", "infinity") in ("0", "1") and not any(h in environ for h in CONDITIONAL)


def http_date(moment: datetime.datetime) -> str:
    """RFC 1123, independent of the locale (strftime's %a and %b are not)."""
    t = moment.astimezone(UTC)
    return (
        f"{DAYS[t.weekday()]}, {t.day:02d} {MONTHS[t.month - 1]} {t.year} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} GMT"
    )


def iso_date(moment: datetime.datetime) -> str:
    t = moment.astimezone(UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def href(mount: str, node: Node) -> str:
    path = node.path if node.path != "/" else ""
    return quote(f"{mount}{path}/" if node.is_collection else f"{mount}{path}", safe=HREF_SAFE)


def lock_url(node: Node) -> str:
    """The node's ref-URL as the lock manager stores it (quoted, no trailing slash)."""
    return quote(node.path)


def split(clark: str) -> tuple[str, str]:
    if clark.startswith("{"):
        namespace, _, local = clark[1:].partition("}")
        return namespace, local
    return "", clark


def empty(clark: str) -> str:
    """An empty element for a property name in Clark notation."""
    namespace, local = split(clark)
    if namespace == "DAV:":
        return f"<D:{local}/>"
    return f'<x:{local} xmlns:x="{escape(namespace)}"/>' if namespace else f'<{local} xmlns=""/>'


def parse_request(environ: Environ) -> tuple[str, list[str]]:
    """("allprop" | "name" | "named", names) from the body, as wsgidav's do_PROPFIND reads it."""
    body = util.parse_xml_body(environ, allow_empty=True)
    if body is None:
        return "allprop", []
    if body.tag != "{DAV:}propfind":
        raise DAVError(HTTP_BAD_REQUEST)
    mode, names = "", []
    for child in body:
        if child.tag == "{DAV:}allprop" and not mode:
            mode = "allprop"
        elif child.tag == "{DAV:}name" and not mode:
            mode = "name"
        elif child.tag == "{DAV:}prop" and mode in ("", "named"):
            mode = "named"
            names.extend(prop.tag for prop in child if isinstance(prop.tag, str))
        elif child.tag in ("{DAV:}allprop", "{DAV:}name", "{DAV:}prop"):
            raise DAVError(HTTP_BAD_REQUEST)  # allprop, propname and prop exclude each other
    return mode or "allprop", names


class Renderer:
    """Writes the <D:response> of each node."""

    def __init__(
        self,
        mount: str,
        dead: dict[str, list[tuple[str, str]]],
        locks: dict[str, list[Lock]],
    ) -> None:
        self.mount = mount
        self.dead = dead
        self.locks = locks
        self.now = time.time()
        self._split: dict[str, tuple[str, str]] = {}

    def split(self, clark: str) -> tuple[str, str]:
        """`split`, remembered: the same names are asked of every child."""
        found = self._split.get(clark)
        if found is None:
            found = self._split[clark] = split(clark)
        return found

    # Live properties: name → XML, or None when the node does not have it.
    def live(self, node: Node, local: str) -> str | None:
        if local == "resourcetype":
            return (
                "<D:resourcetype><D:collection/></D:resourcetype>"
                if node.is_collection
                else "<D:resourcetype/>"
            )
        if local == "displayname":
            return f"<D:displayname>{escape(node.display_name, quote=False)}</D:displayname>"
        if local == "creationdate":
            return (
                f"<D:creationdate>{iso_date(node.created_at)}</D:creationdate>" if node.created_at else None
            )
        if local == "getlastmodified":
            moment = node.modified_at
            return f"<D:getlastmodified>{http_date(moment)}</D:getlastmodified>" if moment else None
        if isinstance(node, FileNode):
            if local == "getcontentlength":
                return f"<D:getcontentlength>{node.info.size}</D:getcontentlength>"
            if local == "getcontenttype":
                return f"<D:getcontenttype>{escape(node.info.mime_type, quote=False)}</D:getcontenttype>"
            if local == "getetag" and node.etag:
                return f'<D:getetag>"{node.etag}"</D:getetag>'
        if local == "lockdiscovery":
            return self.lockdiscovery(node)
        if local == "supportedlock":
            return SUPPORTED_LOCK if node.lockable else "<D:supportedlock/>"
        return None

    def lockdiscovery(self, node: Node) -> str:
        active = self.locks.get(lock_url(node), [])
        if not active:
            return "<D:lockdiscovery/>"
        parts = ["<D:lockdiscovery>"]
        for lock in active:
            owner = lock["owner"].decode("utf-8") if isinstance(lock["owner"], bytes) else lock["owner"]
            if owner.startswith("<?xml"):
                owner = owner.split("?>", 1)[1]
            remaining = int(lock["expire"] - self.now) if lock["expire"] >= 0 else None
            parts.append(
                f"<D:activelock><D:locktype><D:{lock['type']}/></D:locktype>"
                f"<D:lockscope><D:{lock['scope']}/></D:lockscope><D:depth>{lock['depth']}</D:depth>"
                f"{owner}<D:timeout>{'Infinite' if remaining is None else f'Second-{remaining}'}</D:timeout>"
                f"<D:locktoken><D:href>{escape(lock['token'])}</D:href></D:locktoken>"
                f"<D:lockroot><D:href>{href(self.mount, node)}</D:href></D:lockroot></D:activelock>"
            )
        parts.append("</D:lockdiscovery>")
        return "".join(parts)

    def names(self, node: Node) -> list[str]:
        """What allprop and propname list for this node."""
        found = [f"{DAV}{local}" for local in LIVE_NAMES if self.live(node, local) is not None]
        if node.lockable:
            found += [f"{DAV}{local}" for local in LOCK_NAMES]
        found += [name for name, _value in self.dead.get(node.key, [])]
        return found

    def response(self, node: Node, mode: str, requested: list[str]) -> str:
        ok: list[str] = []
        missing: list[str] = []
        if mode == "name":
            ok = [empty(name) for name in self.names(node)]
        else:
            dead = dict(self.dead.get(node.key, []))
            for name in self.names(node) if mode == "allprop" else requested:
                namespace, local = self.split(name)
                value = self.live(node, local) if namespace == "DAV:" else dead.get(name)
                if value is None:
                    missing.append(empty(name))
                else:
                    ok.append(value)
        parts = [f"<D:response><D:href>{href(self.mount, node)}</D:href>"]
        if ok or not missing:
            parts.append(
                f"<D:propstat><D:prop>{''.join(ok)}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
            )
        if missing:
            parts.append(
                f"<D:propstat><D:prop>{''.join(missing)}</D:prop>"
                "<D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>"
            )
        parts.append("</D:response>")
        return "".join(parts)


def _dead_properties(node: Node, nodes: list[Node], depth: str) -> dict[str, list[tuple[str, str]]]:
    if depth == "1" and isinstance(node, FolderNode):
        return properties_in_folder(node.folder, [node.key])
    return properties_of(n.key for n in nodes)


def _locks(storage: DbLockStorage, node: Node, depth: str) -> dict[str, list[Lock]]:
    if node.path == "/" and depth == "1":
        return {}  # neither the top nor the organisations can be locked
    if depth == "1":
        return storage.locks_below(lock_url(node))
    return {
        lock_url(node): storage.get_lock_list(
            lock_url(node), include_root=True, include_children=False, token_only=False
        )
    }


def propfind(
    environ: Environ, start_response: StartResponse, storage: DbLockStorage, mount: str
) -> Iterable[bytes]:
    context: DavContext = environ["parvis.dav"]
    try:
        node = context.resolve(environ["PATH_INFO"])
    except Refused:
        raise DAVError(403) from None
    if node is None:
        raise DAVError(HTTP_NOT_FOUND)
    mode, requested = parse_request(environ)
    depth = environ["HTTP_DEPTH"]
    nodes = [node, *context.children(node)] if depth == "1" and node.is_collection else [node]
    renderer = Renderer(mount, _dead_properties(node, nodes, depth), _locks(storage, node, depth))
    body = "".join(
        [
            '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">',
            *(renderer.response(n, mode, requested) for n in nodes),
            "</D:multistatus>",
        ]
    ).encode("utf-8")
    start_response(
        "207 Multi-Status",
        [
            ("Content-Type", "application/xml; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Date", util.get_rfc1123_time()),
        ],
    )
    return [body]
