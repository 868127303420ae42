"""Search in messages: the terms of each message, then their index (an FTS5 table kept in step
by triggers on SQLite, a GIN index on PostgreSQL). See `chat/search.py`."""

from django.db import migrations, models

SQLITE = [
    """CREATE VIRTUAL TABLE chat_message_fts USING fts5(
        search_terms, content='chat_message', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    "INSERT INTO chat_message_fts(chat_message_fts) VALUES ('rebuild')",
    """CREATE TRIGGER chat_message_fts_insert AFTER INSERT ON chat_message BEGIN
        INSERT INTO chat_message_fts(rowid, search_terms) VALUES (new.id, new.search_terms); END""",
    """CREATE TRIGGER chat_message_fts_delete AFTER DELETE ON chat_message BEGIN
        INSERT INTO chat_message_fts(chat_message_fts, rowid, search_terms)
        VALUES ('delete', old.id, old.search_terms); END""",
    """CREATE TRIGGER chat_message_fts_update AFTER UPDATE OF search_terms ON chat_message BEGIN
        INSERT INTO chat_message_fts(chat_message_fts, rowid, search_terms)
        VALUES ('delete', old.id, old.search_terms);
        INSERT INTO chat_message_fts(rowid, search_terms) VALUES (new.id, new.search_terms); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS chat_message_fts_update",
    "DROP TRIGGER IF EXISTS chat_message_fts_delete",
    "DROP TRIGGER IF EXISTS chat_message_fts_insert",
    "DROP TABLE IF EXISTS chat_message_fts",
]
POSTGRESQL = [
    "CREATE INDEX chat_message_search ON chat_message USING GIN "
    "(to_tsvector('simple'::regconfig, search_terms))",
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS chat_message_search"]


def fill_terms(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The messages already written get their terms (`chat.search.refill`). It uses today's
    code on purpose: the terms must be those the search looks for. On PostgreSQL this rewrites
    every message and then builds the index, in the migration's transaction: writes to messages
    wait until it is done (several minutes for a million messages: not timed)."""
    from parvis.chat.search import refill

    refill(apps.get_model("chat", "Message"), schema_editor.connection.alias)


def index(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = SQLITE if schema_editor.connection.vendor == "sqlite" else POSTGRESQL
    for sql in statements:
        schema_editor.execute(sql)


def unindex(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = SQLITE_REVERSE if schema_editor.connection.vendor == "sqlite" else POSTGRESQL_REVERSE
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="message",
            name="search_terms",
            field=models.TextField(
                blank=True,
                editable=False,
                help_text="The words of its text, as search finds them.",
                verbose_name="search terms",
            ),
        ),
        migrations.RunPython(fill_terms, migrations.RunPython.noop),
        migrations.RunPython(index, unindex),
    ]
