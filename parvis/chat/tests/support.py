"""What the discussion's tests share: the world with the tool on, Channels' WebsocketCommunicator
on the real ASGI application, and a harness that lets consumers' writes "commit".

Why the harness: pytest-django's `db` runs each test inside a transaction that is rolled back,
and `transactional_db` cannot be used (the audit table's triggers refuse the flush). Consumers
reach the database through Channels' thread-sensitive `database_sync_to_async`, so when a
scenario is driven with `async_to_sync` from the test's thread, their queries run on the test's
connection and see the test's world. Channels wraps each of those calls in
`close_old_connections()`; the harness replaces it with what a real commit would do at that
point: run the after-commit callbacks the call left (the events to send). The test's outer
transaction never commits, so without it no event would ever leave an action.
"""

import importlib
import json
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection
from django.test import Client

from parvis.core.tests.factories import World


def _communicator_class() -> type:
    """Channels' own WebsocketCommunicator. Its package `channels.testing` also imports the
    live-server helpers, which need daphne (not installed: Parvis runs under uvicorn); the
    module is loaded from that package's folder without them."""
    try:
        from channels.testing import WebsocketCommunicator

        return WebsocketCommunicator  # type: ignore[no-any-return]
    except ImportError:
        import channels

        package = types.ModuleType("channels.testing")
        package.__path__ = [str(Path(channels.__file__).parent / "testing")]
        sys.modules["channels.testing"] = package
        module = importlib.import_module("channels.testing.websocket")
        package.WebsocketCommunicator = module.WebsocketCommunicator  # type: ignore[attr-defined]
        package.ApplicationCommunicator = importlib.import_module(  # type: ignore[attr-defined]
            "channels.testing.application"
        ).ApplicationCommunicator
        return module.WebsocketCommunicator  # type: ignore[no-any-return]


WebsocketCommunicator = _communicator_class()


def chat_on(w: World) -> World:
    """The discussion (and the documents, for attachments) on in every space of the world."""
    from parvis.spaces.models import Space

    for space in Space.objects.all():
        space.tools = ["documents", "chat"]
        space.save(update_fields=["tools"])
    for name in ("council", "commission", "rh", "ecole", "other_space"):
        getattr(w, name).refresh_from_db()
    return w


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class Socket:
    """A browser's websocket to /ws/discussion/<id>/, through the whole ASGI application (origin
    check, session cookie, routing), driven by Channels' WebsocketCommunicator."""

    def __init__(self, conversation_id: int, key: str | None, path: str | None = None) -> None:
        from parvis.asgi import application

        headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
        if key:
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
        self.path = path or f"/ws/discussion/{conversation_id}/"
        self.ws = WebsocketCommunicator(application, self.path, headers=headers)

    async def connect(self) -> dict[str, Any]:
        """Open it; returns the first frame (`ready`, or the close)."""
        connected, _subprotocol = await self.ws.connect(timeout=5)
        assert connected
        return await self.receive()

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        out = await self.ws.receive_output(timeout)
        if out["type"] == "websocket.close":
            return {"type": "closed", "code": out.get("code", 1000)}
        assert out["type"] == "websocket.send", out
        return dict(json.loads(out["text"]))

    async def until(self, kind: str, timeout: float = 5) -> dict[str, Any]:
        """The next frame of this type (others before it are skipped)."""
        while True:
            frame = await self.receive(timeout)
            if frame["type"] == kind or frame["type"] == "closed":
                return frame

    async def send(self, **frame: Any) -> None:
        await self.ws.send_to(text_data=json.dumps(frame))

    async def nothing_more(self, timeout: float = 0.3) -> bool:
        return bool(await self.ws.receive_nothing(timeout))

    async def close(self) -> None:
        await self.ws.disconnect()


def _run_pending_callbacks() -> None:
    if not connection.in_atomic_block:
        return
    pending, connection.run_on_commit = connection.run_on_commit, []
    for _savepoints, callback, _robust in pending:
        callback()


@contextmanager
def consumer_commits() -> Iterator[None]:
    """While it lasts, each database call of a consumer ends as a commit would: its
    after-commit callbacks run (see the module's docstring)."""
    from asgiref.sync import SyncToAsync
    from channels.db import DatabaseSyncToAsync

    def thread_handler(self: Any, loop: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return SyncToAsync.thread_handler(self, loop, *args, **kwargs)
        finally:
            _run_pending_callbacks()

    with (
        mock.patch("channels.db.close_old_connections", return_value=None),
        mock.patch.object(DatabaseSyncToAsync, "thread_handler", thread_handler),
    ):
        yield


@pytest.fixture
def realtime() -> Iterator[Callable[[Callable[[], Any]], None]]:
    """Run an async scenario against the consumers inside the test's transaction."""

    def run(scenario: Callable[[], Any]) -> None:
        async_to_sync(scenario)()

    with consumer_commits():
        yield run


def committed(action: Callable[[], Any]) -> Any:
    """Run a request or an action in the test's thread, then its after-commit callbacks."""

    def inner() -> Any:
        result = action()
        _run_pending_callbacks()
        return result

    return sync_to_async(inner)()
