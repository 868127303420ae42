"""Every form of the spaces app, given bad input, answers 400 with a French error and changes
nothing: no row, no audit event, no notification, no e-mail."""

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import french
from parvis.core.models import Group, User
from parvis.core.tests.factories import World
from parvis.spaces.models import JoinRequest, Role, SpaceMembership, SpaceTab
from parvis.spaces.tests.conftest import french_plural, space_url, url

Setup = Callable[[World], tuple[str, dict[str, Any]]]

REQUIRED = "This field is required."
CHOICE = "Select a valid choice. %(value)s is not one of the available choices."
OTHER_CHOICE = "Select a valid choice. That choice is not one of the available choices."
TOO_LONG = (
    "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
    "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
)
NOT_UNDERSTOOD = "The request sent to Parvis is not valid. Go back and try again."


def days(n: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=n)).isoformat()


def too_long(limit: int) -> str:
    return french_plural(*TOO_LONG, limit, limit_value=limit, show_value=limit + 1)


def a_request(world: World) -> int:
    return JoinRequest.objects.create(space=world.ecole, user=world.elu).pk


def a_tab(world: World) -> int:
    return SpaceTab.objects.create(user=world.maire, organisation=world.org, name="Suivi").pk


def code_form(**changes: object) -> dict[str, object]:
    return {"label": "", "role": Role.READER, "expires_on": days(10), "max_uses": 5, **changes}


SPACE = {"name": "Nouvel espace", "kind": "other", "visibility": "private"}

CASES: dict[str, tuple[str, Setup, Callable[[World], str]]] = {
    "create: no name": (
        "secretaire",
        lambda w: (url("create", "saint-aubin"), {**SPACE, "name": "   "}),
        lambda w: french(REQUIRED),
    ),
    "create: unknown visibility": (
        "secretaire",
        lambda w: (url("create", "saint-aubin"), {**SPACE, "visibility": "secret"}),
        lambda w: french(CHOICE, value="secret"),
    ),
    "batch: no template": (
        "secretaire",
        lambda w: (url("batch", "saint-aubin"), {"names": "Urbanisme"}),
        lambda w: french(REQUIRED),
    ),
    "settings: name too long": (
        "maire",
        lambda w: (space_url(w.commission, "settings"), {**SPACE, "name": "N" * 151}),
        lambda w: too_long(150),
    ),
    "settings: unknown kind": (
        "maire",
        lambda w: (space_url(w.commission, "settings"), {**SPACE, "kind": "mairie"}),
        lambda w: french(CHOICE, value="mairie"),
    ),
    "save as template: no name": (
        "secretaire",
        lambda w: (space_url(w.commission, "save_template"), {"name": ""}),
        lambda w: french(REQUIRED),
    ),
    "request to join: message too long": (
        "elu",
        lambda w: (space_url(w.ecole, "join"), {"message": "m" * 501}),
        lambda w: too_long(500),
    ),
    "notifications: unknown frequency": (
        "elu",
        lambda w: (space_url(w.commission, "frequency"), {"frequency": "hourly"}),
        lambda w: french("Choose one of the proposed frequencies."),
    ),
    "invite: not an address": (
        "maire",
        lambda w: (space_url(w.commission, "members"), {"email": "pas-une-adresse", "role": Role.READER}),
        lambda w: french("Enter a valid email address."),
    ),
    "invite: unknown role": (
        "maire",
        lambda w: (space_url(w.commission, "members"), {"email": "x@exemple.localhost", "role": "roi"}),
        lambda w: french(CHOICE, value="roi"),
    ),
    "member: unknown role": (
        "maire",
        lambda w: (
            space_url(w.commission, "member", SpaceMembership.objects.get(space=w.commission, user=w.elu).pk),
            {"role": "roi"},
        ),
        lambda w: french("Choose one of the proposed roles."),
    ),
    "group access: group of another commune": (
        "maire",
        lambda w: (
            space_url(w.commission, "groups"),
            {"group": Group.objects.create(organisation=w.other, name="Élus").pk, "role": Role.READER},
        ),
        lambda w: french(OTHER_CHOICE),
    ),
    "group access: unknown role": (
        "maire",
        lambda w: (space_url(w.commission, "groups"), {"group": w.rh_group.pk, "role": "roi"}),
        lambda w: french(CHOICE, value="roi"),
    ),
    "request decision: unknown role": (
        "maire",
        lambda w: (space_url(w.ecole, "request", a_request(w)), {"decision": "approve", "role": "roi"}),
        lambda w: french("Choose one of the proposed roles."),
    ),
    "request decision: no decision": (
        "maire",
        lambda w: (space_url(w.ecole, "request", a_request(w)), {"role": Role.READER}),
        lambda w: french(NOT_UNDERSTOOD),
    ),
    "access code: date in the past": (
        "maire",
        lambda w: (space_url(w.ecole, "codes"), code_form(expires_on=days(-1))),
        lambda w: french("This date is in the past."),
    ),
    "access code: more than a year": (
        "maire",
        lambda w: (space_url(w.ecole, "codes"), code_form(expires_on=days(400))),
        lambda w: french("A code is valid for one year at most."),
    ),
    "access code: not a date": (
        "maire",
        lambda w: (space_url(w.ecole, "codes"), code_form(expires_on="demain")),
        lambda w: french("Enter a valid date."),
    ),
    "access code: no use": (
        "maire",
        lambda w: (space_url(w.ecole, "codes"), code_form(max_uses=0)),
        lambda w: french("Ensure this value is greater than or equal to %(limit_value)s.", limit_value=1),
    ),
    "access code: unknown role": (
        "maire",
        lambda w: (space_url(w.ecole, "codes"), code_form(role="roi")),
        lambda w: french(CHOICE, value="roi"),
    ),
    "code entry: nothing typed": (
        "anonyme",
        lambda w: (url("code_entry"), {"code": ""}),
        lambda w: french(REQUIRED),
    ),
    "organisation invitation: already a member": (
        "secretaire",
        lambda w: (
            url("invitations", "saint-aubin"),
            {"email": w.elu.email, "role": "member", "qualite": "agent"},
        ),
        lambda w: french("This person is already a member of the organisation."),
    ),
    "template: folder going up": (
        "secretaire",
        lambda w: (url("template_new", "saint-aubin"), {**SPACE, "folders_text": "Séances/../secret"}),
        lambda w: french("This folder path is not valid: %(path)s", path="Séances/../secret"),
    ),
    "template: no name": (
        "secretaire",
        lambda w: (url("template", "saint-aubin", w.template.pk), {**SPACE, "name": ""}),
        lambda w: french(REQUIRED),
    ),
    "tab: no name": (
        "maire",
        lambda w: (url("tabs", "saint-aubin"), {"name": ""}),
        lambda w: french(REQUIRED),
    ),
    "tab: name too long": (
        "maire",
        lambda w: (url("tabs", "saint-aubin"), {"name": "T" * 61}),
        lambda w: too_long(60),
    ),
    "tab: a space that is not hers": (
        "maire",
        lambda w: (url("tab", "saint-aubin", a_tab(w)), {"name": "Suivi", "spaces": [w.rh.pk]}),
        lambda w: french(CHOICE, value=w.rh.pk),
    ),
    "tab move: unknown direction": (
        "maire",
        lambda w: (url("tab_move", "saint-aubin", a_tab(w)), {"direction": "ailleurs"}),
        lambda w: french(NOT_UNDERSTOOD),
    ),
    "archive: unknown choice": (
        "maire",
        lambda w: (space_url(w.commission, "archive"), {"archive": "peut-être"}),
        lambda w: french(NOT_UNDERSTOOD),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_gets_a_french_error_and_changes_nothing(world, client_for, unchanged, case):
    persona, setup, message = CASES[case]
    client = client_for(persona)
    path, data = setup(world)
    check = unchanged()
    response = client.post(path, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message(world) in page
    assert 'role="alert"' in page or 'class="errorlist' in page
    check()


def test_a_code_account_with_passwords_that_differ_is_refused(world, unchanged, secrets_registry):
    secrets_registry.add(world.code, "Une première phrase assez longue", "Une seconde phrase assez longue")
    client = Client()
    client.post(url("code_entry"), {"code": world.code})
    check = unchanged()
    response = client.post(
        url("code_sign_up"),
        {
            "full_name": "Aline Roussel",
            "email": "aline@exemple.localhost",
            "new_password1": "Une première phrase assez longue",
            "new_password2": "Une seconde phrase assez longue",
        },
    )
    assert response.status_code == 400
    assert french("The two passwords differ.") in response.content.decode()
    check()


def test_an_invitation_account_with_a_common_password_is_refused(
    world, client_for, unchanged, secrets_registry, django_capture_on_commit_callbacks
):
    import re

    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        client_for("maire").post(
            space_url(world.commission, "members"),
            {"email": "camille@exemple.localhost", "role": Role.READER},
        )
    token = re.search(r"/invitation/([\w-]+)/", mail.outbox[0].body).group(1)
    secrets_registry.add(token)
    check = unchanged()
    response = Client().post(
        url("invitation", token),
        {"full_name": "Camille Roux", "new_password1": "motdepasse123", "new_password2": "motdepasse123"},
    )
    assert response.status_code == 400
    assert french("This password is too common.") in response.content.decode()
    check()
    assert not User.objects.filter(email="camille@exemple.localhost").exists()


EMPTY: dict[str, tuple[str, Callable[[World], str], str]] = {
    "create a space": ("secretaire", lambda w: url("create", "saint-aubin"), REQUIRED),
    "create from a template": ("secretaire", lambda w: url("batch", "saint-aubin"), REQUIRED),
    "settings": ("maire", lambda w: space_url(w.commission, "settings"), REQUIRED),
    "save as a template": ("secretaire", lambda w: space_url(w.commission, "save_template"), REQUIRED),
    "notifications": (
        "elu",
        lambda w: space_url(w.commission, "frequency"),
        "Choose one of the proposed frequencies.",
    ),
    "invite": ("maire", lambda w: space_url(w.commission, "members"), REQUIRED),
    "member": (
        "maire",
        lambda w: space_url(
            w.commission, "member", SpaceMembership.objects.get(space=w.commission, user=w.elu).pk
        ),
        "Choose one of the proposed roles.",
    ),
    "group access": ("maire", lambda w: space_url(w.commission, "groups"), REQUIRED),
    "request decision": ("maire", lambda w: space_url(w.ecole, "request", a_request(w)), NOT_UNDERSTOOD),
    "access code": ("maire", lambda w: space_url(w.ecole, "codes"), REQUIRED),
    "code entry": ("anonyme", lambda w: url("code_entry"), REQUIRED),
    "organisation invitation": ("secretaire", lambda w: url("invitations", "saint-aubin"), REQUIRED),
    "template": ("secretaire", lambda w: url("template_new", "saint-aubin"), REQUIRED),
    "new tab": ("maire", lambda w: url("tabs", "saint-aubin"), REQUIRED),
    "tab": ("maire", lambda w: url("tab", "saint-aubin", a_tab(w)), REQUIRED),
    "tab move": ("maire", lambda w: url("tab_move", "saint-aubin", a_tab(w)), NOT_UNDERSTOOD),
    "archive": ("maire", lambda w: space_url(w.commission, "archive"), NOT_UNDERSTOOD),
}


@pytest.mark.parametrize("form", list(EMPTY), ids=list(EMPTY))
def test_an_empty_form_is_refused_with_a_french_error_and_changes_nothing(world, client_for, unchanged, form):
    persona, path, message = EMPTY[form]
    client = client_for(persona)
    target = path(world)
    check = unchanged()
    response = client.post(target, {})
    assert response.status_code == 400
    page = response.content.decode()
    assert french(message) in page
    assert 'role="alert"' in page or 'class="errorlist' in page
    check()
