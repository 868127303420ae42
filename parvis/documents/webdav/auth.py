"""HTTP Basic with app passwords, for WebDAV clients.

A sync client sends its credentials with every request, hundreds per minute: checking each one
through `app_password_login` would cost the throttle's queries (and an UPDATE) every time. A
verified credential is therefore remembered in this process, by a digest of the e-mail address
and the secret (never the secret itself), for a few minutes; while it is remembered, a request
costs one indexed query that still refuses a revoked app password or a deactivated person at
once. Whatever is not remembered goes through `app_password_login`: same throttles, same audit
as the sign-in form.
"""

import base64
import binascii
import hashlib
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.utils.translation import gettext as _

from parvis.core.auth import app_password_login
from parvis.core.models import AppPassword, User, digest

REALM = "Parvis"
CHALLENGE = f'Basic realm="{REALM}"'

_verified: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key → (app password id, until)
_lock = threading.Lock()


def sign_in_hint() -> str:
    """The body of a 401: some clients show it."""
    return _("Sign in with your e-mail address and an app password (your profile, “App passwords”).")


def credentials(header: str | None) -> tuple[str, str] | None:
    """(e-mail, secret) from an `Authorization: Basic …` header, or None if there is none or
    it cannot be read."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, sep, secret = decoded.partition(":")
    if not sep or not email or not secret:
        return None
    return email.strip(), secret


def _key(email: str, secret: str) -> str:
    return hashlib.sha256(f"{email.lower()}\n{secret.strip().lower()}".encode()).hexdigest()


def authenticate(header: str | None, address: str | None) -> User | None:
    """The person behind these Basic credentials, or None (the caller answers 401)."""
    found = credentials(header)
    if found is None:
        return None
    email, secret = found
    key = _key(email, secret)
    now = time.monotonic()
    with _lock:
        remembered = _verified.get(key)
    if remembered is not None and remembered[1] > now:
        app_password = (
            AppPassword.objects.filter(pk=remembered[0], user__is_active=True).select_related("user").first()
        )
        if app_password is not None:
            return app_password.user
    forget(key)
    user = app_password_login(email, secret, address)
    if user is None:
        return None
    pk = (
        AppPassword.objects.filter(secret_digest=digest(secret.strip().lower()), user=user)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is not None:
        remember(key, pk, now + settings.PARVIS_DAV_AUTH_CACHE_SECONDS)
    return user


def remember(key: str, app_password_id: int, until: float) -> None:
    with _lock:
        _verified[key] = (app_password_id, until)
        _verified.move_to_end(key)
        while len(_verified) > settings.PARVIS_DAV_AUTH_CACHE_SIZE:
            _verified.popitem(last=False)


def forget(key: str | None = None) -> None:
    """Drop one remembered credential, or all of them."""
    with _lock:
        if key is None:
            _verified.clear()
        else:
            _verified.pop(key, None)
