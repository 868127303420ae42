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

WORD = re.compile(r"[^\W_]+")  # letters and digits: "ordre_du_jour" is three words, as for FTS5
MAX_QUERY_TERMS = 8
EXTRACT_WORDS = 14
PREFIX_MIN = 2  # a shorter last word is looked for whole: "a*" would read most of the index

Group = tuple[str, ...]  # the terms one word of the query may be indexed under


@cache
def _stemmer():  # type: ignore[no-untyped-def]
    return snowballstemmer.stemmer("french")


def fold(word: str) -> str:
    """The word without its accents and ligatures; only letters and digits are left (a few
    letters fold to a space or a mark, which neither database's query syntax should see)."""
    decomposed = unicodedata.normalize("NFKD", word)
    bare = (
        "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe").replace("æ", "ae")
    )
    return "".join(WORD.findall(bare))


@lru_cache(maxsize=65536)
def variants(word: str) -> Group:
    """The terms of one word. Stemming the accent-free word makes "creee" and "créée" one
    term whatever the accents typed; stemming the word as written, then folding, keeps the
    stemmer's grip on French endings ("créée", "créé" → "cre"). A word is indexed (and looked
    for) under both when they differ; a word with no letter left has none."""
    lower = word.lower()
    folded_first = fold(_stemmer().stemWord(fold(lower)))
    stemmed_first = fold(_stemmer().stemWord(lower))
    if folded_first == stemmed_first:
        return (folded_first,) if folded_first else ()
    return tuple(t for t in (folded_first, stemmed_first) if t)


def words(text: str) -> list[str]:
    """The words of a text, as indexing and highlighting see them."""
    return WORD.findall(text)


def terms(text: str) -> list[str]:
    """What a text is indexed under: the terms of each of its words."""
    return [t for w in words(text) for t in variants(w)]


def query_groups(query: str) -> list[Group]:
    """The words of a query, each as the group of terms it may be indexed under. One-letter
    words ("l'", "a") are left out when the query has longer ones: they match nearly
    everything."""
    found = words(query)
    if any(len(w) > 1 for w in found):
        found = [w for w in found if len(w) > 1]
    groups: list[Group] = []
    for word in found:
        group = variants(word)
        if group and group not in groups:
            groups.append(group)
    return groups[:MAX_QUERY_TERMS]


def _expression(groups: list[Group], quote: str, star: str, any_of: str, all_of: str) -> str:
    """Every word, under one of its terms; the last one as a prefix (search as you type)."""
    parts = []
    for i, group in enumerate(groups):
        last = i == len(groups) - 1
        each = [quote + t + quote + (star if last and len(t) >= PREFIX_MIN else "") for t in group]
        parts.append("(" + any_of.join(each) + ")")
    return all_of.join(parts)


def fts5_expression(groups: list[Group]) -> str:
    """The query for SQLite's FTS5 `MATCH`."""
    return _expression(groups, '"', "*", " OR ", " AND ")


def tsquery(groups: list[Group]) -> str:
    """The same query for PostgreSQL's `to_tsquery('simple', …)`."""
    return _expression(groups, "'", ":*", " | ", " & ")


def _matches(word: str, groups: list[Group]) -> bool:
    mine = variants(word)
    if any(t in group for group in groups for t in mine):
        return True
    return any(t.startswith(prefix) for t in mine for prefix in groups[-1] if len(prefix) >= PREFIX_MIN)


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
