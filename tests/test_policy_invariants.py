"""For every policy: `visible(user)` returns exactly the objects `can(user, "view", obj)` allows.

Hypothesis builds random communes (some suspended), people (some deactivated), memberships of
every role (some deactivated), groups, spaces of every visibility (some archived), space
memberships, group grants, and the objects hanging off them; then, for every person and the
anonymous visitor, the list built by `visible()` must equal the objects `can()` lets her view.
A list that shows one object too many is a leak; one too few hides work from its owner.
"""

import os
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from parvis.core import policies as core_policies
from parvis.core.models import (
    AppPassword,
    AuditEvent,
    Group,
    Notification,
    Organisation,
    OrgMembership,
    User,
    UserSession,
)
from parvis.spaces import policies as space_policies
from parvis.spaces.models import (
    AccessCode,
    Invitation,
    JoinRequest,
    Role,
    Space,
    SpaceGroupGrant,
    SpaceMembership,
    SpaceTab,
    SpaceTemplate,
    Visibility,
)

# 50 random worlds per run keeps `make test` fast; PARVIS_PROPERTY_EXAMPLES=1000 for a long run.
EXAMPLES = int(os.environ.get("PARVIS_PROPERTY_EXAMPLES", "50"))
MAX_ORGS, MAX_USERS = 3, 5
ORG_ROLES = [None, "admin", "member", "guest"]
SPACE_ROLES = [None, Role.MANAGER, Role.CONTRIBUTOR, Role.READER]

world_specs = st.fixed_dictionaries(
    {
        "orgs": st.lists(st.booleans(), min_size=1, max_size=MAX_ORGS),  # active?
        "users": st.lists(st.booleans(), min_size=1, max_size=MAX_USERS),  # active?
        "memberships": st.lists(
            st.tuples(st.sampled_from(ORG_ROLES), st.booleans()),
            min_size=MAX_ORGS * MAX_USERS,
            max_size=MAX_ORGS * MAX_USERS,
        ),
        "groups": st.lists(
            st.tuples(
                st.integers(0, MAX_ORGS - 1), st.sets(st.integers(0, MAX_USERS - 1), max_size=MAX_USERS)
            ),
            max_size=3,
        ),
        "spaces": st.lists(
            st.tuples(st.integers(0, MAX_ORGS - 1), st.sampled_from(list(Visibility)), st.booleans()),
            max_size=5,
        ),
        "space_roles": st.lists(st.sampled_from(SPACE_ROLES), min_size=5 * MAX_USERS, max_size=5 * MAX_USERS),
        "grants": st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 4), st.sampled_from([Role.MANAGER, Role.READER])),
            max_size=4,
        ),
        "extras": st.lists(
            st.tuples(
                st.integers(0, MAX_USERS - 1), st.integers(0, MAX_ORGS - 1), st.integers(0, 4), st.booleans()
            ),
            max_size=6,
        ),
    }
)


def build(spec: dict[str, Any]) -> list[User]:
    """Create the random world in the database; returns the people."""
    orgs = [
        Organisation.objects.create(name=f"C{i}", slug=f"c{i}", is_active=active)
        for i, active in enumerate(spec["orgs"])
    ]
    users = [
        User.objects.create_user(f"p{i}@x.localhost", None, full_name=f"P{i}", is_active=active)
        for i, active in enumerate(spec["users"])
    ]
    for index, (role, active) in enumerate(spec["memberships"]):
        org_index, user_index = divmod(index, MAX_USERS)
        if role and org_index < len(orgs) and user_index < len(users):
            OrgMembership.objects.create(
                organisation=orgs[org_index], user=users[user_index], role=role, is_active=active
            )
    groups = []
    for n, (org_index, member_indexes) in enumerate(spec["groups"]):
        if org_index < len(orgs):
            group = Group.objects.create(organisation=orgs[org_index], name=f"G{n}")
            group.members.set([users[i] for i in member_indexes if i < len(users)])
            groups.append(group)
    spaces = []
    for n, (org_index, visibility, archived) in enumerate(spec["spaces"]):
        if org_index < len(orgs):
            spaces.append(
                Space.objects.create(
                    organisation=orgs[org_index],
                    name=f"S{n}",
                    slug=f"s{n}",
                    visibility=visibility,
                    archived_at=timezone.now() if archived else None,
                )
            )
    for index, role in enumerate(spec["space_roles"]):
        space_index, user_index = divmod(index, MAX_USERS)
        if role and space_index < len(spaces) and user_index < len(users):
            SpaceMembership.objects.create(space=spaces[space_index], user=users[user_index], role=role)
    for group_index, space_index, role in spec["grants"]:
        if group_index < len(groups) and space_index < len(spaces):
            SpaceGroupGrant.objects.get_or_create(
                space=spaces[space_index], group=groups[group_index], defaults={"role": role}
            )
    later = timezone.now() + timezone.timedelta(days=1)
    for n, (user_index, org_index, space_index, flag) in enumerate(spec["extras"]):
        if user_index >= len(users) or org_index >= len(orgs):
            continue
        user = users[user_index]
        space = spaces[space_index] if space_index < len(spaces) else None
        org = space.organisation if space is not None else orgs[org_index]  # as in real data
        Notification.objects.create(
            recipient=user, organisation=org, kind="k", title="t", frequency="never", email_state="skipped"
        )
        AuditEvent.objects.create(organisation=org if flag else None, action="x")
        UserSession.objects.create(session_key=f"k{n}", user=user)
        AppPassword.objects.create(user=user, name="n", secret_digest=f"{n:064d}")
        SpaceTemplate.objects.create(organisation=org, name=f"T{n}")
        SpaceTab.objects.create(user=user, organisation=org, name=f"O{n}")
        Invitation.objects.create(
            organisation=org,
            email="i@x.localhost",
            org_role="member",
            qualite="agent",
            space=space if flag else None,
            token_digest=f"{n:064d}",
            expires_at=later,
        )
        if space is not None:
            AccessCode.objects.create(
                space=space,
                code_digest=f"{n:064d}",
                hint="ABCD",
                role=Role.READER,
                expires_at=later,
                max_uses=1,
            )
            JoinRequest.objects.get_or_create(space=space, user=user, status="pending")
    return users


POLICIES = [
    core_policies.organisations,
    core_policies.members,
    core_policies.groups,
    core_policies.audit_events,
    core_policies.notifications,
    core_policies.sessions,
    core_policies.app_passwords,
    space_policies.spaces,
    space_policies.space_members,
    space_policies.access_codes,
    space_policies.group_grants,
    space_policies.join_requests,
    space_policies.invitations,
    space_policies.templates,
    space_policies.tabs,
]


def mismatches(users: list[User]) -> list[str]:
    found = []
    for person in [AnonymousUser(), *User.objects.filter(pk__in=[u.pk for u in users])]:
        for policy in POLICIES:
            everything = list(policy.model._default_manager.all())
            allowed = {obj.pk for obj in everything if policy.can(person, "view", obj)}
            listed = list(policy.visible(person).values_list("pk", flat=True))
            if len(listed) != len(set(listed)):
                found.append(f"{type(policy).__name__}: duplicates for {person}")
            if set(listed) != allowed:
                found.append(
                    f"{type(policy).__name__} for {person}: visible {sorted(set(listed))} "
                    f"but can(view) {sorted(allowed)}"
                )
    return found


class VisibleMatchesCanView(TestCase):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world_specs)
    def test_visible_returns_exactly_what_can_view_allows(self, spec: dict[str, Any]) -> None:
        users = build(spec)
        assert mismatches(users) == []
