"""The facilitator manages who is in her space: roles, removals, whole groups."""

from conftest import french
from parvis.core.models import AuditEvent
from parvis.spaces.models import Role, SpaceGroupGrant, SpaceMembership
from parvis.spaces.tests.conftest import space_url


def membership_of(space, user) -> SpaceMembership:  # type: ignore[no-untyped-def]
    return SpaceMembership.objects.get(space=space, user=user)


def test_every_member_of_a_space_sees_who_is_in_it_and_guests_are_marked(world, client_for):
    page = client_for("maire").get(space_url(world.ecole, "members")).content.decode()
    assert "Julie Moreau" in page
    assert "Claire Martin" in page
    assert french("guest") in page
    contributor_view = client_for("externe").get(space_url(world.ecole, "members"))
    assert contributor_view.status_code == 200
    assert 'name="role"' not in contributor_view.content.decode()


def test_the_facilitator_changes_a_members_role(world, client_for):
    elu = membership_of(world.commission, world.elu)
    response = client_for("maire").post(space_url(world.commission, "member", elu.pk), {"role": Role.READER})
    assert response.status_code == 302
    elu.refresh_from_db()
    assert elu.role == Role.READER
    event = AuditEvent.objects.get(action="space.member_role")
    assert event.data == {"role": Role.READER}
    # A reader no longer contributes: she cannot, for instance, create access codes.
    assert client_for("elu").get(space_url(world.commission, "codes")).status_code == 403


def test_the_facilitator_removes_a_member_who_then_sees_nothing_of_the_space(world, client_for):
    elu = membership_of(world.commission, world.elu)
    response = client_for("maire").post(space_url(world.commission, "member", elu.pk), {"remove": "1"})
    assert response.status_code == 302
    assert not SpaceMembership.objects.filter(pk=elu.pk).exists()
    assert client_for("elu").get(space_url(world.commission)).status_code == 404
    assert AuditEvent.objects.filter(action="space.member_remove").count() == 1


def test_a_contributor_changes_no_role_and_removes_nobody(world, client_for):
    maire = membership_of(world.commission, world.maire)
    client = client_for("elu")
    assert (
        client.post(space_url(world.commission, "member", maire.pk), {"role": Role.READER}).status_code == 403
    )
    assert client.post(space_url(world.commission, "member", maire.pk), {"remove": "1"}).status_code == 403
    maire.refresh_from_db()
    assert maire.role == Role.MANAGER


def test_a_facilitator_cannot_reach_a_membership_of_another_space_through_hers(world, client_for):
    """maire manages the commission; the elu's membership of the council is not hers to change
    from the commission's page (it gives the same 404 as a missing one)."""
    council_elu = membership_of(world.council, world.elu)
    other = membership_of(world.other_space, world.inconnu)
    client = client_for("maire")
    for pk in (council_elu.pk, other.pk, 999_999):
        response = client.post(space_url(world.commission, "member", pk), {"remove": "1"})
        assert response.status_code == 404
    assert SpaceMembership.objects.filter(pk__in=[council_elu.pk, other.pk]).count() == 2


def test_a_group_grant_gives_every_member_of_the_group_the_role(world, client_for):
    client = client_for("maire")
    response = client.post(
        space_url(world.commission, "groups"), {"group": world.rh_group.pk, "role": Role.READER}
    )
    assert response.status_code == 302
    grant = SpaceGroupGrant.objects.get(space=world.commission, group=world.rh_group)
    assert grant.role == Role.READER
    rh = client_for("agent_rh")
    assert rh.get(space_url(world.commission)).status_code == 200
    assert rh.get(space_url(world.commission, "settings")).status_code == 403
    # A new member of the group gets it too.
    world.rh_group.members.add(world.dpo)
    assert client_for("dpo").get(space_url(world.commission)).status_code == 200

    client.post(space_url(world.commission, "groups"), {"group": world.rh_group.pk, "role": Role.MANAGER})
    assert rh.get(space_url(world.commission, "settings")).status_code == 200

    # "No access" takes the grant away.
    client.post(space_url(world.commission, "groups"), {"group": world.rh_group.pk, "role": ""})
    assert not SpaceGroupGrant.objects.filter(space=world.commission).exists()
    assert rh.get(space_url(world.commission)).status_code == 404
    assert AuditEvent.objects.filter(action="space.group_grant").count() == 3


def test_a_group_grant_is_stronger_than_a_weaker_own_membership(world, client_for):
    """elu is a contributor of the commission; once in the Direction group, made facilitator
    there, she manages it; without the grant she is back to her own role."""
    world.direction.members.add(world.elu)
    client_for("maire").post(
        space_url(world.commission, "groups"), {"group": world.direction.pk, "role": Role.MANAGER}
    )
    assert client_for("elu").get(space_url(world.commission, "settings")).status_code == 200
    # Her own membership is untouched: removing the grant brings her back to contributor.
    assert membership_of(world.commission, world.elu).role == Role.CONTRIBUTOR
    client_for("maire").post(space_url(world.commission, "groups"), {"group": world.direction.pk, "role": ""})
    assert client_for("elu").get(space_url(world.commission, "settings")).status_code == 403
