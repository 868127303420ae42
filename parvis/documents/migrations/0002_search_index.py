"""The full-text index: an FTS5 table kept in step by triggers on SQLite, a GIN index on the
weighted tsvector on PostgreSQL. Both index the terms search.py computed."""

from django.db import migrations

SQLITE = [
    """CREATE VIRTUAL TABLE documents_fts USING fts5(
        name_terms, body_terms, content='documents_searchentry', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents_searchentry BEGIN
        INSERT INTO documents_fts(rowid, name_terms, body_terms)
        VALUES (new.id, new.name_terms, new.body_terms); END""",
    """CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents_searchentry BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, name_terms, body_terms)
        VALUES ('delete', old.id, old.name_terms, old.body_terms); END""",
    """CREATE TRIGGER documents_fts_update AFTER UPDATE ON documents_searchentry BEGIN
        INSERT INTO documents_fts(documents_fts, rowid, name_terms, body_terms)
        VALUES ('delete', old.id, old.name_terms, old.body_terms);
        INSERT INTO documents_fts(rowid, name_terms, body_terms)
        VALUES (new.id, new.name_terms, new.body_terms); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS documents_fts_update",
    "DROP TRIGGER IF EXISTS documents_fts_delete",
    "DROP TRIGGER IF EXISTS documents_fts_insert",
    "DROP TABLE IF EXISTS documents_fts",
]
POSTGRESQL = [
    """CREATE INDEX documents_search_vector ON documents_searchentry USING GIN ((
        setweight(to_tsvector('simple'::regconfig, name_terms), 'A') ||
        setweight(to_tsvector('simple'::regconfig, body_terms), 'B')))""",
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS documents_search_vector"]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = SQLITE if schema_editor.connection.vendor == "sqlite" else POSTGRESQL
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    statements = SQLITE_REVERSE if schema_editor.connection.vendor == "sqlite" else POSTGRESQL_REVERSE
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
