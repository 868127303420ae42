"""Signing in: password, second factor, throttles that never lock a whole mairie out."""

import pyotp
import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import french
from parvis.core.audit import Actor
from parvis.core.auth import KNOWN_DEVICE_COOKIE, confirm_totp
from parvis.core.models import AuditEvent, UserSession
from parvis.core.tests.factories import PASSWORD

LOGIN = reverse("core:login")


def sign_in(client: Client, email: str, password: str = PASSWORD, ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_it_signs_in_with_email_and_password_and_records_the_session(world, secrets_registry):
    client = Client()
    response = sign_in(client, "ELU@saint-aubin.localhost")
    assert response.status_code == 302
    assert response["Location"] == "/"
    session = UserSession.objects.get(user=world.elu)
    assert session.ip == "203.0.113.7"
    secrets_registry.add(client.cookies["sessionid"].value)
    assert AuditEvent.objects.filter(action="auth.login", object_id=str(world.elu.pk)).count() == 1


def test_it_refuses_a_wrong_password_in_french_and_audits_without_the_password(world):
    response = sign_in(Client(), world.elu.email, "pas-le-bon-mot-de-passe")
    assert response.status_code == 400
    assert french("Incorrect e-mail address or password.") in response.content.decode()
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.object_id == str(world.elu.pk)
    assert "pas-le-bon" not in str(event.data)


def test_it_locks_the_account_and_address_after_five_failures_but_not_a_colleague(world):
    mairie = "198.51.100.20"
    for _ in range(5):
        assert sign_in(Client(), world.elu.email, "mauvais-mot-de-passe", ip=mairie).status_code == 400
    locked = sign_in(Client(), world.elu.email, PASSWORD, ip=mairie)
    assert locked.status_code == 429
    assert (
        french(
            "Too many failed attempts. For your security, signing in to this account from this "
            "address is suspended for %(minutes)d minutes.",
            minutes=15,
        )
        in locked.content.decode()
    )
    # A colleague behind the same public address signs in normally.
    assert sign_in(Client(), world.maire.email, PASSWORD, ip=mairie).status_code == 302
    # The same person from home is not held by the (account, address) lock.
    assert sign_in(Client(), world.elu.email, PASSWORD, ip="192.0.2.55").status_code == 302


def test_twenty_agents_behind_one_address_with_typos_are_never_locked_out_together(world):
    from parvis.core.tests.factories import make_user, member

    mairie = "198.51.100.30"
    agents = [make_user() for _ in range(20)]
    for agent in agents:
        member(world.org, agent)
        for _ in range(2):  # two typos each: forty failures from one address
            sign_in(Client(), agent.email, "faute-de-frappe", ip=mairie)
    assert all(sign_in(Client(), a.email, PASSWORD, ip=mairie).status_code == 302 for a in agents)


def test_an_address_spraying_many_accounts_is_stopped(world, settings):
    settings.PARVIS_THROTTLES = {
        **settings.PARVIS_THROTTLES,
        "login": {"pair": (5, 900), "account": (20, 3600), "address": (10, 3600)},
    }
    for n in range(10):
        sign_in(Client(), f"inconnu{n}@exemple.localhost", "x" * 12, ip="203.0.113.99")
    assert sign_in(Client(), world.elu.email, PASSWORD, ip="203.0.113.99").status_code == 429


def test_a_known_browser_is_not_locked_out_by_attacks_on_its_account_from_elsewhere(world, settings):
    settings.PARVIS_THROTTLES = {
        **settings.PARVIS_THROTTLES,
        "login": {"pair": (5, 900), "account": (3, 3600), "address": (100, 3600)},
    }
    own = Client()
    assert sign_in(own, world.elu.email).status_code == 302
    assert own.cookies[KNOWN_DEVICE_COOKIE].value
    own.post(reverse("core:logout"))
    for n in range(6):
        sign_in(Client(), world.elu.email, "attaque-par-force-brute", ip=f"192.0.2.{n + 1}")
    assert sign_in(Client(), world.elu.email, ip="192.0.2.200").status_code == 429
    assert sign_in(own, world.elu.email).status_code == 302


def test_a_huge_password_is_refused_quickly_without_hashing(world):
    response = sign_in(Client(), world.elu.email, "a" * 1_000_000)
    assert response.status_code == 400


def test_logout_is_a_post_and_ends_the_session(world):
    client = Client()
    sign_in(client, world.elu.email)
    key = client.cookies["sessionid"].value
    assert client.get(reverse("core:logout")).status_code == 405
    assert client.post(reverse("core:logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()


@pytest.fixture
def elu_with_totp(world, secrets_registry):
    device = TOTPDevice.objects.create(user=world.elu, name="Téléphone", confirmed=False)
    codes = confirm_totp(Actor(world.elu), device)
    secrets_registry.add(device.key, pyotp.TOTP(_b32(device)).now(), *codes)
    return device, codes


def _b32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode()


def test_with_two_factor_the_password_alone_does_not_open_the_session(world, elu_with_totp, secrets_registry):
    device, _ = elu_with_totp
    client = Client()
    response = sign_in(client, world.elu.email)
    assert response["Location"] == reverse("core:login_second_factor")
    assert client.get(reverse("core:profile")).status_code == 302  # not signed in yet
    code = pyotp.TOTP(_b32(device)).now()
    secrets_registry.add(code)
    response = client.post(reverse("core:login_second_factor"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("core:profile")).status_code == 200


def test_a_totp_code_is_accepted_once_only(world, elu_with_totp, secrets_registry):
    device, _ = elu_with_totp
    code = pyotp.TOTP(_b32(device)).now()
    secrets_registry.add(code)
    first = Client()
    sign_in(first, world.elu.email)
    assert first.post(reverse("core:login_second_factor"), {"code": code}).status_code == 302
    second = Client()
    sign_in(second, world.elu.email)
    replay = second.post(reverse("core:login_second_factor"), {"code": code})
    assert replay.status_code == 400
    assert (
        "Ce code n’est pas valide" in replay.content.decode()
        or "Ce code n'est pas valide" in replay.content.decode()
    )


def test_a_recovery_code_works_once(world, elu_with_totp):
    _, codes = elu_with_totp
    client = Client()
    sign_in(client, world.elu.email)
    assert client.post(reverse("core:login_second_factor"), {"code": codes[0]}).status_code == 302
    again = Client()
    sign_in(again, world.elu.email)
    assert again.post(reverse("core:login_second_factor"), {"code": codes[0]}).status_code == 400


def test_wrong_second_factor_codes_are_throttled(world, elu_with_totp):
    client = Client()
    sign_in(client, world.elu.email)
    statuses = [
        client.post(reverse("core:login_second_factor"), {"code": "000000"}).status_code for _ in range(6)
    ]
    assert statuses[:5] == [400] * 5
    assert statuses[5] == 429
