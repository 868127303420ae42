"""An acknowledged write survives a power cut: SQLite in WAL with synchronous=FULL, foreign keys
on and a busy timeout; PostgreSQL with fsync and synchronous commits on.

Each branch runs on the database the suite runs on; the other is skipped, but one of them is
always asserted."""

import pytest
from django.db import connection


def pragma(name: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


def test_the_suite_runs_on_a_database_this_file_knows(db):
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the database is not SQLite")
def test_sqlite_is_in_wal_with_full_sync_foreign_keys_and_a_busy_timeout(db):
    assert str(pragma("journal_mode")).lower() == "wal"
    assert pragma("synchronous") == 2  # FULL: the WAL is fsynced at every commit
    assert pragma("foreign_keys") == 1
    assert int(pragma("busy_timeout")) >= 5000  # writers wait for the lock instead of failing


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database is not PostgreSQL")
def test_postgresql_syncs_every_commit(db):
    assert show("fsync") == "on"
    assert show("synchronous_commit") == "on"
