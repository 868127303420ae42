"""OIDC sign-in (ProConnect and other providers), on top of mozilla-django-oidc.

ProConnect specifics handled here or by the library: userinfo comes back as a signed JWT
(mozilla-django-oidc 5 verifies it against the provider's keys), PKCE (S256) and a nonce on every
request, and the provider logout needs `id_token_hint`. People are matched on (issuer, sub); an
existing account with the same e-mail is linked on first sign-in. A person who turned on a second
factor in Parvis still enters it after signing in with the provider.
"""

import logging
import secrets
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from parvis.core.audit import Actor, audit, client_ip
from parvis.core.models import OIDCIdentity, User

log = logging.getLogger(__name__)


def issuer() -> str:
    return settings.OIDC_OP_ISSUER or settings.OIDC_OP_AUTHORIZATION_ENDPOINT


class ParvisOIDCBackend(OIDCAuthenticationBackend):
    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        """A provider that is down, refuses the code (PKCE) or sends a token that does not verify
        ends in the sign-in page's failure message, never in a server error."""
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, requests.RequestException, jwt.PyJWTError) as exc:
            status = getattr(getattr(exc, "response", None), "status_code", "")
            detail = str(exc) if isinstance(exc, SuspiciousOperation) else status
            log.warning("OIDC sign-in refused: %s %s", type(exc).__name__, detail)
            return None

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The library checks signature, expiry and nonce; OIDC Core 3.1.3.7 also wants the
        issuer and the audience of the ID token (called with `nonce`), and of the userinfo JWT
        when it names them."""
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        is_id_token = "nonce" in kwargs
        names_issuer = is_id_token or "iss" in payload
        if settings.OIDC_OP_ISSUER and names_issuer and payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("Token issuer mismatch.")
        audience = payload.get("aud")
        if is_id_token or audience is not None:
            audiences = [audience] if isinstance(audience, str) else list(audience or [])
            if settings.OIDC_RP_CLIENT_ID not in audiences:
                raise SuspiciousOperation("Token audience mismatch.")
        return payload

    def retrieve_matching_jwk(self, token: str) -> Any:
        """`kid` is optional in a JWS header (RFC 7515); without one, the provider's only signing
        key is the one (the library would fail with a KeyError)."""
        if "kid" in jwt.get_unverified_header(token):
            return super().retrieve_matching_jwk(token)
        response = requests.get(
            self.OIDC_OP_JWKS_ENDPOINT,
            verify=self.get_settings("OIDC_VERIFY_SSL", True),
            timeout=self.get_settings("OIDC_TIMEOUT", None),
            proxies=self.get_settings("OIDC_PROXY", None),
        )
        response.raise_for_status()
        keys = [k for k in response.json().get("keys", []) if k.get("use", "sig") == "sig"]
        if len(keys) != 1:
            raise SuspiciousOperation("Token without kid and no single signing key.")
        return jwt.PyJWK(keys[0])

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """OIDC Core 5.3.2: the userinfo must be about the ID token's subject."""
        claims: dict[str, Any] = super().get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("Userinfo subject differs from the ID token's.")
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub")) and bool(claims.get("email"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        """(issuer, sub) first. Otherwise one account with the same e-mail is linked, unless it is
        already linked to another subject of this provider: an address handed on to someone else
        (a mairie's shared mailbox) must not open the previous holder's account."""
        linked = User.objects.filter(oidc_identities__issuer=issuer(), oidc_identities__subject=claims["sub"])
        if linked.exists():
            return linked
        by_email = list(User.objects.filter(email__iexact=claims["email"]))
        if len(by_email) != 1:
            return by_email  # none: the library creates the account; several: it refuses
        user = by_email[0]
        if OIDCIdentity.objects.filter(user=user, issuer=issuer()).exists():
            raise SuspiciousOperation("E-mail of an account linked to another subject.")
        self._link(user, claims, "auth.oidc_linked")
        return by_email

    @transaction.atomic
    def create_user(self, claims: dict[str, Any]) -> User:
        user = User.objects.create_user(
            email=claims["email"], password=None, full_name=self._full_name(claims)
        )
        self._link(user, claims, "auth.oidc_account_created")
        return user

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        name = self._full_name(claims)
        if name and not user.full_name:
            User.objects.filter(pk=user.pk).update(full_name=name)
        return user

    def get_user(self, user_id: int) -> User | None:
        return User.objects.filter(pk=user_id, is_active=True).first()

    def _link(self, user: User, claims: dict[str, Any], action: str) -> None:
        OIDCIdentity.objects.get_or_create(issuer=issuer(), subject=claims["sub"], defaults={"user": user})
        audit(Actor(user, client_ip(self.request)), action, user, data={"issuer": issuer()})

    @staticmethod
    def _full_name(claims: dict[str, Any]) -> str:
        parts = [claims.get("given_name", ""), claims.get("usual_name") or claims.get("family_name", "")]
        return " ".join(p for p in parts if p).strip()[:150]


class EnabledOnlyMixin:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class AuthenticationRequestView(EnabledOnlyMixin, OIDCAuthenticationRequestView):
    pass


class CallbackView(EnabledOnlyMixin, OIDCAuthenticationCallbackView):
    """After the provider: go through Parvis's second factor if the person turned one on."""

    def login_success(self) -> HttpResponse:
        from parvis.core.auth import has_second_factor
        from parvis.core.views.auth import complete_login, start_second_factor

        self.request.session["signed_in_with"] = "oidc"
        if has_second_factor(self.user):
            return start_second_factor(self.request, self.user, self.success_url)
        return complete_login(self.request, self.user, None, self.success_url)

    def login_failure(self) -> HttpResponse:
        audit(Actor(None, client_ip(self.request)), "auth.oidc_failed")
        return HttpResponseRedirect(reverse("core:login") + "?oidc=echec")


def provider_logout_url(request: HttpRequest) -> str | None:
    """The provider's end-session URL, with the `id_token_hint` ProConnect requires."""
    id_token = request.session.get("oidc_id_token")
    if not (settings.OIDC_ENABLED and settings.OIDC_OP_LOGOUT_ENDPOINT and id_token):
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "state": secrets.token_urlsafe(16),
            "post_logout_redirect_uri": settings.SITE_URL + reverse("core:login"),
        }
    )
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{query}"


def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out of Parvis, then of the provider if the session came from it."""
    target = provider_logout_url(request) or reverse("core:login")
    if request.user.is_authenticated:
        audit(Actor(request.user, client_ip(request)), "auth.logout", request.user)  # type: ignore[arg-type]
    logout(request)
    return HttpResponseRedirect(target)
