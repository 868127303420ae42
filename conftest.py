"""Shared fixtures: the personas world, signed-in clients, and the secrets registry that lets
the suite prove no secret ever reached a log or the audit."""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from parvis.core.tests.factories import PASSWORD, World, build_world

SECRETS_DIR = Path(settings.VAR_DIR) / "test-secrets"


class Secrets:
    """Every secret a test handles (passwords, TOTP seeds and codes, session ids, reset links,
    app passwords, access codes, invitation tokens) is registered here; the audit table is
    checked after each test and all logs at the end of the session."""

    def __init__(self) -> None:
        SECRETS_DIR.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.file = SECRETS_DIR / f"{worker}.txt"
        self.values: set[str] = set()

    def add(self, *values: str) -> None:
        fresh = [v for v in values if v and len(v) >= 6 and v not in self.values]
        self.values.update(fresh)
        if fresh:
            with self.file.open("a") as f:
                f.writelines(v.replace("\n", " ") + "\n" for v in fresh)


_secrets = Secrets()
_secrets.add(PASSWORD)


@pytest.fixture
def secrets_registry() -> Secrets:
    return _secrets


@pytest.fixture(autouse=True)
def _no_secret_in_audit(request: pytest.FixtureRequest) -> Iterator[None]:
    uses_db = "db" in request.fixturenames or "transactional_db" in request.fixturenames
    if uses_db:  # set the database up first, so it is still there when we look at it
        request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    yield
    if not uses_db:
        return
    from parvis.core.models import AuditEvent

    for event in AuditEvent.objects.all():
        text = " ".join([event.actor_label, event.object_label, event.action, str(event.data)])
        for secret in _secrets.values:
            assert secret not in text, f"a secret reached the audit log ({event.action})"


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def client_for(world: World, secrets_registry: Secrets) -> Callable[[str], Client]:
    """A signed-in client for a persona (or 'anonyme')."""

    def make(persona: str) -> Client:
        client = Client()
        if persona != "anonyme":
            client.force_login(world.persona(persona))
            secrets_registry.add(client.cookies[settings.SESSION_COOKIE_NAME].value)
        return client

    return make


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """Start each session with empty log and secret files (once, in the controller)."""
    if _is_controller(config):
        for folder in (SECRETS_DIR, Path(settings.VAR_DIR) / "test-logs"):
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.iterdir():
                # Emptied, not unlinked: Django's logging has already opened this run's log file
                # (in append mode); an unlinked file would be written where nobody greps it.
                old.write_bytes(b"")
        _secrets.values.clear()
        _secrets.add(PASSWORD)


def _occurrences(secret: str, text: str) -> list[int]:
    """Where a secret appears in a log. A short all-digit secret (a TOTP or recovery code) only
    counts as a token of its own: "264130" inside a byte count or a port such as "1264130", or
    inside a hex digest such as "d264130a" (a signature in a debug log), is part of another
    token, not a leak; anything else counts wherever it appears."""
    pattern = re.escape(secret)
    if secret.isdigit() and len(secret) < 10:
        pattern = rf"(?<![0-9A-Za-z]){pattern}(?![0-9A-Za-z])"
    return [m.start() for m in re.finditer(pattern, text)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every test: grep all logs of the suite (Django's and the servers') for every
    secret any test registered. One hit fails the run."""
    if not _is_controller(session.config):
        return
    secrets: set[str] = set()
    for file in SECRETS_DIR.glob("*.txt"):
        secrets.update(line.rstrip("\n") for line in file.read_text().splitlines() if line.strip())
    leaks = []
    for log in (Path(settings.VAR_DIR) / "test-logs").glob("*.log"):
        text = log.read_text(errors="replace")
        for secret in secrets:
            for found in _occurrences(secret, text):
                line_start = text.rfind("\n", 0, found) + 1
                line_end = text.find("\n", found)
                line = text[line_start : line_end if line_end >= 0 else None]
                # Said without the secret itself, so that the report can be read in CI.
                leaks.append((log.name, secret[:2] + "…", line.replace(secret, "▒" * len(secret))[:300]))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if leaks:
        if reporter:
            reporter.write_line(f"SECRETS FOUND IN LOGS: {leaks[:20]}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter:
        reporter.write_line(f"No secret in logs ({len(secrets)} secrets checked).")


def french(msgid: str, **params: object) -> str:
    """The French text users see for an English msgid; fails if it is not translated.

    Tests assert `french("…") in page`, which proves both that the message is shown and that
    it reaches the user in French. Apostrophes and quotes are HTML-escaped as Django does.
    """
    from django.utils import translation
    from django.utils.html import escape
    from django.utils.translation import trans_real

    with translation.override("fr"):
        text = translation.gettext(msgid)
    assert msgid in trans_real.translation("fr")._catalog, f"not in the French catalogue: {msgid!r}"
    return escape(text % params if params else text)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that drives the browser is an end-to-end test, marked or not: `make test` runs
    those in a process of their own (see the Makefile)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _blob_store(tmp_path: Path, settings: Any) -> Iterator[None]:
    """Each test stores files in its own folder (and no test sees another's blobs)."""
    from parvis.documents.storage import blob_store

    settings.PARVIS_BLOB_DIR = str(tmp_path / "blobs")
    settings.PARVIS_SPOOL_DIR = str(tmp_path / "spool")
    blob_store.cache_clear()
    yield
    blob_store.cache_clear()
