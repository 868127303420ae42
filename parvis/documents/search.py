"""French full-text search over names and contents.

Words are lower-cased, stemmed with the French Snowball stemmer and stripped of their accents
in Python, at indexing and at query time, so "deliberations" finds "Délibération" and both
databases index exactly the same terms: SQLite through an FTS5 table (bm25), PostgreSQL through
a GIN index on a weighted tsvector (ts_rank). Names weigh more than contents. Results are
filtered by the documents policy: a searcher only ever sees what she may open.
"""

import html
import re
import unicodedata
from collections import deque
from dataclasses import dataclass
from functools import cache, lru_cache

import snowballstemmer
from django.db import connection
from django.db.models import QuerySet
from django.utils.safestring import SafeString, mark_safe

from parvis.core.policies import AnyUser

from .models import Document, SearchEntry

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


def _words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if w.strip("_")]


def terms(text: str) -> list[str]:
    return [t for w in _words(text) for t in variants(w)]


def index(document: Document) -> None:
    """(Re)index a document's name and the text of its current version."""
    body = document.current.text if document.current_id and document.current else ""
    SearchEntry.objects.update_or_create(
        document=document,
        defaults={"name_terms": " ".join(terms(document.name)), "body_terms": " ".join(terms(body))},
    )


def query_groups(query: str) -> list[Group]:
    """The words of a query, each as the group of terms it may be indexed under."""
    groups: list[Group] = []
    for word in _words(query):
        group = variants(word)
        if group not in groups:
            groups.append(group)
    return groups[:MAX_QUERY_TERMS]


def _fts5_expression(groups: list[Group]) -> str:
    """Every word, under one of its terms; the last one as a prefix (search as you type)."""
    parts = []
    for i, group in enumerate(groups):
        star = "*" if i == len(groups) - 1 else ""
        parts.append("(" + " OR ".join(f'"{t}"{star}' for t in group) + ")")
    return " AND ".join(parts)


def _tsquery(groups: list[Group]) -> str:
    parts = []
    for i, group in enumerate(groups):
        star = ":*" if i == len(groups) - 1 else ""
        parts.append("(" + " | ".join(f"'{t}'{star}" for t in group) + ")")
    return " & ".join(parts)


def _ranked_document_ids(groups: list[Group], scope: QuerySet[Document], limit: int) -> list[int]:
    """Ids of the documents of `scope` whose entry holds every word, best first: those whose
    name matches before those that match by their text only, then by relevance (bm25 on
    SQLite, ts_rank on PostgreSQL). The scope is applied inside the query, so that other
    people's matches never push hers out of the window."""
    scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
    if connection.vendor == "sqlite":
        expression = _fts5_expression(groups)
        sql = (
            "SELECT e.document_id FROM documents_fts JOIN documents_searchentry e "  # noqa: S608
            "ON e.id = documents_fts.rowid "
            "WHERE documents_fts MATCH %s "
            f"AND e.document_id IN ({scope_sql}) "
            "ORDER BY documents_fts.rowid IN "
            "(SELECT rowid FROM documents_fts WHERE documents_fts MATCH %s) DESC, "
            "bm25(documents_fts, 10.0, 1.0), e.document_id LIMIT %s"
        )
        params: list[object] = [expression, *scope_params, f"name_terms : ({expression})", limit]
    else:
        vector = (
            "(setweight(to_tsvector('simple'::regconfig, e.name_terms), 'A') || "
            "setweight(to_tsvector('simple'::regconfig, e.body_terms), 'B'))"
        )
        sql = (
            "SELECT e.document_id FROM documents_searchentry e, "  # noqa: S608
            "to_tsquery('simple'::regconfig, %s) q "
            f"WHERE {vector} @@ q AND e.document_id IN ({scope_sql}) "
            "ORDER BY to_tsvector('simple'::regconfig, e.name_terms) @@ q DESC, "
            f"ts_rank({vector}, q) DESC, e.document_id LIMIT %s"
        )
        params = [_tsquery(groups), *scope_params, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class Hit:
    document: Document
    extract: SafeString


def search(user: AnyUser, query: str, scope: QuerySet[Document], limit: int = 30) -> list[Hit]:
    """The documents of `scope` (already filtered by the policy) that match `query`."""
    groups = query_groups(query)
    if not groups:
        return []
    ranked = _ranked_document_ids(groups, scope, limit)
    if not ranked:
        return []
    found = scope.filter(pk__in=ranked).select_related("current", "folder", "space__organisation")
    by_id = {d.pk: d for d in found}
    hits = []
    for doc_id in ranked:
        doc = by_id.get(doc_id)
        if doc is None:
            continue
        text = doc.current.text if doc.current else ""
        hits.append(Hit(doc, highlight(text, groups) or highlight(doc.name, groups)))
    return hits


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
    words = WORD.finditer(text)
    first, skipped = None, 0
    for m in words:
        if _matches(m.group(), groups):
            first = m
            break
        if len(before) == before.maxlen:
            skipped += 1
        before.append(m)
    if first is None:
        return mark_safe("")
    window, whole_end = [*before, first], True
    for m in words:
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
