"""Bad input on every form and endpoint: a French message, nothing changed, never a 500.

The forms are found by reading the pages themselves: every `<form method="post">` a persona is
shown, plus every POST-only endpoint of the permission matrix. Each is sent hostile values (empty,
huge, NUL bytes, markup, SQL, RTL override, impossible dates and numbers, duplicated keys) one
field at a time and all at once. Whenever Parvis refuses (4xx), the database must be exactly as
before: same rows in every table, nothing logged but the refusal itself.
"""

import functools
import random
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import reverse

from tests.test_permission_matrix import MATRIX, PERSONAS, Objects, client_as, make_objects

NASTY = [
    "", " ", "\t\n", "x" * 10_000, "a\x00b", "<script>window.__xss=1</script>", "' OR 1=1 --",
    "\u202egnp.exe", "😀" * 50, "-1", "0", "99999999999999999999999", "2026-02-30", "25:99",
    "pas-une-adresse@", "@", "../../etc/passwd", "null", "[]", "{}",
]
ENGLISH = ["This field is required", "Enter a valid", "Select a valid choice", "Ensure this value",
           "has errors", "Invalid"]
# Rows that a refusal may legitimately add: the refusal's own trace and throttle counters.
IGNORED_MODELS = {"core.authfailure", "core.usersession", "sessions.session"}
APPS = ("core", "spaces", "sessions", "documents", "chat")


class FormFields(HTMLParser):
    """Names of the fields of the POST forms that submit to `url`."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url, self.inside, self.names = url, False, set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            posts = (a.get("method") or "").lower() == "post"
            self.inside = posts and a.get("action") in (None, "", self.url)
        elif (
            self.inside
            and tag in ("input", "select", "textarea")
            and a.get("name") not in (None, "csrfmiddlewaretoken")
        ):
            self.names.add(str(a["name"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


@functools.cache
def _snapshot_sql() -> str:
    """One query counting the rows of every table a refusal must leave alone (one statement
    instead of one per table: the test takes thousands of snapshots)."""
    parts = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label in APPS and label not in IGNORED_MODELS:
            where = " WHERE action NOT LIKE '%%failed'" if label == "core.auditevent" else ""
            parts.append(f"SELECT '{label}', COUNT(*) FROM {model._meta.db_table}{where}")  # noqa: S608
    return " UNION ALL ".join(parts)


def snapshot() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_snapshot_sql())
        return dict(cursor.fetchall())


def endpoints(o: Objects) -> list[tuple[str, str, str, set[str]]]:
    """(url name, url, persona, field names) for every form and POST endpoint."""
    found = []
    for name, entry in sorted(MATRIX.items()):
        url = reverse(name, kwargs=entry.kwargs(o))
        if entry.post is not None:
            # Someone allowed to post; else (a look-up that always fails) anyone signed in.
            persona = next((p for p in PERSONAS if entry.post[p] in (302, 400)), "elu")
            found.append((name, url, persona, set()))
            continue
        persona = next((p for p in PERSONAS if entry.get[p] == 200), None)
        if persona is None:
            continue
        page = client_as(o, persona).get(url)
        if page.streaming or not page.get("Content-Type", "").startswith("text/html"):
            continue  # a download or a picture, not a page
        parser = FormFields(url)
        parser.feed(page.content.decode())
        if parser.names:
            found.append((name, url, persona, parser.names))
    return found


def payloads(fields: set[str], rng: random.Random) -> list[dict[str, Any]]:
    fields = fields or {"name", "email", "role", "code", "active", "direction", "decision"}
    cases: list[dict[str, Any]] = [{}]
    for field in sorted(fields):  # two values per field (each slice draws others), then all at once
        for value in rng.sample(NASTY, 2):
            cases.append({field: value})
    for _ in range(3):
        cases.append({f: rng.choice(NASTY) for f in fields})
    cases.append({f: [rng.choice(NASTY), rng.choice(NASTY)] for f in fields})  # repeated keys
    return cases


def test_every_form_of_the_interface_is_exercised(db: None) -> None:
    names = {name for name, *_ in endpoints(make_objects())}
    for expected in ("core:login", "core:password_change", "core:app_passwords", "spaces:create",
                     "spaces:members", "spaces:codes", "spaces:code_entry", "core:admin_group_new",
                     "documents:folder_new", "documents:rename", "documents:move", "documents:share",
                     "documents:folder_rights", "documents:upload", "documents:upload_start",
                     "chat:channel_new", "chat:post", "chat:direct_new", "chat:edit", "chat:react"):
        assert expected in names


@pytest.mark.parametrize("index", range(8))
def test_bad_input_gets_a_french_answer_and_changes_nothing(index: int, db: None) -> None:
    """The endpoints are split into 8 slices so the work spreads over the test workers."""
    o = make_objects()
    problems = []
    rng = random.Random(index)
    for name, url, persona, fields in endpoints(o)[index::8]:
        for data in payloads(fields, rng):
            savepoint = transaction.savepoint()
            try:
                before = snapshot()
                response = client_as(o, persona).post(url, data)
                body = response.content.decode(errors="replace")
                status = response.status_code
                if status >= 500:
                    problems.append(f"{name} {sorted(data)}: {status}")
                if 400 <= status < 500:
                    english = [e for e in ENGLISH if e in body]
                    if english:
                        problems.append(f"{name} {sorted(data)}: English message {english}")
                    if snapshot() != before:
                        problems.append(f"{name} {sorted(data)}: refused ({status}) but data changed")
                if response.get("Content-Type", "").startswith("application/json"):
                    said = response.json()
                    if status >= 400 and not (said.get("error") or said.get("errors")):
                        problems.append(f"{name} {sorted(data)}: {status} without an error message")
                elif status == 400 and 'class="errorlist' not in body and 'role="alert"' not in body:
                    problems.append(f"{name} {sorted(data)}: 400 without an error message")
            finally:
                transaction.savepoint_rollback(savepoint)
    assert problems == []
