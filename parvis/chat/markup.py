"""Light Markdown for messages: bold, italics, strike-through, inline code and code blocks,
lists, quotes, links, and mentions. The source is escaped first, the few constructions are
turned into tags, and nh3 cleans the result with a short allow-list, so nothing a sender types
can become a script, a style or an attribute we did not write.

Mentions are `@Prénom Nom` (the person's full name, matched case-insensitively among the people
who may read the conversation) and `@tous` (or `@canal`) for everyone in the channel.
"""

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nh3
from django.conf import settings

ALL_WORDS = ("tous", "canal", "channel", "all")
TAGS = {"p", "br", "strong", "em", "del", "code", "pre", "ul", "ol", "li", "blockquote", "a", "span"}
ATTRIBUTES = {"a": {"href"}, "span": {"class", "data-user"}}
URL = re.compile(r"(?<![\w\"'=/])((?:https?://|/o/)[^\s<>\"']+[^\s<>\"'.,;:!?)\]])")
LINK = re.compile(r"\[([^\]\n]{1,300})\]\(((?:https?://|mailto:|/)[^\s)]{1,2000})\)")
CODE = re.compile(r"`([^`\n]+)`")
STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
EM = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
DEL = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
NUMBER = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
QUOTE = re.compile(r"^\s{0,3}&gt;\s?(.*)$")


@dataclass
class Rendered:
    html: str
    mentioned: list[int] = field(default_factory=list)
    mentions_all: bool = False
    links: list[str] = field(default_factory=list)  # paths of Parvis pages, for previews


@dataclass(frozen=True)
class Person:
    pk: int
    name: str


def internal_path(url: str) -> str | None:
    """The path of a link to this Parvis (relative, or on SITE_URL), else None."""
    if url.startswith("/") and not url.startswith("//"):
        return url.split("#")[0]
    site = urlsplit(getattr(settings, "SITE_URL", "") or "")
    parts = urlsplit(url)
    if site.netloc and parts.scheme in ("http", "https") and parts.netloc == site.netloc:
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return None


class _Inline:
    """Inline constructions on already-escaped text. Code spans and links are set aside first
    (as numbered placeholders), so emphasis never reaches inside them."""

    def __init__(self, people: list[Person], allow_all: bool) -> None:
        self.people = sorted(people, key=lambda p: len(p.name), reverse=True)
        self.allow_all = allow_all
        self.kept: list[str] = []
        self.mentioned: list[int] = []
        self.mentions_all = False
        self.links: list[str] = []

    def keep(self, fragment: str) -> str:
        self.kept.append(fragment)
        return f"\x00{len(self.kept) - 1}\x00"

    def _link(self, href: str, text: str) -> str:
        raw = html.unescape(href)
        path = internal_path(raw)
        if path and path.startswith("/o/") and path not in self.links and len(self.links) < 5:
            self.links.append(path)
        return self.keep(f'<a href="{html.escape(raw, quote=True)}">{text}</a>')

    def _mentions(self, text: str) -> str:
        if "@" not in text:
            return text
        out, i = [], 0
        while i < len(text):
            at = text.find("@", i)
            if at < 0:
                out.append(text[i:])
                break
            out.append(text[i:at])
            before = text[at - 1] if at else " "
            found = None
            if not (before.isalnum() or before in "@._-"):
                rest = text[at + 1 :]
                for word in ALL_WORDS if self.allow_all else ():
                    if rest.lower().startswith(word) and not rest[len(word) : len(word) + 1].isalnum():
                        found = (len(word), None, rest[: len(word)])
                        break
                if found is None:
                    for person in self.people:
                        name = html.escape(person.name)
                        if (
                            rest.lower().startswith(name.lower())
                            and not rest[len(name) : len(name) + 1].isalnum()
                        ):
                            found = (len(name), person.pk, rest[: len(name)])
                            break
            if found is None:
                out.append("@")
                i = at + 1
                continue
            length, pk, shown = found
            if pk is None:
                self.mentions_all = True
                out.append(self.keep(f'<span class="mention mention-all">@{shown}</span>'))
            else:
                if pk not in self.mentioned:
                    self.mentioned.append(pk)
                out.append(self.keep(f'<span class="mention" data-user="{pk}">@{shown}</span>'))
            i = at + 1 + length
        return "".join(out)

    def render(self, text: str) -> str:
        text = CODE.sub(lambda m: self.keep(f"<code>{m.group(1)}</code>"), text)
        text = LINK.sub(lambda m: self._link(m.group(2), m.group(1)), text)
        text = URL.sub(lambda m: self._link(m.group(1), m.group(1)), text)
        text = self._mentions(text)
        text = STRONG.sub(r"<strong>\1</strong>", text)
        text = EM.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", text)
        text = DEL.sub(r"<del>\1</del>", text)
        while "\x00" in text:
            text = re.sub(r"\x00(\d+)\x00", lambda m: self.kept[int(m.group(1))], text)
        return text


def render(source: str, people: list[Person] | None = None, allow_all: bool = False) -> Rendered:
    """The sanitised HTML of a message, with whom it mentions and which Parvis pages it links."""
    inline = _Inline(people or [], allow_all)
    lines = html.escape(source.replace("\r\n", "\n").replace("\r", "\n"), quote=False).split("\n")
    blocks: list[str] = []
    paragraph: list[str] = []
    i = 0

    def flush() -> None:
        if paragraph:
            blocks.append("<p>" + "<br>".join(inline.render(line) for line in paragraph) + "</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            flush()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            blocks.append("<pre><code>" + "\n".join(code) + "</code></pre>")
            i += 1
            continue
        for pattern, tag in ((BULLET, "ul"), (NUMBER, "ol")):
            if pattern.match(line):
                flush()
                items = []
                while i < len(lines) and (match := pattern.match(lines[i])):
                    items.append(f"<li>{inline.render(match.group(1))}</li>")
                    i += 1
                blocks.append(f"<{tag}>{''.join(items)}</{tag}>")
                break
        else:
            if QUOTE.match(line):
                flush()
                quoted = []
                while i < len(lines) and (match := QUOTE.match(lines[i])):
                    quoted.append(inline.render(match.group(1)))
                    i += 1
                blocks.append("<blockquote><p>" + "<br>".join(quoted) + "</p></blockquote>")
            elif not line.strip():
                flush()
                i += 1
            else:
                paragraph.append(line)
                i += 1
    flush()
    cleaned = nh3.clean(
        "".join(blocks),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Rendered(cleaned, inline.mentioned, inline.mentions_all, inline.links)


def plain(source: str) -> str:
    """The text without markup, for notifications and the text export."""
    text = re.sub(r"```", "", source)
    text = LINK.sub(r"\1 (\2)", text)
    text = re.sub(r"(\*\*|~~|`)", "", text)
    return text.strip()
