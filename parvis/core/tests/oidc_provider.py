"""A real OpenID provider over HTTP for the OIDC tests, made to behave like ProConnect.

`oidc-provider-mock` runs an authlib-based provider in a thread. ProConnect differs from it in
two ways that matter to Parvis, so Flask hooks add them:

- the userinfo endpoint answers with a JWT signed by the provider's own key (the one published
  at /jwks), content type `application/jwt`, instead of JSON;
- PKCE is enforced: the authorization request's `code_challenge` (S256) is kept with the code it
  produced, and the token request is refused unless `S256(code_verifier)` matches.

Every request the hooks see is recorded, so tests can check what Parvis sent. The provider's own
logs are kept below WARNING: they carry the state, nonce, tokens and `id_token_hint`, and they
are the provider's logs, not Parvis's (the suite greps every log for secrets).
"""

import base64
import hashlib
import http.client
import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import flask
import jwt

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # authlib.jose, imported by the mock
    from oidc_provider_mock import app as mock_app
    from oidc_provider_mock._server import _threaded_server

# The provider's own logs (its access log, authlib's "Issue token {…}" debug lines): they are
# ProConnect's logs, not Parvis's, and carry the state, nonce, tokens and `id_token_hint`.
PROVIDER_LOGGERS = ("werkzeug", "authlib", "oidc_provider_mock")

CLIENT_ID = "parvis-tests"
CLIENT_SECRET = "secret-du-client-parvis-tests"


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Provider:
    """The running provider, what it received, and the knobs tests turn."""

    url: str
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[dict[str, str]] = field(default_factory=list)
    userinfo_jwts: list[str] = field(default_factory=list)
    # Claims ProConnect sends that the mock's scopes would drop: added to the userinfo JWT only.
    jwt_only_claims: dict[str, dict[str, Any]] = field(default_factory=dict)
    # When set, the userinfo JWT is signed with this key (under the real key's kid).
    userinfo_signing_key: Any = None
    # When set, the userinfo JWT names this subject instead of the signed-in one.
    userinfo_sub: str | None = None
    _challenges: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def endpoints(self) -> dict[str, str]:
        return {
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.url}/oauth2/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.url}/oauth2/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.url}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.url}/jwks",
            "OIDC_OP_LOGOUT_ENDPOINT": f"{self.url}/oauth2/end_session",
            "OIDC_OP_ISSUER": self.issuer,
        }

    def reset(self) -> None:
        for records in (self.authorizations, self.token_requests, self.issued, self.userinfo_jwts):
            records.clear()
        self.jwt_only_claims.clear()
        self.userinfo_signing_key = None
        self.userinfo_sub = None

    def set_user(self, sub: str, **claims: Any) -> None:
        """Create or replace a person at the provider (PUT /users/<sub>)."""
        status, _ = self._request("PUT", f"/users/{sub}", json.dumps(claims), "application/json")
        assert status == 204, status

    def sign_in(self, authorize_url: str, sub: str) -> str:
        """What the person does at the provider: pick her identity on the authorization form.
        Returns where the provider sends the browser back (Parvis's callback)."""
        assert authorize_url.startswith(f"{self.url}/oauth2/authorize?"), authorize_url
        path = authorize_url[len(self.url) :]
        status, location = self._request("POST", path, urlencode({"sub": sub}))
        assert status in (302, 303), status
        return location

    def deny(self, authorize_url: str) -> str:
        """The person refuses on the provider's form: the provider answers error=access_denied."""
        path = authorize_url[len(self.url) :]
        status, location = self._request("POST", path, urlencode({"action": "deny"}))
        assert status in (302, 303), status
        return location

    def _request(self, method: str, path: str, body: str, content_type: str = "") -> tuple[int, str]:
        """A browser-like request with http.client: nothing of it reaches a log."""
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {"Content-Type": content_type or "application/x-www-form-urlencoded"}
        try:
            connection.request(method, path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Location") or ""
        finally:
            connection.close()

    # --- Flask hooks --------------------------------------------------------------------------

    def before_request(self) -> flask.Response | None:
        request = flask.request
        if request.path == "/oauth2/authorize" and request.method == "POST":
            self.authorizations.append(dict(request.args))
        elif request.path == "/oauth2/token":
            form = dict(request.form)
            self.token_requests.append(form)
            expected = self._challenges.pop(form.get("code", ""), None)
            if expected is not None and not _pkce_matches(expected, form.get("code_verifier")):
                return flask.jsonify(error="invalid_grant", error_description="PKCE"), 400  # type: ignore[return-value]
        return None

    def after_request(self, response: flask.Response) -> flask.Response:
        request = flask.request
        if request.path == "/oauth2/authorize" and response.status_code in (302, 303):
            self._remember_challenge(request.args, response.headers.get("Location", ""))
        elif request.path == "/oauth2/token" and response.status_code == 200:
            self.issued.append(response.get_json())
        elif request.path == "/userinfo" and response.status_code == 200:
            self._sign_userinfo(response)
        return response

    def _remember_challenge(self, args: Any, location: str) -> None:
        code = parse_qs(urlsplit(location).query).get("code", [""])[0]
        if code and args.get("code_challenge"):
            self._challenges[code] = {
                "code_challenge": args["code_challenge"],
                "code_challenge_method": args.get("code_challenge_method", "plain"),
            }

    def _sign_userinfo(self, response: flask.Response) -> None:
        """JSON claims → a JWT signed like ProConnect's (iss, aud, RS256 under the JWKS kid)."""
        claims = response.get_json()
        claims.update(self.jwt_only_claims.get(claims["sub"], {}))
        if self.userinfo_sub is not None:
            claims["sub"] = self.userinfo_sub
        claims.update(iss=self.issuer, aud=CLIENT_ID)
        published = flask.g.oidc_provider_mock_storage.jwk
        private = self.userinfo_signing_key or published
        key = jwt.PyJWK(private.as_dict(is_private=True)).key
        kid = published.as_dict()["kid"]
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        self.userinfo_jwts.append(token)
        response.set_data(token)
        response.headers["Content-Type"] = "application/jwt; charset=utf-8"


def _pkce_matches(expected: dict[str, str], verifier: str | None) -> bool:
    if not verifier or expected["code_challenge_method"] != "S256":
        return False
    return s256(verifier) == expected["code_challenge"]


@contextmanager
def running_provider() -> Iterator[Provider]:
    """Start the provider on a free port of localhost, in a thread, for the length of the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        app = mock_app(require_nonce=True)
    loggers = [logging.getLogger(name) for name in PROVIDER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    insecure = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on localhost
    provider = Provider(url="")
    app.before_request(provider.before_request)
    app.after_request(provider.after_request)
    try:
        with _threaded_server(app=app, host="127.0.0.1", port=0) as server:
            provider.url = f"http://127.0.0.1:{server.server_port}"
            yield provider
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        if insecure is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = insecure
