"""How people prove who they are: password, second factor, app passwords.

Every path goes through the same throttles (throttle.py) and writes one audit event per attempt,
successful or not (ASVS 16.3.1), without the typed secret.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from parvis.core import throttle
from parvis.core.audit import Actor, audit, client_ip
from parvis.core.models import AppPassword, User, digest

KNOWN_DEVICE_COOKIE = "parvis_appareil"
KNOWN_DEVICE_SALT = "parvis.known-device"
KNOWN_DEVICE_AGE = 180 * 24 * 3600
_DUMMY_HASH = make_password("parvis-timing-equaliser")


class EmailBackend(BaseBackend):
    """E-mail and password; a missing account costs the same time as a wrong password."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, email: str | None = None, password: str | None = None, **kw: Any
    ) -> User | None:
        if not email or password is None:
            return None
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            make_password(password)  # same cost as a real check
            return None
        if user.check_password(password) and user.is_active:
            return user
        return None

    def get_user(self, user_id: int) -> User | None:
        return User.objects.filter(pk=user_id, is_active=True).first()


@dataclass
class Attempt:
    """The outcome of one sign-in step: who (and with which device), or why not."""

    user: User | None
    error: str = ""
    throttled: bool = False
    device: Any = None

    @property
    def status(self) -> int:
        return 429 if self.throttled else 400


def throttled_message(verdict: throttle.Verdict) -> str:
    return _(
        "Too many failed attempts. For your security, signing in to this account from this "
        "address is suspended for %(minutes)d minutes."
    ) % {"minutes": verdict.minutes}


def known_device(request: HttpRequest, email: str) -> bool:
    value = request.get_signed_cookie(
        KNOWN_DEVICE_COOKIE, default="", salt=KNOWN_DEVICE_SALT, max_age=KNOWN_DEVICE_AGE
    )
    return bool(value) and throttle.account_key(email) in value.split(",")


def remember_device(request: HttpRequest, response: HttpResponse, email: str) -> None:
    value = request.get_signed_cookie(
        KNOWN_DEVICE_COOKIE, default="", salt=KNOWN_DEVICE_SALT, max_age=KNOWN_DEVICE_AGE
    )
    keys = [k for k in value.split(",") if k][-4:]
    key = throttle.account_key(email)
    if key not in keys:
        keys.append(key)
    response.set_signed_cookie(
        KNOWN_DEVICE_COOKIE,
        ",".join(keys),
        salt=KNOWN_DEVICE_SALT,
        max_age=KNOWN_DEVICE_AGE,
        httponly=True,
        samesite="Lax",
    )


def check_password_attempt(request: HttpRequest, email: str, password: str) -> Attempt:
    """First step of signing in. On success the caller still asks for the second factor."""
    address = client_ip(request)
    verdict = throttle.check("login", email, address, known_device(request, email))
    if not verdict.allowed:
        _audit_failure(email, address, "throttled")
        return Attempt(None, throttled_message(verdict), throttled=True)
    backend = EmailBackend()
    user = backend.authenticate(request, email=email, password=password)
    if user is None:
        throttle.fail("login", email, address)
        _audit_failure(email, address, "bad_credentials")
        return Attempt(None, _("Incorrect e-mail address or password."))
    throttle.succeed("login", email, address)
    return Attempt(user)


def _audit_failure(email: str, address: str | None, reason: str) -> None:
    """The account is named only if it exists: a typed value may be a misplaced password."""
    user = User.objects.filter(email__iexact=email.strip()).first()
    audit(Actor(None, address), "auth.login_failed", user, data={"reason": reason})


def has_second_factor(user: User) -> bool:
    return any(devices_for_user(user, confirmed=True))


def check_second_factor(request: HttpRequest, user: User, code: str) -> Attempt:
    """A TOTP code or a recovery code. A code is accepted once only (django-otp)."""
    address = client_ip(request)
    verdict = throttle.check("otp", user.email, address)
    if not verdict.allowed:
        audit(Actor(None, address), "auth.otp_failed", user, data={"reason": "throttled"})
        return Attempt(None, throttled_message(verdict), throttled=True)
    code = "".join(code.split())
    if code:
        for device in devices_for_user(user, confirmed=True):
            if device.verify_token(code):
                throttle.succeed("otp", user.email, address)
                return Attempt(user, device=device)
    throttle.fail("otp", user.email, address)
    audit(Actor(None, address), "auth.otp_failed", user, data={"reason": "bad_code"})
    return Attempt(None, _("This code is not valid. Check your phone's clock, or use a recovery code."))


# --- TOTP enrolment -----------------------------------------------------------------------------

RECOVERY_CODES = 10


def pending_totp(user: User) -> TOTPDevice:
    """The unconfirmed device being set up (one at a time)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Application", confirmed=False)
    return device


@transaction.atomic
def confirm_totp(actor: Actor, device: TOTPDevice) -> list[str]:
    """Turn the second factor on and issue fresh recovery codes (shown once)."""
    user = device.user
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save()
    audit(actor, "account.2fa_enabled", user)
    return regenerate_recovery_codes(actor, user)


@transaction.atomic
def regenerate_recovery_codes(actor: Actor, user: User) -> list[str]:
    """Ten single-use codes of ten digits; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name="Codes de secours", confirmed=True)
    codes = [f"{secrets.randbelow(10**10):010d}" for _ in range(RECOVERY_CODES)]
    for code in codes:
        static.token_set.create(token=code)
    audit(actor, "account.recovery_codes", user)
    return codes


def recovery_codes_left(user: User) -> int:
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return static.token_set.count() if static else 0


@transaction.atomic
def disable_second_factor(actor: Actor, user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit(actor, "account.2fa_disabled", user)


# --- App passwords ------------------------------------------------------------------------------

APP_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_app_password_secret() -> str:
    """Five groups of five characters from a 31-letter alphabet: about 124 bits."""
    chars = [secrets.choice(APP_PASSWORD_ALPHABET) for _ in range(25)]
    return "-".join("".join(chars[i : i + 5]) for i in range(0, 25, 5))


@transaction.atomic
def create_app_password(actor: Actor, user: User, name: str) -> tuple[AppPassword, str]:
    secret = new_app_password_secret()
    app_password = AppPassword.objects.create(user=user, name=name, secret_digest=digest(secret))
    audit(actor, "account.app_password_created", app_password, label=name)
    return app_password, secret


@transaction.atomic
def revoke_app_password(actor: Actor, app_password: AppPassword) -> None:
    audit(actor, "account.app_password_revoked", app_password)
    app_password.delete()


def app_password_login(email: str, secret: str, address: str | None) -> User | None:
    """For WebDAV/CalDAV clients (HTTP Basic): same throttles as the sign-in form."""
    verdict = throttle.check("app_password", email, address)
    if not verdict.allowed:
        audit(Actor(None, address), "auth.app_password_failed", data={"reason": "throttled"})
        return None
    candidate = (
        AppPassword.objects.filter(
            secret_digest=digest(secret.strip().lower()),
            user__email__iexact=email.strip(),
            user__is_active=True,
        )
        .select_related("user")
        .first()
    )
    if candidate is None:
        throttle.fail("app_password", email, address)
        user = User.objects.filter(email__iexact=email.strip()).first()
        audit(Actor(None, address), "auth.app_password_failed", user, data={"reason": "bad_credentials"})
        return None
    throttle.succeed("app_password", email, address)
    AppPassword.objects.filter(pk=candidate.pk).update(last_used_at=timezone.now())
    return candidate.user
