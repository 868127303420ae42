"""Search in messages: every word of the query, stemmed and accent-free (`core.fulltext`), the
last one as a prefix, among the messages the searcher may see, newest first.

A message keeps the terms of its text in `search_terms`, written with the text (post, edit,
delete). SQLite indexes them in the FTS5 table `chat_message_fts`, kept in step by triggers;
PostgreSQL through a GIN index on `to_tsvector('simple', search_terms)`. Both are made by the
migration `0002_search_index`.
"""

from django.db import connection, connections, transaction
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.db.models.expressions import RawSQL

from parvis.core.fulltext import Group, fts5_expression, terms, tsquery

from . import markup
from .models import Message

FTS_TABLE = "chat_message_fts"
BATCH = 2000


def search_terms(body: str) -> str:
    """What a message is indexed under: the terms of its text without markup."""
    return " ".join(terms(markup.plain(body)))


def refill(model: type[Message] = Message, using: str = "default") -> int:
    """Compute again the terms of every message, a batch at a time, and say how many changed:
    for the messages written before the index, or after a change to how words become terms.
    A message edited meanwhile keeps the terms its edit wrote (its text no longer matches the
    batch's); one whose terms are already right is not written again."""
    table = connections[using].ops.quote_name(model._meta.db_table)
    rows = model.objects.using(using).filter(deleted_at__isnull=True).exclude(body="").order_by("pk")
    last = changed = 0
    sql = f"UPDATE {table} SET search_terms = %s WHERE id = %s AND body = %s AND search_terms <> %s"  # noqa: S608
    with connections[using].cursor() as cursor:
        while batch := list(rows.filter(pk__gt=last).values_list("pk", "body")[:BATCH]):
            with transaction.atomic(using):
                params = []
                for pk, body in batch:
                    terms = search_terms(body)
                    params.append((terms, pk, body, terms))
                cursor.executemany(sql, params)
                changed += max(cursor.rowcount, 0)
            last = batch[-1][0]
    return changed


class _Matches(Func):  # type: ignore[misc]
    """`to_tsvector('simple', <terms>) @@ to_tsquery('simple', <query>)`, the very expression
    of the GIN index, with the column named by Django (which renames tables in subqueries)."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    arg_joiner = ") @@ to_tsquery('simple'::regconfig, "
    output_field = BooleanField()


def matching(found: QuerySet[Message], groups: list[Group]) -> QuerySet[Message]:
    """The messages of `found` that hold every word of `groups`, through the index."""
    if connection.vendor == "sqlite":
        # The SQL is made of constants; the query's words go in as a parameter.
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
        return found.filter(pk__in=RawSQL(sql, [fts5_expression(groups)]))  # noqa: S611
    return found.filter(_Matches(F("search_terms"), Value(tsquery(groups))))
