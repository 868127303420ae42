"""The /dav/ mount, as one ASGI application that parvis/asgi.py dispatches to.

    GET, HEAD        → DownloadHandler (Django's ASGI machinery, `serve()`), see downloads.py
    everything else  → wsgidav (our provider, DB locks, DB dead properties) through a2wsgi,
                       which streams request bodies and runs the WSGI app in a thread pool
                       (asgiref's WsgiToAsgi would buffer whole uploads first)

and, at the server root, the probes of Windows' WebDAV redirector (OPTIONS / and PROPFIND /,
sent before it even looks at /dav/), answered with DAV headers instead of the web's redirect.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.utils import translation
from wsgidav import util
from wsgidav.dav_error import DAVError, get_http_status_string
from wsgidav.mw.base_mw import BaseMiddleware
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from parvis.core.policies import remembered

from . import locks
from .auth import CHALLENGE, REALM, authenticate, sign_in_hint
from .downloads import MOUNT, DownloadHandler
from .locks import DbLockStorage
from .properties import DbPropertyManager
from .provider import DavRefusal, ParvisProvider
from .tree import DavContext

logger = logging.getLogger(__name__)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class Authenticate(BaseMiddleware):
    """HTTP Basic with an app password (auth.py); wsgidav's authenticator, built for its own
    user lists and digest, is left out of the stack."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        address = environ.get("REMOTE_ADDR") or None
        user = authenticate(environ.get("HTTP_AUTHORIZATION"), address)
        if user is None:
            data = sign_in_hint().encode("utf-8")
            start_response(
                "401 Unauthorized",
                [
                    ("WWW-Authenticate", CHALLENGE),
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(data))),
                ],
            )
            return [data]
        environ["wsgidav.auth.user_name"] = str(user.pk)  # the principal that owns locks
        environ["wsgidav.auth.realm"] = REALM
        environ["parvis.dav"] = DavContext(user, address)
        return self.next_app(environ, start_response)  # type: ignore[no-any-return]


class Errors(BaseMiddleware):
    """A DAVError becomes its status, with the French message of a refusal or the XML
    condition RFC 4918 asks for (e.g. the conflicting lock); any other exception is logged and
    answered 500, without a word of it in the body."""

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        inner = util.SubAppStartResponse()
        started = False
        try:
            iterator = self.next_app(environ, inner)
            try:
                for chunk in iterator:
                    if not started:
                        start_response(inner.status, inner.response_headers, inner.exc_info)
                        started = True
                    yield chunk
            finally:
                if hasattr(iterator, "close"):
                    iterator.close()
            if not started:
                start_response(inner.status, inner.response_headers, inner.exc_info)
            return
        except DAVError as error:
            failure = error
        except Exception:
            logger.exception("WebDAV request failed")
            failure = DAVError(500)
        if started:
            raise RuntimeError("WebDAV response failed after it started")  # the server cuts it
        yield from _error(failure, start_response)


def _error(error: DAVError, start_response: StartResponse) -> Iterator[bytes]:
    status = get_http_status_string(error)
    if error.value in (204, 304):
        start_response(status, [("Content-Length", "0")])
        yield b""
        return
    if isinstance(error, DavRefusal):
        content_type, body = error.get_response_page()
    elif error.err_condition is not None:
        content_type, body = "application/xml; charset=utf-8", error.err_condition.as_string().encode("utf-8")
    else:
        content_type, body = "text/plain; charset=utf-8", status.encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Date", util.get_rfc1123_time()),
            *(error.add_headers or []),
        ],
    )
    yield body if error.add_body else b""


class DjangoRequest:
    """Around the WSGI app, what Django's own handlers do for a request: its signals (which
    close stale database connections in this worker thread) and the language."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        request_started.send(sender=self.__class__, environ=environ)
        translation.activate(settings.LANGUAGE_CODE)
        try:
            # A DAV request never changes rights: whatever its method, they are read once.
            with locks.per_request(), remembered():
                yield from self.app(environ, start_response)
        finally:
            translation.deactivate()
            request_finished.send(sender=self.__class__)


def wsgidav_app() -> WsgiDAVApp:
    storage = DbLockStorage()
    return WsgiDAVApp(
        {
            "provider_mapping": {"/": ParvisProvider(storage)},
            "mount_path": MOUNT,
            "lock_storage": storage,
            "property_manager": DbPropertyManager(),
            "middleware_stack": [Errors, Authenticate, RequestResolver],
            "http_authenticator": {"accept_basic": False, "accept_digest": False, "default_to_digest": False},
            "add_header_MS_Author_Via": True,
            "block_size": settings.PARVIS_DAV_BLOCK_BYTES,
            "verbose": 1,
            "logging": {"enable": False},
            "suppress_version_info": True,
        }
    )


class DavMount:
    """/dav and everything below it."""

    def __init__(self) -> None:
        self.dav = WSGIMiddleware(DjangoRequest(wsgidav_app()), workers=settings.PARVIS_DAV_WORKERS)  # type: ignore[arg-type]
        self.downloads = DownloadHandler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == MOUNT:
            scope = {**scope, "path": MOUNT + "/"}
        if scope["method"] in ("GET", "HEAD"):
            await self.downloads(scope, receive, send)
        else:
            await self.dav({**scope, "root_path": scope.get("root_path", "") + MOUNT}, receive, send)  # type: ignore[arg-type]


ROOT_PROPFIND = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:"><D:response><D:href>/</D:href>'
    b"<D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:displayname>Parvis</D:displayname>"
    b"</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"
)


def is_probe(scope: Scope) -> bool:
    return scope["path"] == "/" and scope["method"] in ("OPTIONS", "PROPFIND")


async def windows_probe(scope: Scope, receive: Receive, send: Send) -> None:
    """OPTIONS / and PROPFIND / as the Mini-Redirector expects them: DAV headers, and a
    minimal 207 for the root. Nothing behind credentials is revealed here."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if not message.get("more_body"):
            break
    headers = [
        (b"dav", b"1, 2"),
        (b"ms-author-via", b"DAV"),
        (b"allow", b"OPTIONS, PROPFIND"),
    ]
    if scope["method"] == "OPTIONS":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [*headers, (b"content-length", b"0")]}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 207,
            "headers": [
                *headers,
                (b"content-type", b"application/xml; charset=utf-8"),
                (b"content-length", str(len(ROOT_PROPFIND)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": ROOT_PROPFIND})
