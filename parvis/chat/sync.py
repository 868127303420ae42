"""What a client receives: each message as a small JSON state, and the changes after a given
sequence number, in order.

A client keeps, for each conversation, the highest sequence number it has applied (`last`). It
asks for `changes(conversation_id, after=last)` when it (re)connects, when it sees a gap in the live
numbers, and every half-minute; the answer's `head` is where it now stands. Because a message's
state is sent whole and a client keeps the newest `u` of each, receiving a state twice changes
nothing: there is no duplicate, whatever the interleaving.
"""

import json
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .models import Message, Reaction

PAGE = 200  # states per answer; `more` says to ask again


def reactions_of(messages: list[Message]) -> dict[int, list[list[Any]]]:
    """{message id: [[emoji, [user ids…]], …]} in the order of the palette's first use."""
    found: dict[int, dict[str, list[int]]] = {}
    ids = [m.pk for m in messages if not m.is_deleted]
    if ids:
        for message_id, emoji, user_id in (
            Reaction.objects.filter(message_id__in=ids)
            .order_by("pk")
            .values_list("message_id", "emoji", "user_id")
        ):
            found.setdefault(message_id, {}).setdefault(emoji, []).append(user_id)
    return {pk: [[e, users] for e, users in by.items()] for pk, by in found.items()}


def state(message: Message, reactions: list[list[Any]] | None = None) -> dict[str, Any]:
    author = message.author
    deleted = message.is_deleted
    return {
        "id": message.pk,
        "seq": message.seq,
        "u": message.updated_seq,
        "parent": message.parent_id,
        "author": message.author_id,
        "name": str(author) if author is not None else "",
        "at": timezone.localtime(message.created_at).isoformat(timespec="seconds"),
        "html": "" if deleted else message.html,
        "src": "" if deleted else message.body,
        "edited": message.edited_at is not None and not deleted,
        "deleted": deleted,
        "reactions": [] if deleted else (reactions or []),
        "replies": message.reply_count,
        "files": [] if deleted else message.attachments,
        "links": [] if deleted else message.links,
    }


def states(messages: list[Message]) -> list[dict[str, Any]]:
    reactions = reactions_of(messages)
    return [state(m, reactions.get(m.pk)) for m in messages]


def changes(conversation_id: int, after: int, limit: int = PAGE) -> dict[str, Any]:
    """The messages changed after `after`, oldest change first, and where that leaves the
    client. One SELECT: its snapshot holds every change up to some number K and none after
    (numbers are given under a row lock and committed in order), and the message changed last
    carries K itself, so `head` is exactly K, never a number whose change was not sent."""
    rows: QuerySet[Message] = (
        Message.objects.filter(conversation_id=conversation_id, updated_seq__gt=after)
        .select_related("author")
        .order_by("updated_seq")[: limit + 1]
    )
    found = list(rows)
    more = len(found) > limit
    found = found[:limit]
    head = found[-1].updated_seq if found else after
    return {
        "type": "sync",
        "conversation": conversation_id,
        "messages": states(found),
        "head": head,
        "more": more,
    }


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
