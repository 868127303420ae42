"""Real-time events, sent after commit to named recipients (users or sessions)."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(public_id: str) -> str:
    return f"session.{public_id}"


def send_now(groups: list[str], event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        async_to_sync(layer.group_send)(group, event)


def send_on_commit(groups: list[str], event: dict[str, Any]) -> None:
    """Queue an event for after the surrounding transaction commits; dropped on rollback."""
    transaction.on_commit(lambda: send_now(groups, event))


def access_changed(user_ids: list[int], **scope: Any) -> None:
    """Ask every open connection of these people to re-check its access (and close if lost)."""
    send_on_commit([user_group(u) for u in user_ids], {"type": "access.changed", **scope})


def sessions_ended(public_ids: list[str]) -> None:
    send_on_commit([session_group(p) for p in public_ids], {"type": "session.ended"})
