"""App passwords for WebDAV and CalDAV clients: shown once, kept as a digest only, revocable
one by one, and guarded by the same throttles as the sign-in form."""

import hashlib
import io
import re

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from conftest import french
from parvis.core.auth import app_password_login
from parvis.core.models import AppPassword, AuditEvent, User

APP_PASSWORDS = reverse("core:app_passwords")
SECRET = re.compile(r'<span class="code-box" id="app-password">([a-z0-9-]+)</span>')
MAIRIE = "198.51.100.20"


def create_from_the_profile(client, name: str, secrets_registry) -> str:  # type: ignore[no-untyped-def]
    response = client.post(APP_PASSWORDS, {"name": name})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    [secret] = SECRET.findall(response.content.decode())
    secrets_registry.add(secret)
    return secret


def from_the_command_line(email: str, secrets_registry, *args: str) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("create_app_password", email, *args, stdout=out)
    secret = out.getvalue().strip()
    secrets_registry.add(secret)
    return secret


def wrong(n: int, secrets_registry) -> str:  # type: ignore[no-untyped-def]
    guess = f"aaaaa-bbbbb-ccccc-ddddd-{n:05d}"
    secrets_registry.add(guess)
    return guess


# --- Creating one -------------------------------------------------------------------------------


def test_she_creates_one_from_her_profile_and_sees_it_once(world, client_for, secrets_registry):
    elu = client_for("elu")
    secret = create_from_the_profile(elu, "PC du bureau", secrets_registry)
    assert re.fullmatch(r"([a-z2-9]{5}-){4}[a-z2-9]{5}", secret)
    listing = elu.get(APP_PASSWORDS).content.decode()
    assert "PC du bureau" in listing
    assert secret not in listing
    assert app_password_login(world.elu.email, secret, MAIRIE) == world.elu


def test_only_its_sha256_digest_is_stored(world, client_for, secrets_registry):
    secret = create_from_the_profile(client_for("elu"), "Portable", secrets_registry)
    stored = AppPassword.objects.get(user=world.elu)
    assert stored.secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    row = AppPassword.objects.filter(pk=stored.pk).values().get()
    assert not any(secret in str(value) for value in row.values())
    event = AuditEvent.objects.get(action="account.app_password_created")
    assert event.object_label == "Portable"


def test_the_command_prints_one_that_works(world, secrets_registry):
    secret = from_the_command_line(world.elu.email, secrets_registry, "--name", "Thunderbird")
    assert app_password_login(world.elu.email, secret, "127.0.0.1") == world.elu
    assert AppPassword.objects.get(user=world.elu).name == "Thunderbird"


def test_the_command_names_it_in_french_by_default(world, secrets_registry):
    from_the_command_line(world.elu.email.upper(), secrets_registry)
    assert AppPassword.objects.get(user=world.elu).name == french("Command line")


def test_the_command_refuses_an_unknown_address_in_french(world):
    with pytest.raises(CommandError) as refused:
        call_command("create_app_password", "personne@nulle-part.localhost", stdout=io.StringIO())
    assert str(refused.value) == french(
        "No active account with the address %(email)s.", email="personne@nulle-part.localhost"
    )


def test_it_works_with_her_address_only(world, secrets_registry):
    secret = from_the_command_line(world.elu.email, secrets_registry)
    assert app_password_login(world.maire.email, secret, MAIRIE) is None
    assert app_password_login(world.elu.email, secret.upper() + " ", MAIRIE) == world.elu


def test_it_stops_working_when_her_account_is_disabled(world, secrets_registry):
    secret = from_the_command_line(world.elu.email, secrets_registry)
    User.objects.filter(pk=world.elu.pk).update(is_active=False)
    assert app_password_login(world.elu.email, secret, MAIRIE) is None


# --- Revoking one -------------------------------------------------------------------------------


def test_a_revoked_app_password_no_longer_works(world, client_for, secrets_registry):
    elu = client_for("elu")
    office = create_from_the_profile(elu, "PC du bureau", secrets_registry)
    phone = create_from_the_profile(elu, "Téléphone", secrets_registry)
    pk = AppPassword.objects.get(user=world.elu, name="PC du bureau").pk
    response = elu.post(reverse("core:app_password_revoke", args=[pk]), follow=True)
    assert (
        french("The app password “%(name)s” has been revoked.", name="PC du bureau")
        in response.content.decode()
    )
    assert app_password_login(world.elu.email, office, MAIRIE) is None
    assert app_password_login(world.elu.email, phone, MAIRIE) == world.elu  # the others still work


def test_nobody_revokes_someone_elses(world, client_for, secrets_registry):
    secret = create_from_the_profile(client_for("elu"), "PC du bureau", secrets_registry)
    url = reverse("core:app_password_revoke", args=[AppPassword.objects.get(user=world.elu).pk])
    assert client_for("maire").post(url).status_code == 404
    assert client_for("secretaire").post(url).status_code == 404
    assert client_for("elu").get(url).status_code == 405
    assert app_password_login(world.elu.email, secret, MAIRIE) == world.elu


# --- Throttles and audit ------------------------------------------------------------------------


def test_the_limits_are_those_of_the_sign_in_form(settings):
    assert settings.PARVIS_THROTTLES["app_password"] == settings.PARVIS_THROTTLES["login"]


def test_five_failures_from_one_address_hold_that_address_for_this_account(world, secrets_registry):
    secret = from_the_command_line(world.elu.email, secrets_registry)
    pair_limit = settings.PARVIS_THROTTLES["app_password"]["pair"][0]
    for n in range(pair_limit):
        assert app_password_login(world.elu.email, wrong(n, secrets_registry), MAIRIE) is None
    assert app_password_login(world.elu.email, secret, MAIRIE) is None  # even the right one
    assert app_password_login(world.elu.email, secret, "192.0.2.55") == world.elu  # from home
    maire = from_the_command_line(world.maire.email, secrets_registry)
    assert app_password_login(world.maire.email, maire, MAIRIE) == world.maire  # a colleague
    reasons = list(
        AuditEvent.objects.filter(action="auth.app_password_failed")
        .order_by("pk")
        .values_list("data__reason", flat=True)
    )
    assert reasons == ["bad_credentials"] * pair_limit + ["throttled"]


def test_failures_from_many_addresses_hold_the_account(world, secrets_registry):
    secret = from_the_command_line(world.elu.email, secrets_registry)
    account_limit = settings.PARVIS_THROTTLES["app_password"]["account"][0]
    for n in range(account_limit):
        assert app_password_login(world.elu.email, wrong(n, secrets_registry), f"192.0.2.{n + 1}") is None
    assert app_password_login(world.elu.email, secret, "203.0.113.200") is None
    maire = from_the_command_line(world.maire.email, secrets_registry)
    assert app_password_login(world.maire.email, maire, "203.0.113.200") == world.maire


def test_one_address_trying_many_accounts_is_held(world, secrets_registry):
    secret = from_the_command_line(world.elu.email, secrets_registry)
    address_limit = settings.PARVIS_THROTTLES["app_password"]["address"][0]
    guess = wrong(0, secrets_registry)
    for n in range(address_limit):
        assert app_password_login(f"agent{n}@saint-aubin.localhost", guess, "203.0.113.66") is None
    assert app_password_login(world.elu.email, secret, "203.0.113.66") is None
    assert app_password_login(world.elu.email, secret, MAIRIE) == world.elu


def test_every_failure_is_audited_naming_the_account_only_if_it_exists(world, secrets_registry):
    guess = wrong(1, secrets_registry)
    app_password_login(world.elu.email, guess, MAIRIE)
    app_password_login("personne@nulle-part.localhost", guess, MAIRIE)
    events = AuditEvent.objects.filter(action="auth.app_password_failed").order_by("pk")
    assert [(e.object_id, e.ip, e.data) for e in events] == [
        (str(world.elu.pk), MAIRIE, {"reason": "bad_credentials"}),
        ("", MAIRIE, {"reason": "bad_credentials"}),
    ]
    # The typed value is registered: the suite fails if it reached the audit or a log.


def test_a_success_forgives_that_addresses_earlier_typos(world, secrets_registry):
    secret = from_the_command_line(world.elu.email, secrets_registry)
    for n in range(4):
        app_password_login(world.elu.email, wrong(n, secrets_registry), MAIRIE)
    assert app_password_login(world.elu.email, secret, MAIRIE) == world.elu
    for n in range(4):
        app_password_login(world.elu.email, wrong(n, secrets_registry), MAIRIE)
    assert app_password_login(world.elu.email, secret, MAIRIE) == world.elu
