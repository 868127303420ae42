"""`manage.py serve`: several web processes only with Redis, which carries their real-time news
to each other's pages; the refusal is in French and starts nothing."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import translation


@override_settings(REDIS_URL="")
def test_several_processes_without_redis_are_refused_in_french(monkeypatch):
    started = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append(k))
    with (
        translation.override("fr"),
        pytest.raises(CommandError, match="Plusieurs processus web ont besoin de Redis"),
    ):
        call_command("serve", "--no-worker", "--processes", "2")
    assert started == []


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
def test_several_processes_with_redis_share_the_port(monkeypatch):
    started = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append(k))
    call_command("serve", "--no-worker", "--processes", "2", "--port", "8123")
    assert started[0]["workers"] == 2
    assert started[0]["port"] == 8123
