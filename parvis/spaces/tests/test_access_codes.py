"""Access codes, the core promise: a facilitator gives a short code to people outside the
commune; they type it, create an account and land in that one space, nothing else. Codes are
unguessable, throttled, stored as digests, and every bad code gets the same answer."""

import datetime
import math
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from conftest import french
from parvis.core.models import AuditEvent, OrgMembership, User, digest
from parvis.spaces.actions import CODE_ALPHABET, CODE_LENGTH, new_code
from parvis.spaces.models import AccessCode, Role, SpaceMembership
from parvis.spaces.tests.conftest import listed, space_url, url

ENTRY = url("code_entry")
SIGN_UP = url("code_sign_up")
NEWCOMER = "a.roussel@atelier-lumiere.localhost"
NEWCOMER_PASSWORD = "Une cour d'école pleine de lumière en 2027"
NOT_VALID = "This code is not valid, or no longer valid. Check it with the person who gave it to you."
THROTTLED = (
    "Too many failed attempts. For your security, signing in to this account from this "
    "address is suspended for %(minutes)d minutes."
)
SHOWN_CODE = re.compile(r'id="access-code">([A-Z0-9-]+)<')


@pytest.fixture
def code(world, secrets_registry) -> str:
    """The school project's code (reader, five uses), as typed and as stored."""
    secrets_registry.add(world.code, world.code.replace("-", ""))
    return world.code


def enter(client: Client, typed: str, ip: str = "203.0.113.40"):  # type: ignore[no-untyped-def]
    return client.post(ENTRY, {"code": typed}, REMOTE_ADDR=ip)


def make_code(space, secrets_registry, **fields) -> str:  # type: ignore[no-untyped-def]
    """A code of `space` with the given fields, returned as a person would type it."""
    value = new_code()
    secrets_registry.add(value)
    fields.setdefault("expires_at", timezone.now() + datetime.timedelta(days=7))
    fields.setdefault("max_uses", 5)
    fields.setdefault("role", Role.READER)
    AccessCode.objects.create(space=space, code_digest=digest(value), hint=value[-4:], **fields)
    return value


def sign_up(client: Client, email: str = NEWCOMER, password: str = NEWCOMER_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        SIGN_UP,
        {
            "full_name": "Aline Roussel",
            "email": email,
            "new_password1": password,
            "new_password2": password,
        },
    )


def as_seen(response, typed: str) -> str:  # type: ignore[no-untyped-def]
    """The page, less what differs by nature: the CSRF tokens and the code she typed."""
    html = response.content.decode().replace(f'value="{typed}"', 'value="…"')
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


# --- The generator ------------------------------------------------------------------------------


def test_codes_are_twelve_characters_from_an_unambiguous_31_letter_alphabet():
    assert len(CODE_ALPHABET) == len(set(CODE_ALPHABET)) == 31
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert CODE_LENGTH == 12
    assert CODE_LENGTH * math.log2(len(CODE_ALPHABET)) >= 59
    codes = [new_code() for _ in range(1000)]
    assert all(len(c) == 12 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert len(set(codes)) == 1000
    # Every letter of the alphabet turns up: the generator uses all of it.
    assert set("".join(codes)) == set(CODE_ALPHABET)


# --- Creating a code ----------------------------------------------------------------------------


def test_the_facilitator_creates_a_code_shown_once_and_stored_only_as_a_digest(
    world, client_for, secrets_registry
):
    client = client_for("maire")
    expires = timezone.localdate() + datetime.timedelta(days=10)
    response = client.post(
        space_url(world.ecole, "codes"),
        {
            "label": "Atelier Lumière",
            "role": Role.CONTRIBUTOR,
            "expires_on": expires.isoformat(),
            "max_uses": 3,
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    shown = SHOWN_CODE.search(response.content.decode()).group(1)
    typed = shown.replace("-", "")
    secrets_registry.add(shown, typed)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", shown)

    access_code = AccessCode.objects.get(label="Atelier Lumière")
    assert access_code.code_digest == digest(typed)
    assert access_code.hint == typed[-4:]
    assert (access_code.role, access_code.max_uses, access_code.uses) == (Role.CONTRIBUTOR, 3, 0)
    assert timezone.localtime(access_code.expires_at).date() == expires
    assert access_code.created_by == world.maire
    stored = " ".join(str(v) for v in AccessCode.objects.filter(pk=access_code.pk).values().get().values())
    assert typed not in stored
    assert shown not in stored

    # Never shown again: the list gives its end only.
    listing = client.get(space_url(world.ecole, "codes")).content.decode()
    assert typed[-4:] in listing
    assert typed not in listing
    assert shown not in listing
    event = AuditEvent.objects.get(action="access_code.create")
    assert event.data == {"role": Role.CONTRIBUTOR, "max_uses": 3}


def test_only_a_facilitator_creates_or_revokes_codes(world, client_for, code):
    expires = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    data = {"role": Role.MANAGER, "expires_on": expires, "max_uses": 500}
    assert client_for("externe").post(space_url(world.ecole, "codes"), data).status_code == 403
    assert client_for("elu").post(space_url(world.ecole, "codes"), data).status_code == 403
    assert (
        client_for("elu").post(space_url(world.ecole, "code_revoke", world.access_code.pk)).status_code == 403
    )
    # From a space she manages, maire cannot reach the code of another space.
    response = client_for("maire").post(space_url(world.commission, "code_revoke", world.access_code.pk))
    assert response.status_code == 404
    assert AccessCode.objects.count() == 1
    world.access_code.refresh_from_db()
    assert world.access_code.revoked_at is None


# --- Using a code -------------------------------------------------------------------------------


def test_an_outside_person_with_a_valid_code_lands_in_that_space_as_a_guest(world, code, secrets_registry):
    secrets_registry.add(NEWCOMER_PASSWORD)
    client = Client()
    response = enter(client, code)
    assert response.status_code == 302
    assert response["Location"] == SIGN_UP
    form = client.get(SIGN_UP)
    assert form.status_code == 200
    assert "Projet école" in form.content.decode()

    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == space_url(world.ecole)
    secrets_registry.add(client.cookies["sessionid"].value)
    assert client.get(space_url(world.ecole)).status_code == 200

    newcomer = User.objects.get(email=NEWCOMER)
    assert OrgMembership.objects.get(organisation=world.org, user=newcomer).role == OrgMembership.Role.GUEST
    assert SpaceMembership.objects.get(space=world.ecole, user=newcomer).role == Role.READER
    world.access_code.refresh_from_db()
    assert world.access_code.uses == 1

    # She sees that space and nothing else of the commune.
    assert listed(client.get(url("my_spaces", "saint-aubin"))) == {"ecole"}
    assert listed(client.get(url("directory", "saint-aubin"))) == {"ecole"}
    assert client.get("/o/saint-aubin/annuaire/").status_code == 403
    for space in (world.council, world.commission, world.rh, world.other_space):
        assert client.get(space_url(space)).status_code == 404
    assert (
        AuditEvent.objects.filter(action="access_code.redeem", object_id=str(world.access_code.pk)).count()
        == 1
    )


def test_the_code_is_accepted_in_lower_case_with_spaces(world, code):
    assert enter(Client(), " abcd efgh jkmn ")["Location"] == SIGN_UP


def test_the_role_of_the_code_is_the_role_she_gets(world, secrets_registry):
    secrets_registry.add(NEWCOMER_PASSWORD)
    typed = make_code(world.ecole, secrets_registry, role=Role.CONTRIBUTOR)
    client = Client()
    enter(client, typed)
    sign_up(client)
    secrets_registry.add(client.cookies["sessionid"].value)
    newcomer = User.objects.get(email=NEWCOMER)
    assert SpaceMembership.objects.get(space=world.ecole, user=newcomer).role == Role.CONTRIBUTOR


def test_a_signed_in_member_of_the_organisation_who_enters_a_code_is_added_without_becoming_a_guest(
    world, client_for, code
):
    client = client_for("agent_rh")
    response = enter(client, code)
    assert response.status_code == 302
    assert response["Location"] == space_url(world.ecole)
    assert SpaceMembership.objects.get(space=world.ecole, user=world.agent_rh).role == Role.READER
    assert (
        OrgMembership.objects.get(organisation=world.org, user=world.agent_rh).role
        == OrgMembership.Role.MEMBER
    )
    world.access_code.refresh_from_db()
    assert world.access_code.uses == 1
    assert client.get(space_url(world.council)).status_code == 200  # still a full member


def test_a_member_already_in_the_space_keeps_her_stronger_role(world, client_for, code):
    enter(client_for("maire"), code)
    assert SpaceMembership.objects.get(space=world.ecole, user=world.maire).role == Role.MANAGER


def test_someone_of_another_commune_enters_a_code_and_becomes_a_guest_here_only(world, client_for, code):
    client = client_for("inconnu")
    assert enter(client, code)["Location"] == space_url(world.ecole)
    assert OrgMembership.objects.get(organisation=world.org, user=world.inconnu).role == "guest"
    assert OrgMembership.objects.get(organisation=world.other, user=world.inconnu).role == "admin"
    assert listed(client.get(url("directory", "saint-aubin"))) == {"ecole"}


def test_the_use_count_stops_the_code_when_it_is_exhausted(world, client_for, secrets_registry):
    typed = make_code(world.ecole, secrets_registry, max_uses=1)
    assert enter(client_for("agent_rh"), typed)["Location"] == space_url(world.ecole)
    response = enter(client_for("elu"), typed)
    assert response.status_code == 400
    assert french(NOT_VALID) in response.content.decode()
    assert not SpaceMembership.objects.filter(space=world.ecole, user=world.elu).exists()
    assert AccessCode.objects.get(hint=typed[-4:]).uses == 1


def test_a_revoked_code_stops_working_at_once(world, client_for, code):
    response = client_for("maire").post(space_url(world.ecole, "code_revoke", world.access_code.pk))
    assert response.status_code == 302
    world.access_code.refresh_from_db()
    assert world.access_code.revoked_at is not None
    assert AuditEvent.objects.filter(action="access_code.revoke").count() == 1
    assert enter(client_for("agent_rh"), code).status_code == 400
    assert not SpaceMembership.objects.filter(space=world.ecole, user=world.agent_rh).exists()


def test_expired_revoked_exhausted_archived_and_random_codes_all_get_the_same_answer(
    world, secrets_registry, unchanged
):
    past = timezone.now() - datetime.timedelta(minutes=1)
    archived = world.commission
    archived.archived_at = timezone.now()
    archived.save()
    bad = {
        "expired": make_code(world.ecole, secrets_registry, expires_at=past),
        "revoked": make_code(world.ecole, secrets_registry, revoked_at=past),
        "exhausted": make_code(world.ecole, secrets_registry, max_uses=2, uses=2),
        "archived space": make_code(archived, secrets_registry),
        "random": new_code(),
        "too short": "ABCD-EFGH",
    }
    secrets_registry.add(bad["random"])
    check = unchanged("core.AuditEvent")
    pages = {}
    for n, (why, typed) in enumerate(bad.items()):
        response = enter(Client(), typed, ip=f"198.51.100.{n + 1}")
        assert response.status_code == 400, why
        pages[why] = as_seen(response, typed)
        assert french(NOT_VALID) in pages[why], why
    assert len(set(pages.values())) == 1
    check()
    # Each failure is in the journal, without the code.
    events = AuditEvent.objects.filter(action="access_code.failed")
    assert events.count() == len(bad)
    assert all(e.data == {"reason": "unknown"} for e in events)


def test_a_browser_that_mistypes_codes_is_held_without_holding_its_colleagues(
    world, code, secrets_registry
):
    failures = settings.PARVIS_THROTTLES["access_code"]["pair"][0]
    guesses = [new_code() for _ in range(failures)]
    secrets_registry.add(*guesses)
    mairie = "203.0.113.66"
    browser = Client()
    for guess in guesses:
        assert enter(browser, guess, ip=mairie).status_code == 400
    # Even the right code is refused to that browser now, with the French explanation.
    response = enter(browser, code, ip=mairie)
    assert response.status_code == 429
    window = settings.PARVIS_THROTTLES["access_code"]["pair"][1] // 60
    assert any(french(THROTTLED, minutes=m) in response.content.decode() for m in (window, window - 1))
    assert AuditEvent.objects.filter(action="access_code.failed", data__reason="throttled").count() == 1
    # A colleague behind the same public address, and someone elsewhere, are unaffected.
    assert enter(Client(), code, ip=mairie)["Location"] == SIGN_UP
    assert enter(Client(), code, ip="192.0.2.10")["Location"] == SIGN_UP
    world.access_code.refresh_from_db()
    assert world.access_code.uses == 0


def test_an_address_that_drops_its_cookies_to_guess_again_is_stopped(world, code, secrets_registry):
    ceiling = settings.PARVIS_THROTTLES["access_code"]["address"][0]
    attacker = "198.51.100.7"
    for _ in range(ceiling):
        guess = new_code()
        secrets_registry.add(guess)
        assert enter(Client(), guess, ip=attacker).status_code == 400
    assert enter(Client(), code, ip=attacker).status_code == 429
    assert enter(Client(), code, ip="192.0.2.10")["Location"] == SIGN_UP


def test_a_signed_in_person_is_throttled_on_her_account_too(world, client_for, code, secrets_registry):
    failures = settings.PARVIS_THROTTLES["access_code"]["pair"][0]
    client = client_for("agent_rh")
    for _ in range(failures):
        guess = new_code()
        secrets_registry.add(guess)
        enter(client, guess)
    assert enter(client, code).status_code == 429
    assert not SpaceMembership.objects.filter(space=world.ecole, user=world.agent_rh).exists()


def test_the_journal_tells_create_redeem_and_failures_but_never_the_code(world, client_for, secrets_registry):
    expires = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = client_for("maire").post(
        space_url(world.ecole, "codes"), {"role": Role.READER, "expires_on": expires, "max_uses": 2}
    )
    shown = SHOWN_CODE.search(response.content.decode()).group(1)
    secrets_registry.add(shown, shown.replace("-", ""))
    wrong = new_code()
    secrets_registry.add(wrong)
    enter(client_for("elu"), wrong)
    enter(client_for("elu"), shown)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"access_code.create", "access_code.redeem", "access_code.failed"} <= actions
    for event in AuditEvent.objects.all():
        text = " ".join([event.actor_label, event.object_label, event.action, str(event.data)])
        for secret in (shown, shown.replace("-", ""), wrong):
            assert secret not in text
            assert secret[:8] not in text


def test_the_account_page_without_a_code_sends_her_back_to_enter_it(world):
    response = Client().get(SIGN_UP)
    assert response["Location"] == ENTRY
    assert User.objects.count() == 7


def test_an_account_cannot_be_created_twice_for_the_same_address(world, code, unchanged):
    client = Client()
    enter(client, code)
    check = unchanged()
    response = sign_up(client, email=world.elu.email.upper())
    assert response.status_code == 400
    assert french("An account already exists with this address: sign in first, then come back.") in (
        response.content.decode()
    )
    check()
