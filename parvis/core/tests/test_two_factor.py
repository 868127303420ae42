"""The second factor from her profile: a QR code and a key to type, one code to confirm, ten
recovery codes shown once; turning it off needs her password; her other sessions end when she
asks (and always when she turns it off)."""

import base64
import io
import re

import pytest
import segno
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import french
from parvis.core.auth import has_second_factor
from parvis.core.models import AuditEvent
from parvis.core.tests.accounts import SECOND_FACTOR, sign_in, signed_in, totp_code
from parvis.core.tests.factories import PASSWORD

SECURITY = reverse("core:security")
ENABLE = reverse("core:totp_enable")
QR = reverse("core:totp_qr")
DISABLE = reverse("core:totp_disable")
RECOVERY = reverse("core:recovery_codes")
CODES = re.compile(r'<ul class="codes" id="recovery-codes">(.*?)</ul>', re.S)


def grouped(device: TOTPDevice) -> str:
    """The key as the page shows it for typing by hand: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def shown_codes(page: str) -> list[str]:
    [listing] = CODES.findall(page)
    return re.findall(r"<li>(\d+)</li>", listing)


def pending(user) -> TOTPDevice:  # type: ignore[no-untyped-def]
    return TOTPDevice.objects.get(user=user, confirmed=False)


def turn_on(client: Client, user, secrets_registry, end_other_sessions: bool = True):  # type: ignore[no-untyped-def]
    """Open the page, then type the code her application shows for the new key."""
    assert client.get(ENABLE).status_code == 200
    device = pending(user)
    data = {"code": totp_code(device, secrets_registry)}
    if end_other_sessions:
        data["end_other_sessions"] = "on"
    response = client.post(ENABLE, data)
    if response.status_code == 200:
        secrets_registry.add(*shown_codes(response.content.decode()))
    return response, device


@pytest.fixture
def elu(world, secrets_registry):  # type: ignore[no-untyped-def]
    """The elu signed in with her password, from the town hall."""
    client = Client()
    sign_in(client, world.elu.email, secrets_registry)
    return client


# --- Enrolment ----------------------------------------------------------------------------------


def test_the_page_shows_a_qr_code_and_the_key_to_type_by_hand(world, elu, secrets_registry):
    page = elu.get(ENABLE)
    assert page.status_code == 200
    device = pending(world.elu)
    secrets_registry.add(device.key, grouped(device))
    html = page.content.decode()
    assert f'<img src="{QR}"' in html
    assert f'<code id="totp-secret">{grouped(device)}</code>' in html
    assert french("If you cannot scan it, type this key in the application:") in html
    assert not has_second_factor(world.elu)


def test_the_qr_code_is_an_svg_never_cached(world, elu, secrets_registry):
    elu.get(ENABLE)
    secrets_registry.add(pending(world.elu).key)
    response = elu.get(QR)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "no-store"
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg  # without it, an <img> shows nothing


def test_the_qr_code_is_the_one_of_her_own_pending_device(world, elu, client_for, secrets_registry):
    """The same pending device (and so the same picture) until she confirms it; a colleague's
    request draws the colleague's own new key, never hers; once confirmed, her key is never
    drawn again: the page offers a fresh one."""

    def drawn(url: str) -> bytes:
        """The provisioning URL drawn as the view draws it."""
        out = io.BytesIO()
        segno.make(url, error="m").save(
            out, kind="svg", xmldecl=False, scale=5, dark="#1b1b1b", light="#ffffff"
        )
        return out.getvalue()

    first = elu.get(QR).content
    device = pending(world.elu)
    secrets_registry.add(device.key)
    assert first == drawn(device.config_url)
    assert world.elu.email.replace("@", "%40") in device.config_url
    assert "issuer=Parvis" in device.config_url
    assert elu.get(QR).content == first
    colleague = client_for("maire").get(QR).content
    secrets_registry.add(pending(world.maire).key)
    assert colleague != first
    assert colleague == drawn(pending(world.maire).config_url)
    response, confirmed = turn_on(elu, world.elu, secrets_registry)
    assert response.status_code == 200
    after = elu.get(QR).content
    fresh = pending(world.elu)
    secrets_registry.add(fresh.key)
    assert fresh.pk != confirmed.pk
    assert after == drawn(fresh.config_url) != first
    assert grouped(confirmed) not in elu.get(ENABLE).content.decode()


def test_the_qr_code_needs_a_signed_in_person(world):
    response = Client().get(QR)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))
    assert not TOTPDevice.objects.exists()


def test_a_good_code_turns_it_on_and_shows_ten_recovery_codes_once(world, elu, secrets_registry):
    response, device = turn_on(elu, world.elu, secrets_registry)
    assert response.status_code == 200
    html = response.content.decode()
    codes = shown_codes(html)
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 10 for code in codes)
    assert french("Two-factor authentication is on.") in html
    device.refresh_from_db()
    assert device.confirmed
    assert has_second_factor(world.elu)
    stored = set(StaticToken.objects.filter(device__user=world.elu).values_list("token", flat=True))
    assert stored == set(codes)
    security = elu.get(SECURITY).content.decode()
    assert not any(code in security for code in codes)  # never shown again
    assert AuditEvent.objects.filter(action="account.2fa_enabled", object_id=str(world.elu.pk)).count() == 1


def test_a_wrong_code_is_refused_in_french_and_leaves_it_off(world, elu, secrets_registry):
    elu.get(ENABLE)
    secrets_registry.add(pending(world.elu).key)
    response = elu.post(ENABLE, {"code": "123456", "end_other_sessions": "on"})
    assert response.status_code == 400
    assert (
        french("This code is not valid. Check your phone's clock and try again.") in response.content.decode()
    )
    assert not has_second_factor(world.elu)
    assert not StaticDevice.objects.filter(user=world.elu).exists()


def test_the_code_that_turned_it_on_cannot_sign_in_again(world, elu, secrets_registry):
    """A TOTP code works once (ASVS 6.5.1), including the one typed to confirm the device."""
    _, device = turn_on(elu, world.elu, secrets_registry)
    used = totp_code(device, secrets_registry)
    browser = Client()
    sign_in(browser, world.elu.email, secrets_registry)
    assert browser.post(SECOND_FACTOR, {"code": used}).status_code == 400
    assert not signed_in(browser)


def test_once_on_the_password_alone_no_longer_opens_her_account(world, elu, secrets_registry):
    turn_on(elu, world.elu, secrets_registry)
    browser = Client()
    assert sign_in(browser, world.elu.email, secrets_registry)["Location"] == SECOND_FACTOR
    assert not signed_in(browser)


def test_turning_it_on_can_sign_out_her_other_sessions(world, elu, secrets_registry):
    home = Client()
    sign_in(home, world.elu.email, secrets_registry, ip="192.0.2.44")
    response, _ = turn_on(elu, world.elu, secrets_registry, end_other_sessions=True)
    assert response.status_code == 200
    assert not signed_in(home)
    assert signed_in(elu)


def test_turning_it_on_keeps_her_other_sessions_when_she_unticks_the_box(world, elu, secrets_registry):
    home = Client()
    sign_in(home, world.elu.email, secrets_registry, ip="192.0.2.44")
    response, _ = turn_on(elu, world.elu, secrets_registry, end_other_sessions=False)
    assert response.status_code == 200
    assert signed_in(home)
    assert signed_in(elu)


# --- Turning it off -----------------------------------------------------------------------------


def test_turning_it_off_needs_her_password(world, elu, secrets_registry):
    turn_on(elu, world.elu, secrets_registry)
    secrets_registry.add("ce-n-est-pas-le-bon")
    response = elu.post(DISABLE, {"password": "ce-n-est-pas-le-bon"})
    assert response.status_code == 400
    assert french("Your password is not correct.") in response.content.decode()
    assert has_second_factor(world.elu)


def test_turning_it_off_ends_her_other_sessions(world, elu, secrets_registry):
    turn_on(elu, world.elu, secrets_registry, end_other_sessions=False)
    home = Client()
    sign_in(home, world.elu.email, secrets_registry, ip="192.0.2.44")
    home.post(SECOND_FACTOR, {"code": StaticToken.objects.filter(device__user=world.elu).first().token})
    assert signed_in(home)
    response = elu.post(DISABLE, {"password": PASSWORD}, follow=True)
    assert french("Two-factor authentication is off. Your other sessions have ended.") in (
        response.content.decode()
    )
    assert not has_second_factor(world.elu)
    assert not StaticDevice.objects.filter(user=world.elu).exists()
    assert not signed_in(home)
    assert signed_in(elu)


# --- Recovery codes -----------------------------------------------------------------------------


def test_new_recovery_codes_need_a_session_verified_with_the_second_factor(world, elu, secrets_registry):
    turn_on(elu, world.elu, secrets_registry)
    before = set(StaticToken.objects.filter(device__user=world.elu).values_list("token", flat=True))
    unverified = Client()
    unverified.force_login(world.elu)  # a session that never typed a code
    secrets_registry.add(unverified.cookies["sessionid"].value)
    response = unverified.post(RECOVERY, follow=True)
    assert french("Sign in again with your second factor to do this.") in response.content.decode()
    assert set(StaticToken.objects.filter(device__user=world.elu).values_list("token", flat=True)) == before


def test_new_recovery_codes_replace_the_old_ones(world, elu, secrets_registry):
    first, _ = turn_on(elu, world.elu, secrets_registry)
    old = shown_codes(first.content.decode())
    response = elu.post(RECOVERY)  # her session confirmed the device: it is verified
    assert response.status_code == 200
    new = shown_codes(response.content.decode())
    secrets_registry.add(*new)
    assert len(new) == 10
    assert not set(new) & set(old)
    with_new, with_old = Client(), Client()
    sign_in(with_new, world.elu.email, secrets_registry)
    assert with_new.post(SECOND_FACTOR, {"code": new[0]}).status_code == 302
    assert signed_in(with_new)
    sign_in(with_old, world.elu.email, secrets_registry)
    assert with_old.post(SECOND_FACTOR, {"code": old[1]}).status_code == 400
    assert not signed_in(with_old)
