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
from dataclasses import dataclass
from functools import cache

import snowballstemmer
from django.db import connection
from django.db.models import QuerySet
from django.utils.safestring import SafeString, mark_safe

from parvis.core.policies import AnyUser

from .models import Document, SearchEntry

WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 8
CANDIDATES = 2000
EXTRACT_WORDS = 14


@cache
def _stemmer():  # type: ignore[no-untyped-def]
    return snowballstemmer.stemmer("french")


def fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return (
        "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe").replace("æ", "ae")
    )


def term(word: str) -> str:
    return fold(_stemmer().stemWord(word.lower()))


def terms(text: str) -> list[str]:
    return [term(w) for w in WORD.findall(text) if w != "_"]


def index(document: Document) -> None:
    """(Re)index a document's name and the text of its current version."""
    body = document.current.text if document.current_id and document.current else ""
    SearchEntry.objects.update_or_create(
        document=document,
        defaults={"name_terms": " ".join(terms(document.name)), "body_terms": " ".join(terms(body))},
    )


def _query_terms(query: str) -> list[str]:
    seen: list[str] = []
    for t in terms(query):
        if t and t not in seen:
            seen.append(t)
    return seen[:MAX_QUERY_TERMS]


def _ranked_entry_ids(query_terms: list[str]) -> list[int]:
    """Ids of the search entries that hold every term (the last one as a prefix, for
    search-as-you-type), best first."""
    if connection.vendor == "sqlite":
        parts = [f'"{t}"' for t in query_terms[:-1]] + [f'"{query_terms[-1]}"*']
        sql = (
            "SELECT rowid FROM documents_fts WHERE documents_fts MATCH %s "
            "ORDER BY bm25(documents_fts, 10.0, 1.0) LIMIT %s"
        )
        params: list[object] = [" AND ".join(parts), CANDIDATES]
    else:
        tsquery = " & ".join([*query_terms[:-1], f"{query_terms[-1]}:*"])
        vector = (
            "(setweight(to_tsvector('simple'::regconfig, name_terms), 'A') || "
            "setweight(to_tsvector('simple'::regconfig, body_terms), 'B'))"
        )
        sql = (
            f"SELECT id FROM documents_searchentry, to_tsquery('simple', %s) q "  # noqa: S608
            f"WHERE {vector} @@ q ORDER BY ts_rank({vector}, q) DESC, id LIMIT %s"
        )
        params = [tsquery, CANDIDATES]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


@dataclass(frozen=True)
class Hit:
    document: Document
    extract: SafeString


def search(user: AnyUser, query: str, scope: QuerySet[Document], limit: int = 30) -> list[Hit]:
    """The documents of `scope` (already filtered by the policy) that match `query`."""
    query_terms = _query_terms(query)
    if not query_terms:
        return []
    entry_ids = _ranked_entry_ids(query_terms)
    if not entry_ids:
        return []
    doc_of_entry = dict(SearchEntry.objects.filter(pk__in=entry_ids).values_list("pk", "document_id"))
    ranked_docs = [doc_of_entry[e] for e in entry_ids if e in doc_of_entry]
    allowed = scope.filter(pk__in=ranked_docs).select_related("current", "folder", "space__organisation")
    by_id = {d.pk: d for d in allowed}
    hits = []
    for doc_id in ranked_docs:
        doc = by_id.get(doc_id)
        if doc is None:
            continue
        text = doc.current.text if doc.current else ""
        hits.append(Hit(doc, highlight(text, query_terms) or highlight(doc.name, query_terms)))
        if len(hits) >= limit:
            break
    return hits


def _matches(word: str, query_terms: list[str]) -> bool:
    t = term(word)
    return t in query_terms[:-1] or t.startswith(query_terms[-1]) or t in query_terms


def highlight(text: str, query_terms: list[str]) -> SafeString:
    """A short extract around the first match, the matching words in <mark>, escaped."""
    words = list(WORD.finditer(text))
    first = next((i for i, m in enumerate(words) if _matches(m.group(), query_terms)), None)
    if first is None:
        return mark_safe("")
    start_word = max(0, first - EXTRACT_WORDS // 2)
    end_word = min(len(words), start_word + EXTRACT_WORDS)
    start, end = words[start_word].start(), words[end_word - 1].end()
    pieces, cursor = [], start
    for m in words[start_word:end_word]:
        pieces.append(html.escape(text[cursor : m.start()]))
        word = html.escape(m.group())
        pieces.append(f"<mark>{word}</mark>" if _matches(m.group(), query_terms) else word)
        cursor = m.end()
    extract = " ".join("".join(pieces).split())
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + extract + suffix)  # noqa: S308
