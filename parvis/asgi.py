"""One ASGI application: Django views over HTTP, Channels consumers over websockets, and the
WebDAV mount at /dav/ (with the Windows redirector's probes at the server root)."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parvis.settings")
django_asgi = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from parvis.documents.webdav.app import DavMount, is_probe, windows_probe  # noqa: E402
from parvis.routing import websocket_urlpatterns  # noqa: E402

dav = DavMount()


async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/dav/… → WebDAV; OPTIONS or PROPFIND / → the Windows probe; everything else → Django."""
    path = scope["path"]
    if path == "/dav" or path.startswith("/dav/"):
        await dav(scope, receive, send)
    elif is_probe(scope):
        await windows_probe(scope, receive, send)
    else:
        await django_asgi(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
