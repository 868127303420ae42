"""The discussion's objects for tests/test_permission_matrix.py (its `# --- Chat` block): a
channel with a message by the elu in the private commission, a private conversation of the
maire and the elu, and the same kinds of objects in Val-de-Brume."""

from dataclasses import dataclass
from typing import Any

from parvis.chat import actions
from parvis.chat.models import Conversation, Message
from parvis.core.audit import Actor


@dataclass
class ChatObjects:
    channel: Conversation
    message: Message
    direct: Conversation
    other_channel: Conversation
    other_message: Message
    other_direct: Conversation


def chat(o: Any) -> ChatObjects:
    """Made once per `Objects` (the matrix makes a fresh world for each URL)."""
    found = getattr(o, "_chat", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    w = o.w
    for space in (w.commission, w.other_space):
        space.tools = sorted({*space.tools, "documents", "chat"})
        space.save(update_fields=["tools"])
    channel = actions.ensure_default_channel(w.commission)
    message = actions.post_message(Actor(w.elu), channel, "Ordre du jour de la commission").message
    direct = actions.start_direct(Actor(w.maire), w.org, [w.elu])
    other_channel = actions.ensure_default_channel(w.other_space)
    other_message = actions.post_message(Actor(w.inconnu), other_channel, "Val-de-Brume").message
    other_direct = actions.start_direct(Actor(w.inconnu), w.other, [w.dpo])
    o._chat = ChatObjects(channel, message, direct, other_channel, other_message, other_direct)
    return o._chat  # type: ignore[no-any-return]


def space(o: Any) -> dict[str, Any]:
    chat(o)
    return {"org_slug": o.w.org.slug, "space_slug": o.w.commission.slug}


def other_space(o: Any) -> dict[str, Any]:
    chat(o)
    return {"org_slug": o.w.other.slug, "space_slug": o.w.other_space.slug}


def channel(o: Any) -> dict[str, Any]:
    return {**space(o), "pk": chat(o).channel.pk}


def other_channel(o: Any) -> dict[str, Any]:
    return {**other_space(o), "pk": chat(o).other_channel.pk}


def org(o: Any) -> dict[str, Any]:
    chat(o)
    return {"org_slug": o.w.org.slug}


def other_org(o: Any) -> dict[str, Any]:
    chat(o)
    return {"org_slug": o.w.other.slug}


def conversation(o: Any) -> dict[str, Any]:
    return {**org(o), "pk": chat(o).channel.pk}


def other_conversation(o: Any) -> dict[str, Any]:
    return {**other_org(o), "pk": chat(o).other_channel.pk}


def direct(o: Any) -> dict[str, Any]:
    return {**org(o), "pk": chat(o).direct.pk}


def other_direct(o: Any) -> dict[str, Any]:
    return {**other_org(o), "pk": chat(o).other_direct.pk}


def message(o: Any) -> dict[str, Any]:
    return {**conversation(o), "mid": chat(o).message.pk}


def other_message(o: Any) -> dict[str, Any]:
    return {**other_conversation(o), "mid": chat(o).other_message.pk}


def write_to_maire(o: Any) -> dict[str, Any]:
    return {"people": [o.w.maire.pk]}
