"""Search in messages: every word of the query, stemmed and accent-free (`core.fulltext`), the
last one as a prefix, among the messages the searcher may see, newest first.

A message keeps the terms of its text in `search_terms`, written with the text (post, edit,
delete). SQLite indexes them in the FTS5 table `chat_message_fts`, kept in step by triggers;
PostgreSQL through a GIN index on `to_tsvector('simple', search_terms)`. Both are made by the
migration `0002_search_index`.
"""

from django.db import connection
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.db.models.expressions import RawSQL

from parvis.core.fulltext import Group, fts5_expression, terms, tsquery

from . import markup
from .models import Message

FTS_TABLE = "chat_message_fts"


def search_terms(body: str) -> str:
    """What a message is indexed under: the terms of its text without markup."""
    return " ".join(terms(markup.plain(body)))


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
