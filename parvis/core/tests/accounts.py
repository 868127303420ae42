"""Helpers for the account tests: sign a persona in the way a browser does (form, address,
browser name), read a TOTP code, and register every secret handled along the way."""

import base64
import re

import pyotp
from django.conf import settings
from django.core import mail
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import Secrets
from parvis.core.tests.factories import PASSWORD

LOGIN = reverse("core:login")
SECOND_FACTOR = reverse("core:login_second_factor")
PROFILE = reverse("core:profile")
RESET_LINK = re.compile(r"https?://[^/\s]+(/mot-de-passe/reinitialiser/[^/\s]+/([^/\s]+)/)")


def session_id(client: Client) -> str:
    """The browser's session cookie, or "" when it holds none."""
    morsel = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel is not None else ""


def sign_in(
    client: Client,
    email: str,
    secrets: Secrets,
    password: str = PASSWORD,
    ip: str = "203.0.113.7",
    browser: str = "Mozilla/5.0 Firefox/140.0",
) -> HttpResponse:
    """The sign-in form, from `ip` with `browser`; the session id it gets is registered."""
    secrets.add(password)
    response = client.post(
        LOGIN, {"email": email, "password": password}, REMOTE_ADDR=ip, HTTP_USER_AGENT=browser
    )
    secrets.add(session_id(client))
    return response


def totp_code(device: TOTPDevice, secrets: Secrets, at: float | None = None) -> str:
    """The code her phone would show now (or at the Unix time `at`); seed and code registered."""
    secrets.add(device.key)
    totp = pyotp.TOTP(base64.b32encode(device.bin_key).decode())
    code = totp.now() if at is None else totp.at(at)
    secrets.add(code)
    return code


def signed_in(client: Client) -> bool:
    """Whether this browser is still signed in: her profile page answers instead of redirecting."""
    return client.get(PROFILE).status_code == 200


def reset_link(secrets: Secrets) -> str:
    """The path of the reset link in the last e-mail sent; link, path and token registered."""
    [match] = RESET_LINK.finditer(mail.outbox[-1].body)
    secrets.add(match.group(0), match.group(1), match.group(2))
    return match.group(1)
