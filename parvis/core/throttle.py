"""Throttles for every way in: sign-in, second factor, app passwords, reset, access codes.

Failures are counted per (account, address), per account and per address alone, each in a
sliding window (settings.PARVIS_THROTTLES). The per-address ceiling is much higher than the
others: the twenty agents of a mairie share one public address and must never be locked out
together by one person's typos. A browser that already signed in to the account (a signed
"known device" cookie) is not held by the account-wide limit, so an attacker elsewhere cannot
lock the real user out.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from parvis.core.models import AuthFailure, digest


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0

    @property
    def minutes(self) -> int:
        return max(1, -(-self.retry_after // 60))


def account_key(identifier: str) -> str:
    return digest(identifier.strip().lower())


def _blocked_for(qs, limit: tuple[int, int]) -> int:  # type: ignore[no-untyped-def]
    """Seconds until the oldest counted failure leaves the window, or 0 if under the limit."""
    max_failures, window = limit
    since = timezone.now() - timedelta(seconds=window)
    recent = qs.filter(at__gte=since)
    if recent.count() < max_failures:
        return 0
    oldest = recent.aggregate(first=Min("at"))["first"]
    return max(1, int((oldest + timedelta(seconds=window) - timezone.now()).total_seconds()))


def check(scope: str, identifier: str, address: str | None, known_device: bool = False) -> Verdict:
    limits = settings.PARVIS_THROTTLES[scope]
    failures = AuthFailure.objects.filter(scope=scope)
    account = account_key(identifier)
    waits = [_blocked_for(failures.filter(account=account, address=address), limits["pair"])]
    if not known_device:
        waits.append(_blocked_for(failures.filter(account=account), limits["account"]))
    if address:
        waits.append(_blocked_for(failures.filter(address=address), limits["address"]))
    wait = max(waits)
    return Verdict(allowed=wait == 0, retry_after=wait)


def fail(scope: str, identifier: str, address: str | None) -> None:
    AuthFailure.objects.create(scope=scope, account=account_key(identifier), address=address)


def succeed(scope: str, identifier: str, address: str | None) -> None:
    """A success forgives this browser's earlier typos, not the failures from elsewhere."""
    AuthFailure.objects.filter(scope=scope, account=account_key(identifier), address=address).delete()


def purge(older_than: timedelta = timedelta(days=2)) -> int:
    deleted, _ = AuthFailure.objects.filter(at__lt=timezone.now() - older_than).delete()
    return deleted
