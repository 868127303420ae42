"""One ASGI application: Django views over HTTP, Channels consumers over websockets, and the
WebDAV mount at /dav/ (with the Windows redirector's probes at the server root)."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.asgi import get_asgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parvis.settings")
django_asgi = get_asgi_application()

from asgiref.sync import AsyncToSync, ThreadSensitiveContext  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from parvis.documents.webdav.app import DavMount, is_probe, windows_probe  # noqa: E402
from parvis.routing import websocket_urlpatterns  # noqa: E402

dav = DavMount()


class Threads:
    """Threads lent to one request or one websocket connection at a time, for its synchronous
    work (Django's views, the consumers' database calls), and taken back after.

    Django gives each request a new thread, and asgiref starts a second one to stop it at the
    end: starting threads was a seventh of the process's time under load (py-spy during
    bench/g6_capacity.py), and each start holds up the event loop. A lent thread does one
    request (or serves one connection) at a time, as a WSGI worker's does.

    A request whose client went away ends normally while its view may still run in the thread:
    the thread is lent again, and the next request's work waits behind the view and behind
    Django's `request_finished` (which gives the database connection back). A request that
    ended by an exception (the server cancelling it at shutdown) is not lent again: its thread
    closes its database connections once its last work is done, then stops. With persistent
    connections (`DATABASE_CONN_MAX_AGE`, no pool) each idle thread may keep one: at most
    `IDLE_MAX`."""

    IDLE_MAX = 64

    def __init__(self) -> None:
        self.idle: list[ThreadPoolExecutor] = []

    @contextlib.asynccontextmanager
    async def lent(self) -> AsyncIterator[None]:
        executor = self.idle.pop() if self.idle else ThreadPoolExecutor(1, thread_name_prefix="parvis")
        async with ThreadSensitiveContext(executor=executor):
            try:
                yield
            except BaseException:
                executor.submit(connections.close_all)
                executor.shutdown(wait=False)
                raise
        if len(self.idle) < self.IDLE_MAX:
            self.idle.append(executor)
        else:
            executor.shutdown(wait=False)


threads = Threads()


async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """/dav/… → WebDAV; OPTIONS or PROPFIND / → the Windows probe; everything else → Django."""
    path = scope["path"]
    if path == "/dav" or path.startswith("/dav/"):
        await dav(scope, receive, send)
    elif is_probe(scope):
        await windows_probe(scope, receive, send)
    else:
        async with threads.lent():  # Django's own per-request context then uses this thread
            await django_asgi(scope, receive, send)


class ThreadOfItsOwn:
    """Each websocket connection's synchronous work (its session, its user, the database work of
    its consumer) in a thread of its own (lent by `threads`), as each HTTP request has. Without it every
    connection of the process shares one thread: with a few hundred people on their pages, a
    `read` or a `post` waited seconds behind everyone else's (bench/g6_capacity.py)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if asyncio.get_running_loop() in AsyncToSync.loop_thread_executors:
            # A loop run by `async_to_sync` from synchronous code (the tests' harness): that
            # code's thread, and its database connection, serve the connection as before.
            await self.app(scope, receive, send)
            return
        async with threads.lent():
            await self.app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": ThreadOfItsOwn(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
