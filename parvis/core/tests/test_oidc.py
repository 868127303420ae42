"""Signing in with an OpenID provider the way ProConnect speaks it, over real HTTP.

The provider is `oidc-provider-mock` running in a thread, wrapped to answer userinfo as a signed
JWT and to enforce PKCE (see oidc_provider.py). Parvis is driven with Django's test client; the
browser's trips to the provider are made by hand, as a browser would follow the redirects.
"""

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pyotp
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import Secrets, french
from parvis.core.audit import Actor
from parvis.core.auth import confirm_totp
from parvis.core.models import AuditEvent, OIDCIdentity, User
from parvis.core.tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider, s256

# oidc-provider-mock 0.3.4 uses authlib APIs that authlib 1.9 deprecates: the provider's noise.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib")

LOGIN = reverse("core:login")
LOGOUT = reverse("core:logout")
START = "/oidc/connexion/"
CALLBACK = "/oidc/retour/"
FAILED = f"{LOGIN}?oidc=echec"
FAILURE_MESSAGE = (
    "Signing in with %(oidc_provider)s did not succeed. Try again, or use your e-mail and password."
)


@pytest.fixture(scope="module")
def running() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def provider(running: Provider, settings: Any, db: None, secrets_registry: Secrets) -> Iterator[Provider]:
    """Parvis configured for the provider, as the OIDC_* environment variables would."""
    running.reset()
    for name, value in running.endpoints.items():
        setattr(settings, name, value)
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SIGN_ALGO = "RS256"  # what the mock signs with (_app._JWS_ALG)
    settings.OIDC_PROVIDER_NAME = "ProConnect"
    settings.AUTHENTICATION_BACKENDS = ["parvis.core.auth.EmailBackend", "parvis.core.oidc.ParvisOIDCBackend"]
    secrets_registry.add(CLIENT_SECRET)
    yield running
    _register_everything_exchanged(running, secrets_registry)


def _register_everything_exchanged(provider: Provider, secrets_registry: Secrets) -> None:
    for authorization in provider.authorizations:
        secrets_registry.add(authorization.get("state", ""), authorization.get("nonce", ""))
    for request in provider.token_requests:
        secrets_registry.add(request.get("code", ""), request.get("code_verifier", ""))
    for issued in provider.issued:
        secrets_registry.add(*(issued.get(k, "") for k in ("access_token", "id_token", "refresh_token")))
    secrets_registry.add(*provider.userinfo_jwts)


def start(client: Client, provider: Provider, next_url: str = "") -> str:
    """Click "Sign in with ProConnect": Parvis sends the browser to the provider."""
    response = client.get(START + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(provider.endpoints["OIDC_OP_AUTHORIZATION_ENDPOINT"] + "?")
    return location


def come_back(client: Client, callback_url: str, secrets_registry: Secrets) -> Any:
    """The provider sends the browser back to Parvis with a code (or an error)."""
    assert urlsplit(callback_url).path == CALLBACK, callback_url
    query = parse_qs(urlsplit(callback_url).query)
    secrets_registry.add(*query.get("code", []), *query.get("state", []))
    response = client.get(callback_url)
    if "sessionid" in client.cookies:
        secrets_registry.add(client.cookies["sessionid"].value)
    return response


def sign_in_with_provider(client: Client, provider: Provider, sub: str, secrets_registry: Secrets) -> Any:
    return come_back(client, provider.sign_in(start(client, provider), sub), secrets_registry)


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def failure_page(client: Client, response: Any) -> str:
    assert response.status_code == 302
    assert response["Location"] == FAILED
    return client.get(response["Location"]).content.decode()


# --- Signing in ----------------------------------------------------------------------------------


def test_first_sign_in_creates_an_account_linked_to_the_provider_subject_and_opens_the_session(
    provider, secrets_registry
):
    provider.set_user("sub-alice", email="Alice.Martin@mairie-exemple.fr", usual_name="Martin")
    provider.jwt_only_claims["sub-alice"] = {"given_name": "Alice"}
    client = Client()
    response = sign_in_with_provider(client, provider, "sub-alice", secrets_registry)
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    user = signed_in_user(client)
    assert user is not None
    assert user.email == "alice.martin@mairie-exemple.fr"
    assert OIDCIdentity.objects.get(issuer=provider.issuer, subject="sub-alice").user == user
    assert client.get(reverse("core:profile")).status_code == 200
    assert AuditEvent.objects.filter(action="auth.oidc_account_created", object_id=str(user.pk)).exists()
    login = AuditEvent.objects.get(action="auth.login", object_id=str(user.pk))
    assert login.data == {"method": "oidc", "second_factor": False}


def test_the_userinfo_is_consumed_as_a_jwt_signed_by_the_provider(provider, secrets_registry):
    # given_name is dropped by the mock's JSON (no "profile" scope); only the JWT carries it.
    provider.set_user("sub-bruno", email="bruno@mairie-exemple.fr", usual_name="Durand")
    provider.jwt_only_claims["sub-bruno"] = {"given_name": "Bruno"}
    client = Client()
    sign_in_with_provider(client, provider, "sub-bruno", secrets_registry)
    assert len(provider.userinfo_jwts) == 1
    assert jwt.get_unverified_header(provider.userinfo_jwts[0])["alg"] == "RS256"
    assert signed_in_user(client).full_name == "Bruno Durand"  # type: ignore[union-attr]


def test_a_userinfo_jwt_signed_with_another_key_fails_cleanly_in_french(provider, secrets_registry):
    from authlib.jose import RSAKey

    provider.set_user("sub-eve", email="eve@mairie-exemple.fr")
    provider.userinfo_signing_key = RSAKey.generate_key(is_private=True)
    client = Client()
    response = sign_in_with_provider(client, provider, "sub-eve", secrets_registry)
    page = failure_page(client, response)
    assert french(FAILURE_MESSAGE, oidc_provider="ProConnect") in page
    assert signed_in_user(client) is None
    assert not User.objects.filter(email="eve@mairie-exemple.fr").exists()
    assert AuditEvent.objects.filter(action="auth.oidc_failed").count() == 1


def test_a_userinfo_about_another_subject_than_the_id_token_is_refused(provider, secrets_registry, world):
    """OIDC Core 5.3.2: the userinfo `sub` must be the ID token's, or anyone's account could open."""
    OIDCIdentity.objects.create(user=world.maire, issuer=provider.issuer, subject="sub-du-maire")
    provider.set_user("sub-mallory", email="mallory@mairie-exemple.fr")
    provider.userinfo_sub = "sub-du-maire"
    client = Client()
    response = sign_in_with_provider(client, provider, "sub-mallory", secrets_registry)
    failure_page(client, response)
    assert signed_in_user(client) is None


def test_a_second_sign_in_after_the_provider_changed_the_email_reaches_the_same_account(
    provider, secrets_registry
):
    provider.set_user("sub-chloe", email="chloe@mairie-exemple.fr")
    first = Client()
    sign_in_with_provider(first, provider, "sub-chloe", secrets_registry)
    account = signed_in_user(first)
    provider.set_user("sub-chloe", email="chloe.bernard@nouvelle-commune.fr")
    again = Client()
    response = sign_in_with_provider(again, provider, "sub-chloe", secrets_registry)
    assert response.status_code == 302
    assert signed_in_user(again) == account
    assert User.objects.filter(email__endswith="commune.fr").count() == 0
    assert OIDCIdentity.objects.filter(subject="sub-chloe").count() == 1


def test_an_existing_account_with_the_same_email_is_linked_on_first_sign_in(
    provider, secrets_registry, world
):
    provider.set_user("sub-elu", email=world.elu.email.upper())
    people = User.objects.count()
    client = Client()
    sign_in_with_provider(client, provider, "sub-elu", secrets_registry)
    assert signed_in_user(client) == world.elu
    assert User.objects.count() == people
    assert OIDCIdentity.objects.get(subject="sub-elu").user == world.elu
    linked = AuditEvent.objects.get(action="auth.oidc_linked")
    assert linked.object_id == str(world.elu.pk)
    assert linked.data == {"issuer": provider.issuer}


def test_a_new_subject_with_the_email_of_an_account_linked_to_another_subject_is_refused(
    provider, secrets_registry, world
):
    """An address reused at the provider (a mairie's shared mailbox given to a new agent) must not
    open the account of the person it was linked to."""
    OIDCIdentity.objects.create(user=world.elu, issuer=provider.issuer, subject="sub-ancien-agent")
    provider.set_user("sub-nouvel-agent", email=world.elu.email)
    client = Client()
    response = sign_in_with_provider(client, provider, "sub-nouvel-agent", secrets_registry)
    failure_page(client, response)
    assert signed_in_user(client) is None
    assert not OIDCIdentity.objects.filter(subject="sub-nouvel-agent").exists()


def test_the_requests_carry_pkce_s256_and_a_nonce_that_the_id_token_echoes(provider, secrets_registry):
    provider.set_user("sub-david", email="david@mairie-exemple.fr")
    sign_in_with_provider(Client(), provider, "sub-david", secrets_registry)
    [authorization] = provider.authorizations
    assert authorization["code_challenge_method"] == "S256"
    assert len(authorization["nonce"]) >= 32
    assert authorization["acr_values"] == "eidas1"
    [token_request] = provider.token_requests
    assert 43 <= len(token_request["code_verifier"]) <= 128
    assert s256(token_request["code_verifier"]) == authorization["code_challenge"]
    id_token = provider.issued[0]["id_token"]
    assert jwt.decode(id_token, options={"verify_signature": False})["nonce"] == authorization["nonce"]


def test_a_code_stolen_from_another_browser_is_refused_by_pkce(provider, secrets_registry):
    provider.set_user("sub-victime", email="victime@mairie-exemple.fr")
    victim, attacker = Client(), Client()
    stolen = parse_qs(urlsplit(provider.sign_in(start(victim, provider), "sub-victime")).query)["code"][0]
    own_state = parse_qs(urlsplit(start(attacker, provider)).query)["state"][0]
    secrets_registry.add(stolen, own_state)
    response = attacker.get(f"{CALLBACK}?code={stolen}&state={own_state}")
    failure_page(attacker, response)
    assert signed_in_user(attacker) is None
    assert "access_token" not in str(provider.issued)


def test_an_id_token_from_another_issuer_is_refused(provider, secrets_registry, settings):
    settings.OIDC_OP_ISSUER = "https://auth.autre-fournisseur.example"
    provider.set_user("sub-iss", email="iss@mairie-exemple.fr")
    client = Client()
    response = sign_in_with_provider(client, provider, "sub-iss", secrets_registry)
    failure_page(client, response)
    assert signed_in_user(client) is None


# --- Signing out ---------------------------------------------------------------------------------


def test_signing_out_ends_the_provider_session_with_the_id_token_as_hint(provider, secrets_registry):
    provider.set_user("sub-fatou", email="fatou@mairie-exemple.fr")
    client = Client()
    sign_in_with_provider(client, provider, "sub-fatou", secrets_registry)
    response = client.post(LOGOUT)
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == provider.endpoints["OIDC_OP_LOGOUT_ENDPOINT"]
    query = parse_qs(target.query)
    assert query["id_token_hint"] == [provider.issued[0]["id_token"]]
    assert query["post_logout_redirect_uri"] == [django_settings.SITE_URL + LOGIN]
    assert query["state"]
    assert signed_in_user(client) is None
    assert AuditEvent.objects.filter(action="auth.logout").count() == 1


def test_signing_out_after_a_password_sign_in_stays_on_parvis(provider, world, client_for):
    response = client_for("elu").post(LOGOUT)
    assert response["Location"] == LOGIN


# --- Second factor -------------------------------------------------------------------------------


def test_a_person_with_a_second_factor_still_enters_it_after_the_provider(provider, secrets_registry, world):
    device = TOTPDevice.objects.create(user=world.elu, name="Téléphone", confirmed=False)
    secrets_registry.add(device.key, *confirm_totp(Actor(world.elu), device))
    provider.set_user("sub-elu", email=world.elu.email)
    client = Client()
    response = sign_in_with_provider(client, provider, "sub-elu", secrets_registry)
    assert response["Location"] == reverse("core:login_second_factor")
    assert signed_in_user(client) is None
    assert client.get(reverse("core:profile")).status_code == 302
    code = pyotp.TOTP(_b32(device)).now()
    secrets_registry.add(code)
    response = client.post(reverse("core:login_second_factor"), {"code": code})
    assert response["Location"] == reverse("core:home")
    assert signed_in_user(client) == world.elu
    assert AuditEvent.objects.get(action="auth.login").data == {"method": "oidc", "second_factor": True}
    # The ID token survived the second-factor step: signing out still reaches the provider.
    hint = parse_qs(urlsplit(client.post(LOGOUT)["Location"]).query)["id_token_hint"]
    assert hint == [provider.issued[0]["id_token"]]


def _b32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode()


def test_signing_in_with_the_provider_over_another_persons_session_keeps_the_id_token(
    provider, secrets_registry, world
):
    client = Client()
    client.force_login(world.maire)
    provider.set_user("sub-gael", email="gael@mairie-exemple.fr")
    sign_in_with_provider(client, provider, "sub-gael", secrets_registry)
    assert signed_in_user(client).email == "gael@mairie-exemple.fr"  # type: ignore[union-attr]
    hint = parse_qs(urlsplit(client.post(LOGOUT)["Location"]).query)["id_token_hint"]
    assert hint == [provider.issued[0]["id_token"]]


# --- Failures ------------------------------------------------------------------------------------


def test_a_callback_with_a_wrong_state_is_a_bad_request(provider, secrets_registry):
    provider.set_user("sub-hugo", email="hugo@mairie-exemple.fr")
    client = Client()
    callback = provider.sign_in(start(client, provider), "sub-hugo")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    secrets_registry.add(code)
    response = client.get(f"{CALLBACK}?code={code}&state=pas-le-bon-etat")
    assert response.status_code == 400
    assert signed_in_user(client) is None
    assert provider.token_requests == []  # the code was never exchanged


@pytest.mark.parametrize("query", ["?code=un-code-quelconque", "?code=un-code&state=sans-session", ""])
def test_a_callback_without_state_or_without_a_started_sign_in_goes_back_to_the_sign_in_page(provider, query):
    client = Client()
    response = client.get(CALLBACK + query)
    assert response.status_code == 302
    assert response["Location"] == FAILED
    assert provider.token_requests == []


def test_a_refusal_at_the_provider_lands_on_the_sign_in_page_in_french(provider, secrets_registry):
    client = Client()
    callback = provider.deny(start(client, provider))
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    page = failure_page(client, come_back(client, callback, secrets_registry))
    assert french(FAILURE_MESSAGE, oidc_provider="ProConnect") in page
    assert signed_in_user(client) is None


def test_a_provider_that_cannot_be_reached_at_the_callback_fails_cleanly(
    provider, secrets_registry, settings
):
    provider.set_user("sub-ines", email="ines@mairie-exemple.fr")
    client = Client()
    callback = provider.sign_in(start(client, provider), "sub-ines")
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/oauth2/token"  # discard port: refused
    failure_page(client, come_back(client, callback, secrets_registry))
    assert signed_in_user(client) is None


# --- Configuration -------------------------------------------------------------------------------


def test_without_oidc_configured_the_oidc_addresses_do_not_exist(db, settings):
    settings.OIDC_ENABLED = False
    client = Client()
    assert client.get(START).status_code == 404
    assert client.get(f"{CALLBACK}?code=abcdef&state=abcdef").status_code == 404


def test_the_sign_in_page_offers_proconnect_only_when_oidc_is_enabled(db, settings):
    button = french("Sign in with %(oidc_provider)s", oidc_provider="ProConnect")
    settings.OIDC_ENABLED = False
    assert button not in Client().get(LOGIN).content.decode()
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "ProConnect"
    page = Client().get(LOGIN).content.decode()
    assert button in page
    assert f'href="{START}?next=' in page


def _settings_module_with(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Any:
    """parvis/settings.py evaluated afresh under the given environment, as at server start."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    path = Path(django_settings.BASE_DIR) / "parvis" / "settings.py"
    spec = importlib.util.spec_from_file_location("parvis_settings_probe", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_csp_lets_the_logout_form_be_redirected_to_the_provider_end_session(monkeypatch):
    module = _settings_module_with(
        monkeypatch,
        OIDC_OP_AUTHORIZATION_ENDPOINT="https://auth.proconnect.gouv.fr/api/v2/authorize",
        OIDC_OP_LOGOUT_ENDPOINT="https://fca.integ01.dev-agentconnect.fr/api/v2/session/end?x=1",
    )
    form_action = module.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]
    assert "https://fca.integ01.dev-agentconnect.fr" in form_action
    assert "https://auth.proconnect.gouv.fr" in form_action
    assert all("?" not in source for source in form_action)
    assert "parvis.core.oidc.ParvisOIDCBackend" in module.AUTHENTICATION_BACKENDS


def test_without_oidc_the_csp_allows_forms_to_parvis_only(monkeypatch):
    monkeypatch.delenv("OIDC_OP_AUTHORIZATION_ENDPOINT", raising=False)
    module = _settings_module_with(monkeypatch, OIDC_OP_LOGOUT_ENDPOINT="https://ailleurs.example/fin")
    assert module.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] == ["'self'"]
    assert module.AUTHENTICATION_BACKENDS == ["parvis.core.auth.EmailBackend"]
