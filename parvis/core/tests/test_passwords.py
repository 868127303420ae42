"""Password rules (CNIL délibération 2022-100): at least 12 characters, no common password
(Django's list and a French one), a ceiling high enough for pass phrases, and no forced renewal.

The rules are shown where people choose a password: creating an account from an access code,
and changing it from the profile."""

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from conftest import french
from parvis.core.models import User
from parvis.core.tests.accounts import PROFILE, sign_in
from parvis.core.tests.factories import PASSWORD

CODE_ENTRY = reverse("spaces:code_entry")
SIGN_UP = reverse("spaces:code_sign_up")
PASSWORD_CHANGE = reverse("core:password_change")

PASS_PHRASE = "la fontaine du lavoir coule encore en hiver"
TOO_COMMON = "This password is too common."


def too_short() -> str:
    """Django's plural message for the 12-character minimum, in French."""
    msgid = "This password is too short. It must contain at least %d character."
    plural = "This password is too short. It must contain at least %d characters."
    with translation.override("fr"):
        text = translation.ngettext(msgid, plural, 12)
    assert text not in (msgid, plural), "not translated into French"
    return escape(text % 12)


def too_long() -> str:
    return french("This password is too long (at most %(max)d characters).", max=1024)


def sign_up_with_a_code(world, secrets_registry, password: str):  # type: ignore[no-untyped-def]
    """A newcomer types the school project's access code, then creates her account."""
    secrets_registry.add(world.code, password)
    client = Client()
    assert client.post(CODE_ENTRY, {"code": world.code}).status_code == 302
    return client.post(
        SIGN_UP,
        {
            "full_name": "Inès Garnier",
            "email": "ines@exemple.localhost",
            "new_password1": password,
            "new_password2": password,
        },
    )


def change_password(client: Client, secrets_registry, password: str):  # type: ignore[no-untyped-def]
    secrets_registry.add(password)
    return client.post(
        PASSWORD_CHANGE,
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )


# --- Creating an account from an access code ----------------------------------------------------


def test_a_password_under_twelve_characters_is_refused_at_sign_up_in_french(world, secrets_registry):
    response = sign_up_with_a_code(world, secrets_registry, "Lavoir-2026")  # 11 characters
    assert response.status_code == 400
    assert too_short() in response.content.decode()
    assert not User.objects.filter(email="ines@exemple.localhost").exists()


@pytest.mark.parametrize(
    "common",
    [
        "password1234",  # Django's list
        "qwertyuiop123",  # Django's list
        "motdepasse2024!",  # French list: the letters are "motdepasse", digits and signs stripped
        "MonMotDePasse#1",  # French list, whatever the case
        "Marseille13013",  # French list
        "Mairie-2026-2026",  # French list: the word people pick at the town hall
        "azertyuiop1234",  # French keyboard walk
        "aaaaaaaa11111111",  # two letters at most: a pattern, not a password
    ],
)
def test_a_common_password_is_refused_at_sign_up_in_french(world, secrets_registry, common):
    response = sign_up_with_a_code(world, secrets_registry, common)
    assert response.status_code == 400
    assert french(TOO_COMMON) in response.content.decode()
    assert not User.objects.filter(email="ines@exemple.localhost").exists()


def test_a_password_over_1024_characters_is_refused_at_sign_up_in_french(world, secrets_registry):
    response = sign_up_with_a_code(world, secrets_registry, (PASS_PHRASE + " ") * 24)  # 1,080
    assert response.status_code == 400
    assert too_long() in response.content.decode()


def test_a_long_pass_phrase_creates_the_account(world, secrets_registry):
    response = sign_up_with_a_code(world, secrets_registry, PASS_PHRASE)
    assert response.status_code == 302
    user = User.objects.get(email="ines@exemple.localhost")
    assert user.check_password(PASS_PHRASE)


def test_a_pass_phrase_of_exactly_1024_characters_is_accepted(world, secrets_registry):
    phrase = (PASS_PHRASE + " ") * 24
    response = sign_up_with_a_code(world, secrets_registry, phrase[:1024])
    assert response.status_code == 302


# --- Changing it from the profile ---------------------------------------------------------------


def test_the_password_page_refuses_a_short_one_in_french(world, client_for, secrets_registry):
    response = change_password(client_for("elu"), secrets_registry, "court-2026")
    assert response.status_code == 400
    assert too_short() in response.content.decode()
    world.elu.refresh_from_db()
    assert world.elu.check_password(PASSWORD)


def test_the_password_page_refuses_a_french_common_one_in_french(world, client_for, secrets_registry):
    response = change_password(client_for("elu"), secrets_registry, "motdepasse2024!")
    assert response.status_code == 400
    assert french(TOO_COMMON) in response.content.decode()


def test_the_password_page_refuses_one_over_1024_characters_in_french(world, client_for, secrets_registry):
    response = change_password(client_for("elu"), secrets_registry, "Ab3-" * 257)  # 1,028
    assert response.status_code == 400
    assert too_long() in response.content.decode()


def test_the_password_page_accepts_a_long_pass_phrase(world, client_for, secrets_registry):
    response = change_password(client_for("elu"), secrets_registry, PASS_PHRASE)
    assert response.status_code == 302
    world.elu.refresh_from_db()
    assert world.elu.check_password(PASS_PHRASE)


def test_the_password_page_refuses_a_wrong_current_password_in_french(world, client_for, secrets_registry):
    secrets_registry.add("pas-le-mot-de-passe-actuel", PASS_PHRASE)
    response = client_for("elu").post(
        PASSWORD_CHANGE,
        {
            "old_password": "pas-le-mot-de-passe-actuel",
            "new_password1": PASS_PHRASE,
            "new_password2": PASS_PHRASE,
        },
    )
    assert response.status_code == 400
    assert french("Your current password is not correct.") in response.content.decode()


# --- No forced renewal --------------------------------------------------------------------------


def test_a_password_never_expires(world, secrets_registry):
    """Three years after it was chosen, the same password still opens her account, and nothing
    asks her to change it (CNIL: no periodic renewal for a password that meets the rules)."""
    later = timezone.now() + timedelta(days=3 * 365)
    with mock.patch("django.utils.timezone.now", return_value=later):
        client = Client()
        response = sign_in(client, world.elu.email, secrets_registry)
        assert response.status_code == 302
        assert response["Location"] == "/"
        profile = client.get(PROFILE)
    assert profile.status_code == 200
