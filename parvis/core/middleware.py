"""Request logging by route, session lifetimes, Secure cookies behind TLS, and rights read once
per page."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from parvis.core.models import UserSession
from parvis.core.policies import remembered

log = logging.getLogger("parvis.request")
TOUCH_EVERY = 60


class RequestLogMiddleware:
    """One line per request, with the route *pattern* (never the raw path: it may hold a token)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match and match.route else "[hors route]"
        log.info(
            "%s %s %s %.0fms",
            request.method,
            route,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response


class SessionLifetimeMiddleware:
    """Ends a session after 2 h idle or 12 h in all, and keeps `last seen` up to date."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            auth_at = request.session.get("auth_at", 0)
            seen_at = request.session.get("seen_at", 0)
            expired = (
                now - auth_at > settings.SESSION_ABSOLUTE_SECONDS
                or now - seen_at > settings.SESSION_IDLE_SECONDS
            )
            if expired:
                logout(request)
                return redirect(settings.LOGIN_URL)
            if now - seen_at > TOUCH_EVERY:
                request.session["seen_at"] = now
                UserSession.objects.filter(session_key=request.session.session_key).update(
                    last_seen_at=timezone.now()
                )
        return self.get_response(request)


class SecureCookiesMiddleware:
    """Behind TLS, every cookie we set is Secure, whatever the settings say."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response


class PolicyMemoMiddleware:
    """A page asks the same rights many times (the menu, the sidebar, each message): while a
    GET or HEAD request lasts, memberships and roles are read once (`core.policies.remembered`).
    A request that writes remembers nothing: what it changes must be seen by its own checks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        with remembered():
            return self.get_response(request)
