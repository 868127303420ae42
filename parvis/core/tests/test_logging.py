"""Secrets stay out of logs: requests are logged by route pattern, never by raw path, and a
filter on every handler masks tokens in paths and `password=`-like pairs as a second belt."""

import logging
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from parvis.core.logging import RedactSecretsFilter, redact
from parvis.core.tests.accounts import reset_link

RESET_ROUTE = "/mot-de-passe/reinitialiser/<uidb64>/<token>/"


# --- The filter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("GET /mot-de-passe/reinitialiser/MTI/cz1k2f-4b9e0c1d2e3f/ 200", "cz1k2f-4b9e0c1d2e3f"),
        ("Not Found: /invitation/q8Zr1X_tok-en42LONG/", "q8Zr1X_tok-en42LONG"),
        ('"GET /invitation/q8Zr1X_tok-en42LONG/?next=/ HTTP/1.1" 302', "q8Zr1X_tok-en42LONG"),
        ("email=elu%40saint-aubin.localhost&password=hunter2hunter2", "hunter2hunter2"),
        ("old_password=ancien-secret&new_password1=nouveau-secret", "ancien-secret"),
        ("old_password=ancien-secret&new_password1=nouveau-secret", "nouveau-secret"),
        ("new_password2=nouveau-secret", "nouveau-secret"),
        ("Cookie: csrftoken=Xc5rfT0k3n; sessionid=abcdef123456", "Xc5rfT0k3n"),
        ("Cookie: csrftoken=Xc5rfT0k3n; sessionid=abcdef123456", "abcdef123456"),
        ("POST /connexion/second-facteur/ code=492817", "492817"),
        ("TOKEN=ABCDEF123456", "ABCDEF123456"),
    ],
)
def test_the_filter_masks_secrets_in_paths_and_pairs(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned
    assert "[masqué]" in cleaned


def test_the_filter_keeps_what_is_not_secret():
    line = "GET /compte/sessions/ 200 12ms"
    assert redact(line) == line
    assert redact(f"GET {RESET_ROUTE} 302 3ms") == f"GET {RESET_ROUTE} 302 3ms"  # a pattern, not a token
    assert redact("email=elu%40saint-aubin.localhost&password=x").startswith(
        "email=elu%40saint-aubin.localhost&password="
    )


def test_the_filter_rewrites_a_record_whose_arguments_hold_a_token():
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        ("/invitation/s3cr3t-t0ken/",),
        None,
    )
    assert RedactSecretsFilter().filter(record) is True  # masked, never dropped
    assert record.getMessage() == "Internal Server Error: /invitation/[masqué]/"


def test_every_handler_of_the_project_uses_the_filter():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "redact" in handler.get("filters", []), name
    assert settings.LOGGING["filters"]["redact"]["()"] == "parvis.core.logging.RedactSecretsFilter"


# --- The request log ----------------------------------------------------------------------------


def test_a_reset_link_is_logged_by_its_route_pattern_never_with_its_token(world, caplog, secrets_registry):
    Client().post(reverse("core:password_reset"), {"email": world.elu.email})
    path = reset_link(secrets_registry)
    token = path.strip("/").split("/")[-1]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="parvis.request"):
        response = Client().get(path)
    assert response.status_code == 302
    [line] = [r.getMessage() for r in caplog.records if r.name == "parvis.request"]
    assert line.startswith(f"GET {RESET_ROUTE} 302 ")
    assert not any(token in r.getMessage() for r in caplog.records)


def test_the_log_file_holds_the_pattern_and_not_the_token(world, secrets_registry):
    """The same request, read back from the file the handler writes (through the filter)."""
    log_file = Path(settings.LOGGING["handlers"]["file"]["filename"])
    Client().post(reverse("core:password_reset"), {"email": world.elu.email})
    path = reset_link(secrets_registry)
    token = path.strip("/").split("/")[-1]
    start = log_file.stat().st_size if log_file.exists() else 0
    Client().get(path, follow=True)
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = log_file.read_bytes()[start:].decode(errors="replace")
    assert f"GET {RESET_ROUTE} 302" in written
    assert token not in written


def test_an_unknown_path_is_logged_without_its_text(world, caplog):
    with caplog.at_level(logging.INFO, logger="parvis.request"):
        Client().get("/nulle-part/jeton-secret-dans-le-chemin/")
    [line] = [r.getMessage() for r in caplog.records if r.name == "parvis.request"]
    assert line.startswith("GET [hors route] 404 ")
    assert "jeton-secret" not in line
