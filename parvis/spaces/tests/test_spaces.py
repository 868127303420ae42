"""Who sees and enters which space: private, open to the organisation, joined on request; guests
who see only their own spaces; the facilitator's settings (2FA, downloads, archive)."""

import base64

import pyotp
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import french
from parvis.core.audit import Actor
from parvis.core.auth import confirm_totp
from parvis.core.models import AuditEvent, Notification, OrgMembership
from parvis.core.tests.factories import PASSWORD
from parvis.spaces.models import JoinRequest, Role, Space, SpaceMembership, Visibility
from parvis.spaces.tests.conftest import listed, space_url, url

NOT_FOUND = "This page does not exist, or you do not have access to it."
SECOND_FACTOR = (
    "This space requires you to sign in with a second factor (a code from an application on your phone)."
)


def settings_form(space: Space, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": space.name,
        "description": space.description,
        "kind": space.kind,
        "visibility": space.visibility,
        "tools": space.tools,
    }
    if space.require_2fa:
        data["require_2fa"] = "on"
    if space.block_downloads:
        data["block_downloads"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


# --- Visibility ---------------------------------------------------------------------------------


def test_a_member_sees_open_and_on_request_spaces_in_the_directory_but_not_private_ones(world, client_for):
    response = client_for("elu").get(url("directory", "saint-aubin"))
    assert response.status_code == 200
    # The commission is private but elu is in it; the RH space is private and not hers.
    assert listed(response) == {"conseil", "finances", "ecole"}
    assert listed(client_for("agent_rh").get(url("directory", "saint-aubin"))) == {"conseil", "ecole", "rh"}


def test_a_private_space_looks_exactly_like_a_missing_one_to_a_member_outside_it(world, client_for):
    client = client_for("agent_rh")
    private = client.get(space_url(world.commission))
    missing = client.get(url("detail", "saint-aubin", "n-existe-pas"))
    assert private.status_code == missing.status_code == 404
    assert french(NOT_FOUND) in private.content.decode()
    assert client.get(space_url(world.commission, "members")).status_code == 404


def test_a_member_reads_a_space_open_to_the_organisation_and_joins_it_directly(world, client_for):
    client = client_for("agent_rh")
    assert client.get(space_url(world.council)).status_code == 200
    response = client.post(space_url(world.council, "join"))
    assert response.status_code == 302
    membership = SpaceMembership.objects.get(space=world.council, user=world.agent_rh)
    assert membership.role == Role.READER
    assert AuditEvent.objects.filter(action="space.member_add", object_id=str(membership.pk)).exists()
    assert "conseil" in listed(client.get(url("my_spaces", "saint-aubin")))


def test_a_space_joined_on_request_shows_a_request_form_and_not_its_content(world, client_for):
    client = client_for("elu")
    response = client.get(space_url(world.ecole))
    page = response.content.decode()
    assert response.status_code == 200
    assert french("This space is joined on request: the facilitators decide.") in page
    assert 'name="message"' in page
    assert client.get(space_url(world.ecole, "members")).status_code == 403
    assert not SpaceMembership.objects.filter(space=world.ecole, user=world.elu).exists()


def test_the_facilitator_approves_a_request_with_the_role_she_chooses_and_the_requester_is_told(
    world, client_for
):
    elu, maire = client_for("elu"), client_for("maire")
    response = elu.post(space_url(world.ecole, "join"), {"message": "Je suis délégué aux écoles."})
    assert response.status_code == 302
    request = JoinRequest.objects.get(space=world.ecole, user=world.elu)
    assert request.status == JoinRequest.Status.PENDING
    assert request.message == "Je suis délégué aux écoles."
    assert french("Your request to join has been sent; the facilitators will answer it.") in (
        elu.get(space_url(world.ecole)).content.decode()
    )
    asked = Notification.objects.get(recipient=world.maire, kind="space.join_request")
    assert asked.url == space_url(world.ecole, "requests")
    assert not Notification.objects.filter(recipient=world.externe, kind="space.join_request").exists()
    assert "Je suis délégué aux écoles." in maire.get(space_url(world.ecole, "requests")).content.decode()

    response = maire.post(
        space_url(world.ecole, "request", request.pk), {"decision": "approve", "role": Role.CONTRIBUTOR}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == JoinRequest.Status.APPROVED
    assert request.decided_by == world.maire
    assert SpaceMembership.objects.get(space=world.ecole, user=world.elu).role == Role.CONTRIBUTOR
    told = Notification.objects.get(recipient=world.elu, kind="space.member_added")
    assert told.url == space_url(world.ecole)
    assert french("You now have access to the space “%(space)s”", space="Projet école") in (
        elu.get("/notifications/").content.decode()
    )
    assert AuditEvent.objects.filter(action="space.join_approve", object_id=str(request.pk)).count() == 1
    assert elu.get(space_url(world.ecole, "members")).status_code == 200


def test_the_facilitator_declines_a_request_and_the_requester_is_told(world, client_for):
    client_for("elu").post(space_url(world.ecole, "join"))
    request = JoinRequest.objects.get(space=world.ecole, user=world.elu)
    response = client_for("maire").post(space_url(world.ecole, "request", request.pk), {"decision": "refuse"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == JoinRequest.Status.REFUSED
    assert not SpaceMembership.objects.filter(space=world.ecole, user=world.elu).exists()
    assert Notification.objects.filter(recipient=world.elu, kind="space.join_refused").exists()
    # The decided request cannot be decided a second time.
    again = client_for("maire").post(
        space_url(world.ecole, "request", request.pk), {"decision": "approve", "role": Role.MANAGER}
    )
    assert again.status_code in (403, 404)
    assert not SpaceMembership.objects.filter(space=world.ecole, user=world.elu).exists()


def test_a_contributor_cannot_decide_the_requests_of_her_space(world, client_for):
    client_for("elu").post(space_url(world.ecole, "join"))
    request = JoinRequest.objects.get(space=world.ecole, user=world.elu)
    externe = client_for("externe")
    assert externe.get(space_url(world.ecole, "requests")).status_code == 403
    response = externe.post(
        space_url(world.ecole, "request", request.pk), {"decision": "approve", "role": "reader"}
    )
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == JoinRequest.Status.PENDING


def test_a_guest_sees_only_her_spaces_and_no_directory_of_people(world, client_for):
    client = client_for("externe")
    assert listed(client.get(url("directory", "saint-aubin"))) == {"ecole"}
    assert listed(client.get(url("my_spaces", "saint-aubin"))) == {"ecole"}
    assert client.get(space_url(world.ecole)).status_code == 200
    annuaire = client.get("/o/saint-aubin/annuaire/")
    assert annuaire.status_code == 403
    # The council is open to the organisation's members, not to its guests.
    for space in (world.council, world.commission, world.rh, world.other_space):
        assert client.get(space_url(space)).status_code == 404, space.slug
    assert client.post(space_url(world.council, "join")).status_code == 404
    assert not SpaceMembership.objects.filter(space=world.council, user=world.externe).exists()


def test_someone_from_another_commune_sees_nothing_of_this_one(world, client_for):
    client = client_for("inconnu")
    assert client.get(url("directory", "saint-aubin")).status_code == 404
    assert client.get(space_url(world.council)).status_code == 404
    assert client.post(space_url(world.council, "join")).status_code == 404


def test_the_organisation_admin_manages_every_space_even_one_she_is_not_in(world, client_for):
    client = client_for("secretaire")
    assert not SpaceMembership.objects.filter(space=world.commission, user=world.secretaire).exists()
    assert "finances" in listed(client.get(url("directory", "saint-aubin")))
    for name in ("detail", "settings", "members", "codes", "requests", "groups"):
        assert client.get(space_url(world.commission, name)).status_code == 200, name
    response = client.post(
        space_url(world.commission, "settings"), settings_form(world.commission, description="Budget 2027")
    )
    assert response.status_code == 302
    world.commission.refresh_from_db()
    assert world.commission.description == "Budget 2027"


def test_a_contributor_cannot_open_or_change_the_settings(world, client_for):
    client = client_for("elu")
    assert client.get(space_url(world.commission, "settings")).status_code == 403
    response = client.post(
        space_url(world.commission, "settings"), settings_form(world.commission, name="Pris par l'élu")
    )
    assert response.status_code == 403
    assert client.post(space_url(world.commission, "archive"), {"archive": "1"}).status_code == 403
    world.commission.refresh_from_db()
    assert world.commission.name == "Commission Finances"
    assert not world.commission.is_archived


# --- The facilitator's settings -----------------------------------------------------------------


def test_the_facilitator_sets_visibility_second_factor_and_blocked_downloads(world, client_for):
    response = client_for("maire").post(
        space_url(world.commission, "settings"),
        settings_form(
            world.commission, visibility=Visibility.ON_REQUEST, require_2fa="on", block_downloads="on"
        ),
    )
    assert response.status_code == 302
    world.commission.refresh_from_db()
    assert world.commission.visibility == Visibility.ON_REQUEST
    assert world.commission.require_2fa
    assert world.commission.block_downloads
    event = AuditEvent.objects.get(action="space.update", object_id=str(world.commission.pk))
    assert sorted(event.data["fields"]) == ["block_downloads", "require_2fa", "visibility"]
    # Now listed for members who are not in it, with a request form.
    assert "finances" in listed(client_for("agent_rh").get(url("directory", "saint-aubin")))


def test_a_member_without_a_verified_second_factor_is_told_why_she_cannot_enter(world, client_for):
    client = client_for("agent_rh")
    response = client.get(space_url(world.rh))
    assert response.status_code == 403
    assert french(SECOND_FACTOR) in response.content.decode()
    assert client.get(space_url(world.rh, "members")).status_code == 403
    # The space itself is not hidden from her: it is in her list, with the reason to set up 2FA.
    assert "rh" in listed(client.get(url("my_spaces", "saint-aubin")))


def test_a_member_signed_in_with_her_second_factor_enters_a_space_that_requires_it(world, secrets_registry):
    device = TOTPDevice.objects.create(user=world.agent_rh, name="Téléphone", confirmed=False)
    recovery = confirm_totp(Actor(world.agent_rh), device)
    totp = pyotp.TOTP(base64.b32encode(device.bin_key).decode())
    secrets_registry.add(device.key, *recovery)
    client = Client()
    response = client.post("/connexion/", {"email": world.agent_rh.email, "password": PASSWORD})
    assert response["Location"] == "/connexion/second-facteur/"
    code = totp.now()
    secrets_registry.add(code)
    response = client.post("/connexion/second-facteur/", {"code": code})
    assert response.status_code == 302
    secrets_registry.add(client.cookies["sessionid"].value)
    assert client.get(space_url(world.rh)).status_code == 200
    assert client.get(space_url(world.rh, "members")).status_code == 200


def test_an_archived_space_moves_to_my_archives_and_comes_back_when_reactivated(world, client_for):
    maire = client_for("maire")
    response = maire.post(space_url(world.commission, "archive"), {"archive": "1"})
    assert response.status_code == 302
    world.commission.refresh_from_db()
    assert world.commission.is_archived
    assert "finances" not in listed(maire.get(url("my_spaces", "saint-aubin")))
    archives = maire.get(url("my_spaces", "saint-aubin") + "?onglet=archives")
    assert listed(archives) == {"finances"}
    assert "finances" not in listed(client_for("elu").get(url("directory", "saint-aubin")))
    # Its members still read it.
    assert client_for("elu").get(space_url(world.commission)).status_code == 200
    assert AuditEvent.objects.filter(action="space.archive", object_id=str(world.commission.pk)).exists()

    maire.post(space_url(world.commission, "archive"), {"archive": "0"})
    world.commission.refresh_from_db()
    assert not world.commission.is_archived
    assert "finances" in listed(maire.get(url("my_spaces", "saint-aubin")))
    assert listed(maire.get(url("my_spaces", "saint-aubin") + "?onglet=archives")) == set()
    assert AuditEvent.objects.filter(action="space.unarchive").count() == 1


def test_nobody_joins_an_archived_space(world, client_for):
    client_for("maire").post(space_url(world.council, "archive"), {"archive": "1"})
    assert client_for("agent_rh").post(space_url(world.council, "join")).status_code == 403
    assert not SpaceMembership.objects.filter(space=world.council, user=world.agent_rh).exists()


def test_a_member_leaves_a_private_space_and_no_longer_sees_it(world, client_for):
    client = client_for("elu")
    response = client.post(space_url(world.commission, "leave"))
    assert response.status_code == 302
    assert not SpaceMembership.objects.filter(space=world.commission, user=world.elu).exists()
    assert client.get(space_url(world.commission)).status_code == 404
    assert "finances" not in listed(client.get(url("my_spaces", "saint-aubin")))
    assert AuditEvent.objects.filter(action="space.member_remove").count() == 1


def test_the_org_admin_who_is_in_no_space_has_nothing_to_leave(world, client_for):
    assert client_for("secretaire").post(space_url(world.commission, "leave")).status_code == 403


def test_a_guest_contributor_cannot_open_the_settings_of_her_space(world, client_for):
    membership = OrgMembership.objects.get(organisation=world.org, user=world.externe)
    assert membership.role == OrgMembership.Role.GUEST
    assert client_for("externe").get(space_url(world.ecole, "settings")).status_code == 403
