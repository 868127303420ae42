"""French words as search terms, shared by every tool that searches (documents, messages).

Words are lower-cased, stemmed with the French Snowball stemmer and stripped of their accents
in Python, at indexing and at query time, so "deliberations" finds "Délibération" and both
databases index exactly the same terms: each tool stores the terms as a space-separated text
and indexes it with FTS5 on SQLite and a GIN index over `to_tsvector('simple', …)` on
PostgreSQL. This module builds the terms, the query expressions for both, and the highlighted
extract shown with a hit.
"""

import html
import re
import unicodedata
from collections import deque
from functools import cache, lru_cache

import snowballstemmer
from django.utils.safestring import SafeString, mark_safe

WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 8
EXTRACT_WORDS = 14

Group = tuple[str, ...]  # the terms one word of the query may be indexed under


@cache
def _stemmer():  # type: ignore[no-untyped-def]
    return snowballstemmer.stemmer("french")


def fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return (
        "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe").replace("æ", "ae")
    )


@lru_cache(maxsize=65536)
def variants(word: str) -> Group:
    """The terms of one word. Stemming the accent-free word makes "creee" and "créée" one
    term whatever the accents typed; stemming the word as written, then folding, keeps the
    stemmer's grip on French endings ("créée", "créé" → "cre"). A word is indexed (and looked
    for) under both when they differ."""
    lower = word.lower()
    folded_first = _stemmer().stemWord(fold(lower))
    stemmed_first = fold(_stemmer().stemWord(lower))
    return (folded_first,) if folded_first == stemmed_first else (folded_first, stemmed_first)


def term(word: str) -> str:
    return variants(word)[0]


def words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if w.strip("_")]


def terms(text: str) -> list[str]:
    return [t for w in words(text) for t in variants(w)]


def query_groups(query: str) -> list[Group]:
    """The words of a query, each as the group of terms it may be indexed under."""
    groups: list[Group] = []
    for word in words(query):
        group = variants(word)
        if group not in groups:
            groups.append(group)
    return groups[:MAX_QUERY_TERMS]


def fts5_expression(groups: list[Group]) -> str:
    """Every word, under one of its terms; the last one as a prefix (search as you type)."""
    parts = []
    for i, group in enumerate(groups):
        star = "*" if i == len(groups) - 1 else ""
        parts.append("(" + " OR ".join(f'"{t}"{star}' for t in group) + ")")
    return " AND ".join(parts)


def tsquery(groups: list[Group]) -> str:
    """The same expression for PostgreSQL's `to_tsquery('simple', …)`."""
    parts = []
    for i, group in enumerate(groups):
        star = ":*" if i == len(groups) - 1 else ""
        parts.append("(" + " | ".join(f"'{t}'{star}" for t in group) + ")")
    return " & ".join(parts)


def _matches(word: str, groups: list[Group]) -> bool:
    if not word.strip("_"):
        return False
    mine = variants(word)
    if any(t in group for group in groups for t in mine):
        return True
    return any(t.startswith(prefix) for t in mine for prefix in groups[-1])


def highlight(text: str, groups: list[Group]) -> SafeString:
    """A short extract around the first match, the matching words in <mark>, escaped. Reads
    the text only up to the extract (a long text is not stemmed whole for each hit)."""
    before: deque[re.Match[str]] = deque(maxlen=EXTRACT_WORDS // 2)
    found = WORD.finditer(text)
    first, skipped = None, 0
    for m in found:
        if _matches(m.group(), groups):
            first = m
            break
        if len(before) == before.maxlen:
            skipped += 1
        before.append(m)
    if first is None:
        return mark_safe("")
    window, whole_end = [*before, first], True
    for m in found:
        if len(window) >= EXTRACT_WORDS:
            whole_end = False
            break
        window.append(m)
    # From the very start (or to the very end) of the text when no word is left out there.
    start = 0 if skipped == 0 else window[0].start()
    end = len(text) if whole_end else window[-1].end()
    pieces, cursor = [], start
    for m in window:
        pieces.append(html.escape(text[cursor : m.start()]))
        word = html.escape(m.group())
        pieces.append(f"<mark>{word}</mark>" if _matches(m.group(), groups) else word)
        cursor = m.end()
    pieces.append(html.escape(text[cursor:end]))
    extract = " ".join("".join(pieces).split())
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + extract + suffix)  # noqa: S308
