"""Search in messages: every word of the query, stemmed and accent-free (`core.fulltext`), the
last one as a prefix, among the messages the searcher may see, newest first.

A message keeps the terms of its text in `search_terms`, written with the text (post, edit,
delete). SQLite indexes them in the FTS5 table `chat_message_fts`, kept in step by triggers;
PostgreSQL through a GIN index on `to_tsvector('simple', search_terms)`. Both are made by the
migration `0002_search_index`.
"""

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from parvis.core.fulltext import Group, fts5_expression, terms, tsquery

from . import markup
from .models import Message

FTS_TABLE = "chat_message_fts"


def search_terms(body: str) -> str:
    """What a message is indexed under: the terms of its text without markup."""
    return " ".join(terms(markup.plain(body)))


def matching(found: QuerySet[Message], groups: list[Group]) -> QuerySet[Message]:
    """The messages of `found` that hold every word of `groups`, through the index."""
    # The SQL is made of constants; the query's words go in as parameters.
    if connection.vendor == "sqlite":
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
        return found.filter(pk__in=RawSQL(sql, [fts5_expression(groups)]))  # noqa: S611
    table = connection.ops.quote_name(Message._meta.db_table)
    sql = f"to_tsvector('simple'::regconfig, {table}.search_terms) @@ to_tsquery('simple'::regconfig, %s)"
    return found.filter(RawSQL(sql, [tsquery(groups)], output_field=BooleanField()))  # noqa: S611
