"""French full-text search over names and contents.

The terms are those of `parvis.core.fulltext` (stemmed, accent-free, the same on both
databases): SQLite indexes them through an FTS5 table (bm25), PostgreSQL through a GIN index on
a weighted tsvector (ts_rank). Names weigh more than contents. Results are
filtered by the documents policy: a searcher only ever sees what she may open.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django.utils.safestring import SafeString

from parvis.core.fulltext import Group, fts5_expression, highlight, query_groups, terms, tsquery
from parvis.core.policies import AnyUser

from .models import Document, SearchEntry


def index(document: Document) -> None:
    """(Re)index a document's name and the text of its current version."""
    body = document.current.text if document.current_id and document.current else ""
    SearchEntry.objects.update_or_create(
        document=document,
        defaults={"name_terms": " ".join(terms(document.name)), "body_terms": " ".join(terms(body))},
    )


def _ranked_document_ids(groups: list[Group], scope: QuerySet[Document], limit: int) -> list[int]:
    """Ids of the documents of `scope` whose entry holds every word, best first: those whose
    name matches before those that match by their text only, then by relevance (bm25 on
    SQLite, ts_rank on PostgreSQL). The scope is applied inside the query, so that other
    people's matches never push hers out of the window."""
    scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
    if connection.vendor == "sqlite":
        expression = fts5_expression(groups)
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
        params = [tsquery(groups), *scope_params, limit]
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
