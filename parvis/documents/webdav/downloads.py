"""GET and HEAD under /dav/, before wsgidav: a file leaves through `views.common.serve()`, the
same fast path as the web's downloads (presigned S3 URL, X-Accel-Redirect, or an async stream
with Range), never through wsgidav's 8 KiB read loop in a worker thread.

Same authentication, same tree and same rights as the rest of the mount. A collection answers
a short HTML list of what it holds, for someone who opens the address in a browser.
"""

import logging
from html import escape
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from parvis.core.audit import client_ip

from ..views.common import serve
from .auth import CHALLENGE, authenticate, sign_in_hint
from .propfind import HREF_SAFE
from .tree import DavContext, FileNode, Node, Refused

MOUNT = "/dav"
logger = logging.getLogger(__name__)


def unauthorized() -> HttpResponse:
    response = HttpResponse(
        sign_in_hint(),
        status=401,
        content_type="text/plain; charset=utf-8",
    )
    response["WWW-Authenticate"] = CHALLENGE
    return response


def download(request: HttpRequest) -> HttpResponse:
    """GET or HEAD of anything under /dav/."""
    translation.activate(settings.LANGUAGE_CODE)
    user = authenticate(request.META.get("HTTP_AUTHORIZATION"), client_ip(request))
    if user is None:
        return unauthorized()
    context = DavContext(user, client_ip(request))
    try:
        node = context.resolve(request.path[len(MOUNT) :] or "/")
    except Refused:
        return HttpResponse(status=403)
    if node is None:
        return HttpResponse(status=404)
    if not isinstance(node, FileNode):
        return listing(request, context, node)
    info = node.info
    if not node.downloadable or info.version is None:
        return HttpResponse(status=403)
    try:
        return serve(request, info.version, info.name, content_type=info.mime_type)
    except PermissionDenied:  # not yet cleared by the antivirus
        return HttpResponse(status=403)


def listing(request: HttpRequest, context: DavContext, node: Node) -> HttpResponse:
    items = "".join(
        f'<li><a href="{quote(MOUNT + child.path + ("/" if child.is_collection else ""), safe=HREF_SAFE)}">'
        f"{escape(child.display_name)}{'/' if child.is_collection else ''}</a></li>"
        for child in context.children(node)
    )
    title = escape(node.display_name if node.path != "/" else "Parvis")
    body = (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><ul>{items}</ul></body></html>"
    )
    response = HttpResponse(body if request.method == "GET" else b"", content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class DownloadHandler(ASGIHandler):
    """Django's ASGI handler without URL routing nor middleware: every request is `download`.
    Its streaming, disconnect handling and request signals (which close old database
    connections) are Django's own."""

    chunk_size = 1 << 20  # a file streams in 4 MiB reads; send it in 1 MiB messages, not 64 KiB

    def __init__(self) -> None:
        """No middleware to load (ASGIHandler's own __init__ would load the project's)."""

    async def get_response_async(self, request: HttpRequest) -> HttpResponse:
        try:
            response = await sync_to_async(download, thread_sensitive=True)(request)
        except Exception:
            logger.exception("WebDAV download failed")
            response = HttpResponse(status=500)
        response._resource_closers.append(request.close)  # type: ignore[attr-defined]
        return response
