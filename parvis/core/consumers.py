"""Websocket consumers of the core.

`AccessAwareConsumer` is the base of every real-time connection: it belongs to its user's and
its session's groups, so ending a session or losing access closes it at once (close code 4401 for
a session ended, 4403 for access lost). Tools subclass it and say what access they need.
"""

from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.sessions.models import Session

from parvis.core import events
from parvis.core.models import User, UserSession, public_session_id
from parvis.core.notify import unread_count

SESSION_ENDED = 4401
ACCESS_LOST = 4403


def _recorded(key: str) -> bool:
    """The sign-in of this session is on record, for an active person."""
    return UserSession.objects.filter(session_key=key, user__is_active=True).exists()


class AccessAwareConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups_joined: list[str]

    async def connect(self) -> None:
        # Accept first, then close with a reason: a refused handshake reaches the browser as a
        # bare 1006, and the page could not tell "signed out" from "network down".
        await self.accept()
        user = self.scope.get("user")
        key = getattr(self.scope.get("session"), "session_key", None)
        # A signed-in user here was read from a stored session that has not expired: only the
        # record of the sign-in is left to check.
        if user is None or not user.is_authenticated or not key or not await self._signed_in(key):
            await self.close(code=SESSION_ENDED)
            return
        if not await self.has_access():
            await self.close(code=ACCESS_LOST)
            return
        self.groups_joined = [events.user_group(user.pk), events.session_group(public_session_id(key))]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.on_accepted()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """As Channels does, without its `close_old_connections` hop to the connection's thread
        before every frame and every event: every database call of these consumers goes through
        `database_sync_to_async`, which does it in that thread anyway. A frame that needs no
        database (a message fanned out to a page) no longer waits for a thread."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    @database_sync_to_async
    def _signed_in(self, key: str) -> bool:
        return _recorded(key)

    @database_sync_to_async
    def _session_alive(self, key: str) -> bool:
        return _recorded(key) and Session.objects.filter(session_key=key).exists()

    async def has_access(self) -> bool:
        """Override: may this user hold this connection now?"""
        return True

    async def on_accepted(self) -> None:
        pass

    async def session_ended(self, event: dict[str, Any]) -> None:
        await self.close(code=SESSION_ENDED)

    async def access_changed(self, event: dict[str, Any]) -> None:
        key = self.scope["session"].session_key
        if not await self._session_alive(key):
            await self.close(code=SESSION_ENDED)
        elif not await self.has_access():
            await self.close(code=ACCESS_LOST)


class NotificationConsumer(AccessAwareConsumer):
    """Pushes the unread count to the open pages of a person."""

    async def on_accepted(self) -> None:
        await self.send_json({"type": "unread", "count": await self._unread()})

    async def notification_new(self, event: dict[str, Any]) -> None:
        await self.send_json(
            {"type": "unread", "count": await self._unread(), "title": event.get("title", "")}
        )

    @database_sync_to_async
    def _unread(self) -> int:
        user: User = self.scope["user"]
        return unread_count(user)
