"""Sessions: she sees where she is signed in and ends any of them; a new password or a
deactivation ends them at once (open websockets included); idle 2 h and absolute 12 h
lifetimes; a new session id at every sign-in; Secure, HttpOnly, SameSite cookies behind TLS."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import french
from parvis.core.audit import Actor
from parvis.core.auth import confirm_totp
from parvis.core.models import OrgMembership, UserSession
from parvis.core.tests.accounts import (
    LOGIN,
    PROFILE,
    SECOND_FACTOR,
    session_id,
    sign_in,
    signed_in,
    totp_code,
)
from parvis.core.tests.factories import PASSWORD

SESSIONS = reverse("core:sessions")
END_OTHERS = reverse("core:session_end_others")
PASSWORD_CHANGE = reverse("core:password_change")
NEW_PASSWORD = "les hirondelles reviennent au clocher en avril"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) Version/18.5 Mobile Safari/604.1"


def end_url(client: Client) -> str:
    public_id = UserSession.objects.get(session_key=session_id(client)).public_id
    return reverse("core:session_end", args=[public_id])


def sent_to_sign_in(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.fixture
def elu_at_work_and_at_home(world, secrets_registry) -> tuple[Client, Client]:
    office, home = Client(), Client()
    sign_in(office, world.elu.email, secrets_registry, ip="198.51.100.20", browser=FIREFOX)
    sign_in(home, world.elu.email, secrets_registry, ip="192.0.2.44", browser=SAFARI)
    return office, home


# --- Listing and ending sessions ----------------------------------------------------------------


def test_she_sees_her_sessions_with_address_and_browser(world, elu_at_work_and_at_home, client_for):
    office, _home = elu_at_work_and_at_home
    client_for("maire")  # a colleague's session is not hers to see
    page = office.get(SESSIONS)
    assert page.status_code == 200
    html = page.content.decode()
    assert "198.51.100.20" in html
    assert "192.0.2.44" in html
    assert FIREFOX[:57] in html  # shown truncated to 60 characters
    assert SAFARI[:57] in html
    assert html.count(french("this session")) >= 1
    assert html.count('action="/compte/sessions/') == 3  # two "End" buttons and "end all others"
    for session in UserSession.objects.filter(user=world.maire):
        assert session.public_id not in html
    for key in UserSession.objects.values_list("session_key", flat=True):
        assert key not in html  # only public ids, never a session key


def test_she_ends_one_session_and_that_browser_is_signed_out_at_its_next_request(
    world, elu_at_work_and_at_home
):
    office, home = elu_at_work_and_at_home
    key = session_id(home)
    response = office.post(end_url(home), follow=True)
    assert french("The session has ended.") in response.content.decode()
    assert sent_to_sign_in(home.get(PROFILE))
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    assert signed_in(office)


def test_ending_her_current_session_signs_her_out(world, elu_at_work_and_at_home):
    office, home = elu_at_work_and_at_home
    response = office.post(end_url(office))
    assert sent_to_sign_in(response)
    assert not signed_in(office)
    assert signed_in(home)


def test_she_ends_all_her_other_sessions_at_once(world, elu_at_work_and_at_home, secrets_registry):
    office, home = elu_at_work_and_at_home
    phone = Client()
    sign_in(phone, world.elu.email, secrets_registry, ip="192.0.2.45", browser=SAFARI)
    response = office.post(END_OTHERS, follow=True)
    assert french("%(count)d other session(s) ended.", count=2) in response.content.decode()
    assert not signed_in(home)
    assert not signed_in(phone)
    assert signed_in(office)
    assert list(UserSession.objects.filter(user=world.elu).values_list("session_key", flat=True)) == [
        session_id(office)
    ]


def test_she_cannot_end_someone_elses_session(world, client_for, elu_at_work_and_at_home, secrets_registry):
    office, _home = elu_at_work_and_at_home
    maire = Client()
    sign_in(maire, world.maire.email, secrets_registry)
    assert office.post(end_url(maire)).status_code == 404
    assert office.post(reverse("core:session_end", args=["0" * 24])).status_code == 404
    assert signed_in(maire)


def test_ending_a_session_is_a_post(world, elu_at_work_and_at_home):
    office, home = elu_at_work_and_at_home
    assert office.get(end_url(home)).status_code == 405
    assert office.get(END_OTHERS).status_code == 405
    assert signed_in(home)


# --- A new password -----------------------------------------------------------------------------


def change_password(client: Client, secrets_registry, end_others: bool):  # type: ignore[no-untyped-def]
    secrets_registry.add(NEW_PASSWORD)
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    if end_others:
        data["end_other_sessions"] = "on"
    return client.post(PASSWORD_CHANGE, data, follow=True)


def test_a_new_password_with_the_box_ticked_signs_out_her_other_sessions(
    world, elu_at_work_and_at_home, secrets_registry
):
    office, home = elu_at_work_and_at_home
    response = change_password(office, secrets_registry, end_others=True)
    html = response.content.decode()
    assert french("Your password has been changed.") in html
    assert french("%(count)d other session(s) ended.", count=1) in html
    assert not signed_in(home)
    assert signed_in(office)


def test_a_new_password_with_the_box_unticked_keeps_her_other_sessions(
    world, elu_at_work_and_at_home, secrets_registry
):
    office, home = elu_at_work_and_at_home
    response = change_password(office, secrets_registry, end_others=False)
    assert french("Your password has been changed.") in response.content.decode()
    assert home.get(PROFILE).status_code == 200
    assert signed_in(office)
    assert UserSession.objects.filter(user=world.elu).count() == 2


def test_a_new_password_gives_this_browser_a_new_id_and_keeps_it_listed(
    world, elu_at_work_and_at_home, secrets_registry
):
    """Django renews the session id on a password change (ASVS 7.2.4); the record behind "My
    sessions", the lifetime checks and the websockets must follow it to the new id."""
    office, home = elu_at_work_and_at_home
    before = session_id(office)
    change_password(office, secrets_registry, end_others=False)
    after = session_id(office)
    secrets_registry.add(after)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert UserSession.objects.filter(session_key=after, user=world.elu).exists()
    assert french("this session") in office.get(SESSIONS).content.decode()
    # So "end my other sessions" from another browser still reaches it.
    home.post(END_OTHERS)
    assert not signed_in(office)


@pytest.mark.parametrize("url", [PASSWORD_CHANGE, reverse("core:totp_enable")])
def test_signing_out_the_other_sessions_is_ticked_by_default(world, client_for, url):
    html = client_for("elu").get(url).content.decode()
    assert french("Sign out my other sessions") in html
    assert 'name="end_other_sessions" id="id_end_other_sessions" checked' in html


# --- Lifetimes ----------------------------------------------------------------------------------


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def test_two_hours_without_a_request_sign_her_out(world, secrets_registry):
    browser = Client()
    start = timezone.now()
    sign_in(browser, world.elu.email, secrets_registry)
    with clock_at(start + timedelta(hours=1, minutes=59)):
        assert browser.get(PROFILE).status_code == 200  # active again: the idle clock restarts
    with clock_at(start + timedelta(hours=3, minutes=58)):
        assert browser.get(PROFILE).status_code == 200
    key = session_id(browser)
    with clock_at(start + timedelta(hours=6)):
        assert sent_to_sign_in(browser.get(PROFILE))
        assert sent_to_sign_in(browser.get(PROFILE))
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(user=world.elu).exists()


def test_after_twelve_hours_she_signs_in_again_however_active_she_was(world, secrets_registry):
    browser = Client()
    start = timezone.now()
    sign_in(browser, world.elu.email, secrets_registry)
    for minutes in range(30, 12 * 60, 30):  # a request every half hour, all day long
        with clock_at(start + timedelta(minutes=minutes)):
            assert browser.get(PROFILE).status_code == 200, f"signed out after {minutes} min"
    with clock_at(start + timedelta(hours=12, minutes=1)):
        assert sent_to_sign_in(browser.get(PROFILE))
    assert not UserSession.objects.filter(user=world.elu).exists()


# --- A new session id at every sign-in ----------------------------------------------------------


def test_a_session_started_before_signing_in_never_survives_it(world, secrets_registry):
    """A visitor's session (here: she typed an access code first) gets a new id at sign-in, so
    a session id planted or seen before cannot be used afterwards (session fixation)."""
    browser = Client()
    secrets_registry.add(world.code)
    browser.post(reverse("spaces:code_entry"), {"code": world.code})
    before = session_id(browser)
    assert Session.objects.filter(session_key=before).exists()
    secrets_registry.add(before)
    sign_in(browser, world.elu.email, secrets_registry)
    after = session_id(browser)
    assert after not in ("", before)
    assert not Session.objects.filter(session_key=before).exists()
    planted = Client()
    planted.cookies[settings.SESSION_COOKIE_NAME] = before
    assert not signed_in(planted)


def test_with_two_factor_the_id_changes_after_the_password_and_again_after_the_code(world, secrets_registry):
    device = TOTPDevice.objects.create(user=world.elu, name="Téléphone", confirmed=False)
    secrets_registry.add(*confirm_totp(Actor(world.elu), device))
    browser = Client()
    session = browser.session  # an anonymous session, as a first visit would leave
    session["vu"] = True
    session.save()
    ids = [session_id(browser)]
    secrets_registry.add(ids[0])
    sign_in(browser, world.elu.email, secrets_registry)
    ids.append(session_id(browser))
    assert browser.post(SECOND_FACTOR, {"code": totp_code(device, secrets_registry)}).status_code == 302
    ids.append(session_id(browser))
    secrets_registry.add(*ids)
    assert len(set(ids)) == 3
    assert list(Session.objects.filter(session_key__in=ids).values_list("session_key", flat=True)) == [ids[2]]
    assert signed_in(browser)


# --- Deactivation -------------------------------------------------------------------------------


class Socket:
    """A websocket client on the real ASGI application (origin check, session, routing).

    `channels.testing.WebsocketCommunicator` cannot be imported here: its package imports the
    live-server helpers, which need daphne (not installed). This is the same thin layer over
    asgiref's ApplicationCommunicator, which WebsocketCommunicator itself extends.
    """

    def __init__(self, session_key: str) -> None:
        from parvis.asgi import application

        scope = {
            "type": "websocket",
            "path": "/ws/notifications/",
            "query_string": b"",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"origin", b"http://127.0.0.1"),
                (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()),
            ],
            "subprotocols": [],
        }
        self.app = ApplicationCommunicator(application, scope)

    async def connect(self) -> dict[str, Any]:
        """Open it and return the first message (the unread count)."""
        await self.app.send_input({"type": "websocket.connect"})
        assert (await self.app.receive_output(3))["type"] == "websocket.accept"
        first = await self.app.receive_output(3)
        assert first["type"] == "websocket.send", first
        return dict(json.loads(first["text"]))

    async def closed_with(self) -> int:
        out = await self.app.receive_output(3)
        assert out["type"] == "websocket.close", out
        return int(out.get("code", 1000))

    async def stays_open(self) -> bool:
        return bool(await self.app.receive_nothing(0.3))

    async def disconnect(self) -> None:
        await self.app.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.app.wait(2)


@pytest.fixture
def realtime(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> Callable[[Callable[[], Any]], None]:
    """Run an async scenario against the consumers, inside the test's transaction.

    Why this way: pytest-django's `db` wraps each test in a transaction rolled back at the end.
    `transactional_db` would instead flush the tables, and the audit table's triggers refuse
    that DELETE, so it cannot be used. The scenario therefore runs inside the `db` transaction:

    - It is driven by `async_to_sync` from the test's own thread. Consumers read the database
      through Channels' `database_sync_to_async`, which is thread-sensitive: those calls run
      back in the test's thread, on the test's connection, and see the uncommitted world.
    - Channels wraps each such call in `close_old_connections()`, which closes a connection
      found outside autocommit, i.e. the test's own; that is disabled for the test.
    - Requests made during the scenario (the secretaire deactivating someone) run through
      `sync_to_async` in the same thread; their after-commit events (sessions ended, access
      changed) are fired by `django_capture_on_commit_callbacks(execute=True)` when the
      request returns, exactly as a real commit would.
    """
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)

    def run(scenario: Callable[[], Any]) -> None:
        async_to_sync(scenario)()

    return run


def committed(action: Callable[[], Any], capture: Any) -> Any:
    """Run a request or action in the test's thread, then fire its after-commit callbacks."""

    def inner() -> Any:
        with capture(execute=True):
            return action()

    return sync_to_async(inner)()


def deactivation_url(world, user) -> str:  # type: ignore[no-untyped-def]
    membership = OrgMembership.objects.get(user=user, organisation=world.org)
    return reverse("core:admin_member_active", args=[world.org.slug, membership.pk])


def test_deactivating_her_signs_her_out_at_once_and_closes_her_socket(
    world, client_for, secrets_registry, realtime, django_capture_on_commit_callbacks
):
    elu = Client()
    sign_in(elu, world.elu.email, secrets_registry)
    key = session_id(elu)
    secretaire = client_for("secretaire")
    url = deactivation_url(world, world.elu)

    async def scenario() -> None:
        socket = Socket(key)
        assert (await socket.connect())["type"] == "unread"
        response = await committed(
            lambda: secretaire.post(url, {"active": "0"}, follow=True), django_capture_on_commit_callbacks
        )
        assert response.status_code == 200
        assert await socket.closed_with() == 4401
        await socket.disconnect()
        again = Socket(key)  # and she cannot open a new one with the old cookie
        await again.app.send_input({"type": "websocket.connect"})
        assert (await again.app.receive_output(3))["type"] == "websocket.accept"
        assert await again.closed_with() == 4401
        await again.disconnect()

    realtime(scenario)
    assert sent_to_sign_in(elu.get(PROFILE))
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(user=world.elu).exists()
    assert not OrgMembership.objects.get(user=world.elu, organisation=world.org).is_active


def test_deactivating_her_in_the_browser_shows_the_secretaire_a_french_confirmation(world, client_for):
    elu = client_for("elu")
    response = client_for("secretaire").post(deactivation_url(world, world.elu), {"active": "0"}, follow=True)
    assert (
        french(
            "%(name)s has been deactivated; her sessions and connections to this organisation have ended.",
            name=str(world.elu),
        )
        in response.content.decode()
    )
    assert sent_to_sign_in(elu.get(PROFILE))


def test_the_dpo_deactivated_in_one_commune_keeps_her_session_for_the_other(
    world, client_for, secrets_registry, realtime, django_capture_on_commit_callbacks
):
    dpo = Client()
    sign_in(dpo, world.dpo.email, secrets_registry)
    key = session_id(dpo)
    assert dpo.get(reverse("spaces:my_spaces", args=[world.org.slug])).status_code == 200
    secretaire = client_for("secretaire")
    url = deactivation_url(world, world.dpo)

    async def scenario() -> None:
        socket = Socket(key)
        await socket.connect()
        await committed(lambda: secretaire.post(url, {"active": "0"}), django_capture_on_commit_callbacks)
        assert await socket.stays_open()  # her notifications still come from Val-de-Brume
        await socket.disconnect()

    realtime(scenario)
    assert signed_in(dpo)
    assert Session.objects.filter(session_key=key).exists()
    assert dpo.get(reverse("spaces:my_spaces", args=[world.org.slug])).status_code == 404
    assert dpo.get(reverse("core:directory", args=[world.org.slug])).status_code == 404
    assert dpo.get(reverse("spaces:my_spaces", args=[world.other.slug])).status_code == 200


def test_only_an_admin_of_her_commune_deactivates_her(world, client_for):
    url = deactivation_url(world, world.elu)
    assert client_for("maire").post(url, {"active": "0"}).status_code == 403  # her commune, not admin
    assert client_for("inconnu").post(url, {"active": "0"}).status_code == 404
    assert OrgMembership.objects.get(user=world.elu, organisation=world.org).is_active


def test_signing_out_closes_the_sockets_of_that_session_only(
    world, secrets_registry, realtime, django_capture_on_commit_callbacks
):
    office, home = Client(), Client()
    sign_in(office, world.elu.email, secrets_registry)
    sign_in(home, world.elu.email, secrets_registry, ip="192.0.2.44")

    async def scenario() -> None:
        leaving, staying = Socket(session_id(office)), Socket(session_id(home))
        await leaving.connect()
        await staying.connect()
        await committed(lambda: office.post(reverse("core:logout")), django_capture_on_commit_callbacks)
        assert await leaving.closed_with() == 4401
        assert await staying.stays_open()
        await leaving.disconnect()
        await staying.disconnect()

    realtime(scenario)


def test_a_session_found_idle_closes_its_sockets(
    world, secrets_registry, realtime, django_capture_on_commit_callbacks
):
    browser = Client()
    start = timezone.now()
    sign_in(browser, world.elu.email, secrets_registry)

    def come_back_after_lunch() -> Any:
        with clock_at(start + timedelta(hours=3)):
            return browser.get(PROFILE)

    async def scenario() -> None:
        socket = Socket(session_id(browser))
        await socket.connect()
        response = await committed(come_back_after_lunch, django_capture_on_commit_callbacks)
        assert sent_to_sign_in(response)
        assert await socket.closed_with() == 4401
        await socket.disconnect()

    realtime(scenario)


# --- Cookies and headers behind TLS -------------------------------------------------------------


def assert_secure_lax(cookie) -> None:  # type: ignore[no-untyped-def]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_behind_a_tls_proxy_the_cookies_are_secure_httponly_and_lax(world, settings, secrets_registry):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = Client(HTTP_X_FORWARDED_PROTO="https")
    page = browser.get(LOGIN)
    assert_secure_lax(page.cookies[settings.CSRF_COOKIE_NAME])
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    response = sign_in(browser, world.elu.email, secrets_registry)
    assert response.status_code == 302
    assert_secure_lax(response.cookies[settings.SESSION_COOKIE_NAME])
    assert_secure_lax(response.cookies["parvis_appareil"])
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_direct_tls_request_gets_secure_cookies_too(world, secrets_registry):
    browser = Client()
    page = browser.get(LOGIN, secure=True)
    assert_secure_lax(page.cookies[settings.CSRF_COOKIE_NAME])
    secrets_registry.add(PASSWORD)
    response = browser.post(LOGIN, {"email": world.elu.email, "password": PASSWORD}, secure=True)
    secrets_registry.add(session_id(browser))
    assert_secure_lax(response.cookies[settings.SESSION_COOKIE_NAME])
    assert "Strict-Transport-Security" in response


def test_the_forwarded_header_is_ignored_when_no_proxy_is_configured(world, settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    page = Client().get(LOGIN, HTTP_X_FORWARDED_PROTO="https")
    assert "Strict-Transport-Security" not in page
    assert not page.cookies[settings.CSRF_COOKIE_NAME]["secure"]


def test_plain_http_gets_no_hsts_but_httponly_lax_cookies(world, secrets_registry):
    browser = Client()
    page = browser.get(LOGIN)
    assert "Strict-Transport-Security" not in page
    response = sign_in(browser, world.elu.email, secrets_registry)
    assert "Strict-Transport-Security" not in response
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
