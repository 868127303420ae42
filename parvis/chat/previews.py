"""Previews of links to Parvis's own pages, and of nothing else: no request ever leaves the
server to fetch a page (a preview of an outside site would tell it who reads the message, and
when).

A preview is computed for the person looking, through the policies, every time: a link to a
folder she may not open shows nothing, even if the sender could open it. Pages of the
discussion and of spaces are previewed here; other tools offer theirs through the registry as a
service named `preview:<url name>` (a function of the person and the URL's arguments).
"""

from dataclasses import dataclass
from typing import Any

from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from parvis.core import registry
from parvis.core.policies import AnyUser, get_or_404
from parvis.spaces.models import Space
from parvis.spaces.policies import spaces

from . import markup
from .models import Conversation, Message
from .policies import conversations, messages_policy


@dataclass(frozen=True)
class Preview:
    url: str
    kind: str
    title: str
    detail: str = ""


def _seen(policy: Any, user: AnyUser, qs: Any, **lookup: Any) -> Any:
    """The object she may see, or None: the access helper's answer, without its 404."""
    try:
        return get_or_404(policy, user, qs, **lookup)
    except Http404:
        return None


def _conversation(user: AnyUser, kwargs: dict[str, Any]) -> Any:
    return _seen(
        conversations,
        user,
        Conversation.objects.select_related("space", "organisation"),
        pk=kwargs.get("pk"),
        organisation__slug=kwargs.get("org_slug"),
    )


def _own(user: AnyUser, name: str, kwargs: dict[str, Any]) -> dict[str, str] | None:
    from .actions import title_of

    if name in ("chat:channel", "chat:direct"):
        found = _conversation(user, kwargs)
        if found is None or (name == "chat:channel" and found.space.slug != kwargs.get("space_slug")):
            return None
        if found.is_channel:
            return {"kind": _("Channel"), "title": f"# {found.name}", "detail": found.space.name}
        return {"kind": _("Private messages"), "title": title_of(found, user)}  # type: ignore[arg-type]
    if name == "chat:thread":
        found = _conversation(user, kwargs)
        message = (
            messages_policy.visible_in(user, found).filter(pk=kwargs.get("mid")).first()
            if found is not None
            else None
        )
        if message is None or message.is_deleted:
            return None
        return {
            "kind": _("Message"),
            "title": str(message.author) if message.author else "",
            "detail": markup.plain(message.body)[:140],
        }
    if name == "spaces:detail":
        space = _seen(
            spaces,
            user,
            Space.objects.select_related("organisation"),
            organisation__slug=kwargs.get("org_slug"),
            slug=kwargs.get("space_slug"),
        )
        if space is None:
            return None
        return {"kind": _("Space"), "title": space.name, "detail": space.description[:140]}
    return None


def preview(user: AnyUser, path: str) -> Preview | None:
    """What the person may know of the page at `path`, or None (a page she may not see, an
    unknown one, or not a page of Parvis)."""
    if not path.startswith("/o/"):
        return None
    try:
        match = resolve(path.split("?")[0])
    except Resolver404:
        return None
    name = match.view_name
    found = _own(user, name, match.kwargs)
    if found is None and not name.startswith(("chat:", "spaces:")):
        provider = registry.service(f"preview:{name}")
        found = provider(user, match.kwargs) if provider is not None else None
    if not found or not found.get("title"):
        return None
    return Preview(path, str(found.get("kind", "")), str(found["title"]), str(found.get("detail", "")))


class Cache:
    """Previews for one page: each link looked up once."""

    def __init__(self, user: AnyUser) -> None:
        self.user = user
        self.seen: dict[str, Preview | None] = {}

    def of(self, message: Message | dict[str, Any]) -> list[Preview]:
        links = message["links"] if isinstance(message, dict) else message.links
        out = []
        for path in links or []:
            if path not in self.seen:
                self.seen[path] = preview(self.user, path)
            if self.seen[path] is not None:
                out.append(self.seen[path])
        return out  # type: ignore[return-value]
