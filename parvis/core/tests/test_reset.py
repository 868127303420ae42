"""Self-service password reset: the same answer for every address, a one-hour link that works
once, every session ended, the second factor still asked, and requests throttled without
locking a mairie out."""

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import french
from parvis.core.audit import Actor
from parvis.core.auth import confirm_totp
from parvis.core.models import AuditEvent, UserSession
from parvis.core.tests.accounts import SECOND_FACTOR, reset_link, sign_in, signed_in, totp_code

RESET = reverse("core:password_reset")
DONE = reverse("core:password_reset_done")
NEW_PASSWORD = "le clocher sonne midi sur la place du marché"


def ask_for_a_link(email: str, ip: str = "203.0.113.7", client: Client | None = None):  # type: ignore[no-untyped-def]
    return (client or Client()).post(RESET, {"email": email}, REMOTE_ADDR=ip)


def without_csrf_token(page: bytes) -> bytes:
    """A page with its CSRF token blanked: the token is masked afresh on every response."""
    return re.sub(rb'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', rb"\1", page)


def choose(client: Client, link: str, password: str, secrets_registry):  # type: ignore[no-untyped-def]
    """Open the link, then type the new password twice on the page it leads to."""
    secrets_registry.add(password)
    opened = client.get(link)
    assert opened.status_code == 302  # Django moves the token out of the address at once
    form_url = opened["Location"]
    assert form_url.endswith("/set-password/")
    return client.post(form_url, {"new_password1": password, "new_password2": password})


# --- No account enumeration ---------------------------------------------------------------------


def test_the_answer_is_the_same_whether_the_account_exists_or_not(world):
    known = ask_for_a_link(world.elu.email, client=Client())
    unknown = ask_for_a_link("personne@nulle-part.localhost", client=Client())
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == (302, DONE)
    known_page, unknown_page = Client().get(known["Location"]), Client().get(unknown["Location"])
    assert known_page.status_code == unknown_page.status_code == 200
    assert without_csrf_token(known_page.content) == without_csrf_token(unknown_page.content)
    assert (
        french(
            "If an account exists with this address, a message with a link has been sent. "
            "The link is valid for one hour."
        )
        in known_page.content.decode()
    )
    assert [m.to for m in mail.outbox] == [[world.elu.email]]


def test_both_requests_are_audited_and_only_the_real_account_is_named(world):
    ask_for_a_link(world.elu.email)
    ask_for_a_link("personne@nulle-part.localhost")
    events = AuditEvent.objects.filter(action="auth.password_reset_requested").order_by("pk")
    assert [e.object_id for e in events] == [str(world.elu.pk), ""]
    assert "nulle-part" not in str([(e.object_label, e.data) for e in events])


# --- The link -----------------------------------------------------------------------------------


def test_the_email_holds_a_one_hour_link_in_french(world, secrets_registry):
    ask_for_a_link(world.elu.email)
    [email] = mail.outbox
    assert email.to == [world.elu.email]
    reset_link(secrets_registry)
    assert (
        unescape(
            french(
                "Someone (probably you) asked to reset the password of your Parvis account. To choose "
                "a new password, open this link within one hour:"
            )
        )
        in email.body
    )
    assert email.subject == french("Reset your Parvis password")


def test_the_link_lets_her_choose_a_new_password_and_sign_in_with_it(world, secrets_registry):
    ask_for_a_link(world.elu.email)
    link = reset_link(secrets_registry)
    browser = Client()
    response = choose(browser, link, NEW_PASSWORD, secrets_registry)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:login")
    assert not signed_in(browser)  # the reset itself signs nobody in
    world.elu.refresh_from_db()
    assert world.elu.check_password(NEW_PASSWORD)
    assert sign_in(Client(), world.elu.email, secrets_registry, NEW_PASSWORD).status_code == 302


def test_a_weak_new_password_is_refused_in_french_and_the_link_still_works(world, secrets_registry):
    ask_for_a_link(world.elu.email)
    link = reset_link(secrets_registry)
    browser = Client()
    refused = choose(browser, link, "motdepasse2024!", secrets_registry)
    assert refused.status_code == 400
    assert french("This password is too common.") in refused.content.decode()
    form_url = browser.get(link)["Location"]
    secrets_registry.add(NEW_PASSWORD)
    again = browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert again.status_code == 302


def test_the_link_ends_all_her_sessions(world, secrets_registry):
    office, home = Client(), Client()
    sign_in(office, world.elu.email, secrets_registry)
    sign_in(home, world.elu.email, secrets_registry, ip="192.0.2.44")
    colleague = Client()
    sign_in(colleague, world.maire.email, secrets_registry)
    ask_for_a_link(world.elu.email)
    choose(Client(), reset_link(secrets_registry), NEW_PASSWORD, secrets_registry)
    assert not signed_in(office)
    assert not signed_in(home)
    assert not UserSession.objects.filter(user=world.elu).exists()
    assert signed_in(colleague)


def test_the_link_cannot_be_used_twice(world, secrets_registry):
    ask_for_a_link(world.elu.email)
    link = reset_link(secrets_registry)
    assert choose(Client(), link, NEW_PASSWORD, secrets_registry).status_code == 302
    second = Client()
    opened = second.get(link)
    assert opened.status_code == 200  # no redirection to the form: the token is spent
    assert french("Link no longer valid") in opened.content.decode()
    other = "une autre phrase de passe bien longue"
    secrets_registry.add(other)
    replay = second.post(link, {"new_password1": other, "new_password2": other})
    assert french("Link no longer valid") in replay.content.decode()
    world.elu.refresh_from_db()
    assert world.elu.check_password(NEW_PASSWORD)


def test_the_link_expires_after_one_hour(world, secrets_registry, monkeypatch):
    ask_for_a_link(world.elu.email)
    link = reset_link(secrets_registry)
    in_61_minutes = datetime.now() + timedelta(minutes=61)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: in_61_minutes)
    opened = Client().get(link, follow=True)
    assert french("Link no longer valid") in opened.content.decode()


def test_the_link_is_still_valid_after_59_minutes(world, secrets_registry, monkeypatch):
    ask_for_a_link(world.elu.email)
    link = reset_link(secrets_registry)
    in_59_minutes = datetime.now() + timedelta(minutes=59)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: in_59_minutes)
    assert choose(Client(), link, NEW_PASSWORD, secrets_registry).status_code == 302


def test_a_reset_does_not_skip_the_second_factor(world, secrets_registry):
    device = TOTPDevice.objects.create(user=world.elu, name="Téléphone", confirmed=False)
    secrets_registry.add(*confirm_totp(Actor(world.elu), device))
    ask_for_a_link(world.elu.email)
    choose(Client(), reset_link(secrets_registry), NEW_PASSWORD, secrets_registry)
    browser = Client()
    response = sign_in(browser, world.elu.email, secrets_registry, NEW_PASSWORD)
    assert response["Location"] == SECOND_FACTOR
    assert not signed_in(browser)
    assert browser.post(SECOND_FACTOR, {"code": totp_code(device, secrets_registry)}).status_code == 302
    assert signed_in(browser)


def test_no_session_survives_the_reset_not_even_the_browser_that_opened_the_link(world, secrets_registry):
    browser = Client()
    sign_in(browser, world.elu.email, secrets_registry)
    key = browser.cookies["sessionid"].value
    ask_for_a_link(world.elu.email, client=browser)
    choose(browser, reset_link(secrets_registry), NEW_PASSWORD, secrets_registry)
    assert not signed_in(browser)
    assert not Session.objects.filter(session_key=key).exists()


# --- Throttles ----------------------------------------------------------------------------------

THROTTLED = (
    "Too many failed attempts. For your security, signing in to this account from this "
    "address is suspended for %(minutes)d minutes."
)


def test_requests_for_one_account_from_one_address_stop_after_three(world):
    mairie = "198.51.100.20"
    assert [ask_for_a_link(world.elu.email, mairie).status_code for _ in range(3)] == [302] * 3
    refused = ask_for_a_link(world.elu.email, mairie)
    assert refused.status_code == 429
    assert french(THROTTLED, minutes=60) in refused.content.decode()
    assert len(mail.outbox) == 3
    # A colleague behind the same public address still gets her link…
    assert ask_for_a_link(world.maire.email, mairie).status_code == 302
    assert mail.outbox[-1].to == [world.maire.email]
    # …and so does the elu from home.
    assert ask_for_a_link(world.elu.email, "192.0.2.55").status_code == 302


def test_requests_for_one_account_stop_after_five_whatever_the_address(world):
    for n in range(5):
        assert ask_for_a_link(world.elu.email, f"192.0.2.{n + 1}").status_code == 302
    refused = ask_for_a_link(world.elu.email, "192.0.2.99")
    assert refused.status_code == 429
    assert french(THROTTLED, minutes=60) in refused.content.decode()
    assert len(mail.outbox) == 5
    # Colleagues are not held by someone else's account limit.
    assert ask_for_a_link(world.maire.email, "192.0.2.99").status_code == 302


def test_one_address_asking_for_many_accounts_stops_after_thirty(world):
    spray = "203.0.113.66"
    for n in range(30):
        assert ask_for_a_link(f"agent{n}@saint-aubin.localhost", spray).status_code == 302
    refused = ask_for_a_link(world.elu.email, spray)
    assert refused.status_code == 429
    assert french(THROTTLED, minutes=60) in refused.content.decode()
    assert mail.outbox == []
    # The same people from another address are not blocked.
    assert ask_for_a_link(world.elu.email, "198.51.100.21").status_code == 302


@pytest.mark.parametrize("email", ["ELU@Saint-Aubin.localhost", " elu@saint-aubin.localhost"])
def test_the_account_throttle_ignores_case_and_spaces(world, email):
    for _ in range(3):
        ask_for_a_link("elu@saint-aubin.localhost", "198.51.100.20")
    assert ask_for_a_link(email, "198.51.100.20").status_code == 429
