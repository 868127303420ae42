"""Inviting by e-mail: a member of the organisation is added at once; anyone else gets a link,
creates an account and lands in the space as a guest. The link is the only copy of its token."""

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from conftest import french
from parvis.core.models import AuditEvent, Notification, OrgMembership, OutgoingEmail, User, digest
from parvis.spaces.models import Invitation, Role, SpaceMembership
from parvis.spaces.tests.conftest import listed, space_url, url

NEWCOMER = "camille.roux@partenaire.localhost"
NEWCOMER_PASSWORD = "Le budget primitif se vote en avril"
LINK = re.compile(r"(https?://\S+?/invitation/([\w-]+)/)")
NO_LONGER_VALID = (
    "This invitation has expired, has been withdrawn or has already been used. "
    "Ask the person who invited you to send a new one."
)


@pytest.fixture
def invited(world, client_for, secrets_registry, django_capture_on_commit_callbacks):
    """The mayor invites an outside person into the finance commission; returns the path of the
    link in the e-mail she receives."""
    secrets_registry.add(NEWCOMER_PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("maire").post(
            space_url(world.commission, "members"), {"email": NEWCOMER, "role": Role.CONTRIBUTOR}
        )
    assert response.status_code == 302
    [message] = mail.outbox
    link, token = LINK.search(message.body).groups()
    secrets_registry.add(link, token)
    path = url("invitation", token)
    assert link.endswith(path)
    return path, token


def sign_up(client: Client, path: str, password: str = NEWCOMER_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        path, {"full_name": "Camille Roux", "new_password1": password, "new_password2": password}
    )


def test_inviting_a_member_of_the_organisation_adds_her_at_once_without_an_email(world, client_for):
    response = client_for("maire").post(
        space_url(world.commission, "members"), {"email": "RH@Saint-Aubin.localhost", "role": Role.READER}
    )
    assert response.status_code == 302
    assert SpaceMembership.objects.get(space=world.commission, user=world.agent_rh).role == Role.READER
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=world.agent_rh, kind="space.member_added").exists()
    assert client_for("agent_rh").get(space_url(world.commission)).status_code == 200


def test_an_outside_address_gets_an_email_whose_link_holds_the_only_copy_of_the_token(world, invited):
    path, token = invited
    assert path == url("invitation", token)
    [message] = mail.outbox
    assert message.to == [NEWCOMER]
    assert "Commune de Saint-Aubin" in message.subject
    invitation = Invitation.objects.get(email=NEWCOMER)
    assert invitation.token_digest == digest(token)
    assert invitation.space == world.commission
    assert invitation.space_role == Role.CONTRIBUTOR
    assert invitation.org_role == OrgMembership.Role.GUEST
    stored = [str(v) for v in Invitation.objects.values().get().values()]
    stored += [str(v) for row in OutgoingEmail.objects.values() for v in row.values()]
    assert not any(token in value for value in stored)
    assert not User.objects.filter(email=NEWCOMER).exists()


def test_the_invited_person_creates_her_account_and_lands_in_the_space_as_a_guest(world, invited):
    path, _ = invited
    client = Client()
    form = client.get(path)
    assert form.status_code == 200
    assert french("Create your account") in form.content.decode()
    response = sign_up(client, path)
    assert response.status_code == 302
    assert response["Location"] == space_url(world.commission)
    assert client.get(space_url(world.commission)).status_code == 200

    newcomer = User.objects.get(email=NEWCOMER)
    assert newcomer.check_password(NEWCOMER_PASSWORD)
    membership = OrgMembership.objects.get(organisation=world.org, user=newcomer)
    assert membership.role == OrgMembership.Role.GUEST
    assert SpaceMembership.objects.get(space=world.commission, user=newcomer).role == Role.CONTRIBUTOR
    assert Invitation.objects.get(email=NEWCOMER).accepted_at is not None
    assert AuditEvent.objects.filter(action="invitation.accept").count() == 1

    # She sees nothing else of the organisation.
    assert listed(client.get(url("directory", "saint-aubin"))) == {"finances"}
    assert listed(client.get(url("my_spaces", "saint-aubin"))) == {"finances"}
    assert client.get("/o/saint-aubin/annuaire/").status_code == 403
    for space in (world.council, world.ecole, world.rh):
        assert client.get(space_url(space)).status_code == 404


def test_a_person_who_already_has_an_account_signs_in_then_accepts(
    world, client_for, secrets_registry, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for("maire").post(
            space_url(world.commission, "members"), {"email": world.inconnu.email, "role": Role.READER}
        )
    link, token = LINK.search(mail.outbox[0].body).groups()
    secrets_registry.add(link, token)
    path = url("invitation", token)
    anonymous = Client().get(path)
    assert anonymous.status_code == 200
    assert french("Sign in") in anonymous.content.decode()
    assert not User.objects.filter(full_name="Camille Roux").exists()

    client = client_for("inconnu")
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response["Location"] == space_url(world.commission)
    assert OrgMembership.objects.get(organisation=world.org, user=world.inconnu).role == "guest"
    # Still the administrator of her own commune.
    assert OrgMembership.objects.get(organisation=world.other, user=world.inconnu).role == "admin"
    assert client.get(space_url(world.commission)).status_code == 200


@pytest.mark.parametrize("spoil", ["expired", "revoked", "used"])
def test_an_expired_withdrawn_or_used_invitation_gives_the_french_no_longer_valid_page(
    world, invited, client_for, spoil
):
    path, _ = invited
    invitation = Invitation.objects.get(email=NEWCOMER)
    if spoil == "expired":
        invitation.expires_at = timezone.now() - datetime.timedelta(minutes=1)
        invitation.save()
    elif spoil == "revoked":
        response = client_for("maire").post(
            url("invitation_revoke", "saint-aubin", invitation.pk), {"from": "space"}
        )
        assert response["Location"] == space_url(world.commission, "members")
        assert AuditEvent.objects.filter(action="invitation.revoke").count() == 1
    else:
        assert sign_up(Client(), path).status_code == 302
    users = User.objects.count()
    for client in (Client(), client_for("elu")):
        response = client.get(path)
        assert response.status_code == 404
        assert french(NO_LONGER_VALID) in response.content.decode()
        assert sign_up(client, path, "Un autre mot de passe bien long").status_code == 404
    assert User.objects.count() == users


def test_a_made_up_invitation_link_gives_the_same_page(world):
    response = Client().get(url("invitation", "pas-un-vrai-jeton-d-invitation"))
    assert response.status_code == 404
    assert french(NO_LONGER_VALID) in response.content.decode()


def test_a_contributor_cannot_invite_or_withdraw_invitations(world, invited, client_for):
    elu = client_for("elu")
    response = elu.post(
        space_url(world.commission, "members"), {"email": "x@exemple.localhost", "role": "manager"}
    )
    assert response.status_code == 403
    invitation = Invitation.objects.get(email=NEWCOMER)
    assert elu.post(url("invitation_revoke", "saint-aubin", invitation.pk)).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert Invitation.objects.count() == 1


def test_the_org_admin_invites_a_new_member_into_the_organisation(
    world, client_for, secrets_registry, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("secretaire").post(
            url("invitations", "saint-aubin"),
            {"email": "agent.technique@saint-aubin.localhost", "role": "member", "qualite": "agent"},
        )
    assert response.status_code == 302
    link, token = LINK.search(mail.outbox[0].body).groups()
    secrets_registry.add(link, token, "Les services techniques du lundi")
    client = Client()
    response = sign_up(client, url("invitation", token), "Les services techniques du lundi")
    assert response["Location"] == url("my_spaces", "saint-aubin")
    user = User.objects.get(email="agent.technique@saint-aubin.localhost")
    assert OrgMembership.objects.get(organisation=world.org, user=user).role == OrgMembership.Role.MEMBER
    # A member, not a guest: she sees the council open to the organisation and the directory.
    assert client.get(space_url(world.council)).status_code == 200
    assert client.get("/o/saint-aubin/annuaire/").status_code == 200


def test_only_the_org_admin_sends_organisation_invitations(world, client_for):
    response = client_for("maire").post(
        url("invitations", "saint-aubin"),
        {"email": "x@exemple.localhost", "role": "admin", "qualite": "agent"},
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_a_member_the_administrator_deactivated_does_not_come_back_through_a_facilitators_invitation(
    world, client_for, secrets_registry, django_capture_on_commit_callbacks
):
    """As with an access code: only an administrator gives back access to the organisation."""
    membership = OrgMembership.objects.get(organisation=world.org, user=world.elu)
    client_for("secretaire").post(
        f"/o/saint-aubin/admin/membres/{membership.pk}/activation/", {"active": "0"}
    )
    membership.refresh_from_db()
    assert not membership.is_active
    with django_capture_on_commit_callbacks(execute=True):
        client_for("maire").post(
            space_url(world.ecole, "members"), {"email": world.elu.email, "role": "reader"}
        )
    link, token = LINK.search(mail.outbox[-1].body).groups()
    secrets_registry.add(link, token)
    response = client_for("elu").post(url("invitation", token))
    assert response.status_code == 404
    assert french(NO_LONGER_VALID) in response.content.decode()
    membership.refresh_from_db()
    assert not membership.is_active
    assert membership.role == OrgMembership.Role.MEMBER
    assert not SpaceMembership.objects.filter(space=world.ecole, user=world.elu).exists()
