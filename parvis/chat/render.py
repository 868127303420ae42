"""One message of a conversation page, as HTML, from its state (sync.state).

The message list is the hot loop of the busiest page of the discussion: a channel page shows
fifty threads, and Django's template engine spent about half a millisecond on each (an
include, a dozen lookups and filters), a third of the page. Written here with `format_html`
it is a few tens of microseconds, with the same escaping: everything that comes from people is
escaped, except the message's HTML, which markup.py produced sanitised. The page's script
builds the same element for live news (frontend/src/chat.js, `render`).
"""

from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class Labels:
    """The page's words, translated once per page rather than once per message."""

    def __init__(self) -> None:
        self.edited = _("(edited)")
        self.deleted = _("Message deleted.")
        self.reply = _("Reply")


def _attribute(value: Any) -> str:
    return "" if value is None else escape(value)


def _files(files: list[dict[str, Any]]) -> str:
    if not files:
        return ""
    items = "".join(
        format_html(
            '<li><a href="{}">{}</a> <span class="muted">{}</span></li>',
            f.get("url", ""),
            f.get("name", ""),
            filesizeformat(f.get("size", 0)),
        )
        for f in files
    )
    return f'\n<ul class="msg-files">{items}</ul>'


def preview_html(p: Any) -> SafeString:
    """One link preview (previews.Preview): in a message, and alone for the page's script."""
    return format_html(
        '<a class="link-preview" href="{}"><span class="link-preview-kind">{}</span>'
        " <strong>{}</strong>{}</a>",
        p.url,
        p.kind,
        p.title,
        format_html(' <span class="muted">{}</span>', p.detail) if p.detail else "",
    )


def _previews(previews: list[Any]) -> str:
    if not previews:
        return ""
    links = "".join(preview_html(p) for p in previews)
    return f'\n<div class="msg-previews">{links}</div>'


def _reactions(reactions: list[list[Any]]) -> str:
    return "".join(
        format_html(
            '<span class="reaction" data-emoji="{}" data-users="{}">{} {}</span>',
            emoji,
            ",".join(str(u) for u in users),
            emoji,
            len(users),
        )
        for emoji, users in reactions
    )


def message_html(
    m: dict[str, Any], viewer_id: int, labels: Labels, thread_base: str, in_thread: bool
) -> SafeString:
    """The `<li>` of one message state `m` (with its `previews` and `when` set by the view)."""
    deleted = m["deleted"]
    own = m["author"] == viewer_id and not deleted
    head = format_html(
        '<p class="msg-head"><span class="msg-author">{}</span> <time datetime="{}">{}</time>{}</p>',
        m["name"],
        m["at"],
        timezone.localtime(m["when"]).strftime("%d/%m/%Y %H:%M"),
        format_html(' <span class="msg-edited">{}</span>', labels.edited) if m["edited"] else "",
    )
    body = format_html('<p class="muted">{}</p>', labels.deleted) if deleted else m["html"]
    foot = ""
    if not in_thread and not m["parent"]:
        n = m["replies"]
        text = ngettext("%(counter)s reply", "%(counter)s replies", n) % {"counter": n} if n else labels.reply
        foot = format_html('\n<p class="msg-foot"><a href="{}{}/">{}</a></p>', thread_base, m["id"], text)
    src = format_html(' data-src="{}"', m["src"]) if own else ""
    # Every part is escaped above or is markup.py's sanitised HTML; numbers are the database's.
    return mark_safe(  # noqa: S308
        f'<li class="msg{" is-deleted" if deleted else ""}" id="m-{m["id"]}" data-id="{m["id"]}"'
        f' data-seq="{m["seq"]}" data-u="{m["u"]}" data-author="{_attribute(m["author"])}"'
        f' data-parent="{_attribute(m["parent"])}" data-replies="{m["replies"]}"{src}>\n'
        f'{head}\n<div class="msg-body">{body}</div>'
        f"{_files(m['files'])}{_previews(m['previews'])}"
        f'\n<div class="msg-reactions">{_reactions(m["reactions"])}</div>{foot}\n</li>'
    )
