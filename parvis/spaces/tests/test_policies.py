"""Rights remembered for one request (`core.policies.remembered`) are forgotten as soon as
what they rest on changes, and nothing is remembered outside a request."""

from parvis.core.policies import membership, remembered
from parvis.spaces.models import Role, SpaceMembership
from parvis.spaces.policies import role_in


def test_a_role_remembered_for_a_request_is_forgotten_when_the_membership_goes(world):
    with remembered():
        assert role_in(world.elu, world.commission) is not None
        SpaceMembership.objects.filter(space=world.commission, user=world.elu).delete()
        assert role_in(world.elu, world.commission) is None


def test_what_no_signal_announces_stays_remembered_until_the_request_ends(world):
    """Why only GET and HEAD remember: a bulk UPDATE sends no signal."""
    with remembered():
        assert role_in(world.elu, world.commission) == Role.CONTRIBUTOR
        SpaceMembership.objects.filter(space=world.commission, user=world.elu).update(role=Role.READER)
        assert role_in(world.elu, world.commission) == Role.CONTRIBUTOR
    assert role_in(world.elu, world.commission) == Role.READER


def test_a_membership_changed_during_the_request_is_read_again(world):
    with remembered():
        m = membership(world.agent_rh, world.org)
        assert m is not None
        m.is_active = False
        m.save()
        assert membership(world.agent_rh, world.org) is None


def test_outside_a_request_every_check_reads_the_database(world):
    assert role_in(world.elu, world.commission) is not None
    SpaceMembership.objects.filter(space=world.commission, user=world.elu).delete()
    assert role_in(world.elu, world.commission) is None
    SpaceMembership.objects.create(space=world.commission, user=world.elu, role=Role.CONTRIBUTOR)
    assert role_in(world.elu, world.commission) == Role.CONTRIBUTOR
