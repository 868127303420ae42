"""The websocket of a discussion page: `/ws/discussion/<conversation id>/`.

The page opens it, waits for `ready`, then asks `{"type": "sync", "after": N}` with the last
sequence number it applied, and gets every change after N from the database (in pages of 200).
Live news then arrives as `event` frames numbered by the conversation's sequence; a page that
sees a number jump asks for a sync again, and asks anyway every half-minute, so nothing the
channel layer drops is ever missing for long. Messages are sent with a client id
(`{"type": "post", "client_id": uuid, "body": …}`): sending it again after a cut stores nothing
twice, and the answer (`ack`) names the stored message.

Access is the base consumer's: closed with 4401 when the session ends and with 4403 when the
person may no longer see the conversation (a member removed from the space).
"""

import logging
import time
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.sessions import InstanceSessionWrapper
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY

from parvis.core.audit import Actor
from parvis.core.consumers import AccessAwareConsumer
from parvis.core.models import User
from parvis.core.policies import remembered

from . import actions
from .actions import ChatError
from .fanout import Outbox, hub
from .models import Conversation, Message
from .policies import conversations, messages_policy
from .sync import changes, dumps

log = logging.getLogger(__name__)
TOO_SLOW = 4408  # the page fell too far behind: it reconnects and catches up
TYPING_EVERY = 2.0


class ChatConsumer(AccessAwareConsumer):
    conversation_id: int
    hub_groups: list[str]
    outbox: Outbox | None = None
    server_send: Any = None

    async def has_access(self) -> bool:
        return bool(await self._access())

    @database_sync_to_async
    def _access(self) -> bool:
        with remembered():  # one check, its memberships and roles read once
            return self._access_once()

    def _access_once(self) -> bool:
        self.conversation_id = int(self.scope["url_route"]["kwargs"]["pk"])
        conversation = self._load()
        user = self.scope["user"]
        if conversation is None or not conversations.can(user, "view", conversation):
            return False
        space = conversation.space
        if space is not None and space.require_2fa and not self.scope["session"].get(DEVICE_ID_SESSION_KEY):
            return False
        self.hub_groups = [actions.user_group(user.pk)]
        if conversation.is_channel:
            self.hub_groups.insert(0, actions.space_group(conversation.space_id))  # type: ignore[arg-type]
        return True

    def _load(self) -> Conversation | None:
        return (
            Conversation.objects.select_related("space__organisation", "organisation")
            .filter(pk=self.conversation_id)
            .first()
        )

    async def on_accepted(self) -> None:
        self.last_typing = 0.0
        self.server_send = self._server_send()
        self.outbox = Outbox(self._send_text, self._too_slow)
        # `ready` first, then the live news: the page's `sync`, which it sends on `ready`, is
        # answered only after this (a consumer handles one message at a time), so whatever is
        # committed before the hub listens comes from the database and nothing falls between.
        await self.send_json({"type": "ready", "conversation": self.conversation_id})
        for group in self.hub_groups:
            await hub().join(group, self)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "hub_groups", []) if self.outbox is not None else []:
            await hub().leave(group, self)
        if self.outbox is not None:
            self.outbox.close()
        await super().disconnect(code)

    def _server_send(self) -> Any:
        """The server's own `send`, under Channels' session wrapper: the wrapper acts only on
        HTTP responses, yet passing through it was a third of a frame's cost once a message goes
        to a thousand pages (bench/g5_fanout.py)."""
        wrapper = getattr(self.base_send, "__self__", None)
        return wrapper.real_send if isinstance(wrapper, InstanceSessionWrapper) else self.base_send

    async def _send_text(self, text: str) -> None:
        await self.server_send({"type": "websocket.send", "text": text})

    async def _too_slow(self) -> None:
        await self.close(code=TOO_SLOW)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """What the person's group carries for her other pages (a new notification…) is not
        for this one: ignored, where Channels would close on a message it has no handler for."""
        if getattr(self, get_handler_name(message), None) is None:
            return
        await super().dispatch(message)

    def deliver(self, event: dict[str, Any]) -> None:
        """From the hub: the whole news for this conversation, the brief for the others."""
        text = event["text"] if event.get("conversation") == self.conversation_id else event.get("brief")
        if text and self.outbox is not None:
            self.outbox.push(text)

    async def access_changed(self, event: dict[str, Any]) -> None:
        if self.outbox is not None and not await self.has_access():
            self.outbox.close()  # nothing more reaches this page, even what is already queued
        await super().access_changed(event)

    async def session_ended(self, event: dict[str, Any]) -> None:
        if self.outbox is not None:
            self.outbox.close()
        await super().session_ended(event)

    # --- What the page asks -------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "sync":
            after = content.get("after")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                after = 0
            await self.send(text_data=dumps(await self._changes(after)))
        elif kind == "typing":
            now = time.monotonic()
            if now - self.last_typing >= TYPING_EVERY:
                self.last_typing = now
                for group, event in await self._typing():
                    await self.channel_layer.group_send(group, event)
        elif kind in ("post", "edit", "delete", "react", "read"):
            await self.send_json(await self._act(kind, content))
        else:
            await self.send_json({"type": "error", "message": ""})

    @database_sync_to_async
    def _changes(self, after: int) -> dict[str, Any]:
        # Her right to see the conversation was checked at the opening; a change of rights
        # since closes the socket (`access_changed`), so the changes need no check of their own.
        return changes(self.conversation_id, after)

    @database_sync_to_async
    def _typing(self) -> list[tuple[str, dict[str, Any]]]:
        conversation = self._load()
        user: User = self.scope["user"]
        if conversation is None or not conversations.can(user, "post", conversation):
            return []
        return actions.typing_event(conversation, user)

    @database_sync_to_async
    def _act(self, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        # Rights are read once for the one action (none of them changes rights), and afresh
        # for the next: nothing is remembered between two frames.
        with remembered():
            return self._act_once(kind, content)

    def _act_once(self, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        """One action, checked afresh (the space may have been archived since the page opened);
        a refusal comes back as an `error` frame in French and changes nothing."""
        user: User = self.scope["user"]
        client_id = content.get("client_id")
        answer: dict[str, Any] = {"type": "ack", "action": kind, "client_id": client_id}
        conversation = self._load()
        try:
            # Posting, the busiest action, is checked once: the right to post includes the
            # right to see; the second check only tells a 404 from a 403 when it is refused.
            allowed = conversation is not None and conversations.can(
                user, "post" if kind == "post" else "view", conversation
            )
            if not allowed and (
                kind != "post" or conversation is None or not conversations.can(user, "view", conversation)
            ):
                raise ChatError("", 404)
            assert conversation is not None
            actor = Actor(user=user, ip=(self.scope.get("client") or [None])[0])
            if kind == "read":
                seq = content.get("seq")
                answer["seq"] = actions.mark_read(user, conversation, seq if isinstance(seq, int) else None)
                return answer
            if kind == "post":
                if not allowed:
                    raise ChatError(_("You may not do this in this conversation."), 403)
                parent = (
                    self._message(conversation, content.get("parent"), user)
                    if content.get("parent")
                    else None
                )
                posted = actions.post_message(
                    actor,
                    conversation,
                    str(content.get("body") or ""),
                    client_id=_uuid(client_id),
                    parent=parent,
                )
                answer.update(id=posted.message.pk, seq=posted.message.seq, created=posted.created)
                return answer
            message = self._message(conversation, content.get("id"), user)
            if kind == "edit":
                if not messages_policy.can(user, "change", message):
                    raise ChatError(_("You may not do this in this conversation."), 403)
                actions.edit_message(actor, message, str(content.get("body") or ""))
            elif kind == "delete":
                if not messages_policy.can(user, "delete", message):
                    raise ChatError(_("You may not do this in this conversation."), 403)
                actions.delete_message(actor, message)
            elif kind == "react":
                if not messages_policy.can(user, "react", message):
                    raise ChatError(_("You may not do this in this conversation."), 403)
                answer["on"] = actions.toggle_reaction(actor, message, str(content.get("emoji") or ""))
            answer["id"] = message.pk
            return answer
        except ChatError as refusal:
            return {"type": "error", "action": kind, "client_id": client_id, "message": refusal.message}

    def _message(self, conversation: Conversation, pk: Any, user: User) -> Message:
        if not isinstance(pk, int):
            raise ChatError(_("This message no longer exists."), 404)
        found = (
            messages_policy.visible_in(user, conversation)
            .select_related("conversation__space__organisation", "conversation__organisation")
            .filter(pk=pk)
            .first()
        )
        if found is None:
            raise ChatError(_("This message no longer exists."), 404)
        return found


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ChatError(_("The message could not be sent. Reload the page and try again.")) from None
