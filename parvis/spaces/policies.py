"""Rights on spaces and what hangs off them (members, codes, requests, templates, tabs).

A person's role in a space is the strongest of: her own membership, the grants of her groups,
and "manager" if she administers the organisation. Nothing is granted without an active
membership of an active organisation. Guests see only the spaces they are in.
"""

from typing import ClassVar

from django.db.models import Q, QuerySet, Value

from parvis.core.models import OrgMembership, User
from parvis.core.policies import (
    AnyUser,
    OwnedPolicy,
    Policy,
    is_person,
    membership,
    memo,
    org_ids,
)
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
    strongest,
)

ADMIN = OrgMembership.Role.ADMIN
MEMBER = OrgMembership.Role.MEMBER
LISTED = (Visibility.ORGANISATION, Visibility.ON_REQUEST)


def role_in(user: AnyUser, space: Space) -> str | None:
    """The user's effective role in the space, or None (remembered for the request, see
    `core.policies.remembered`)."""
    if not is_person(user):
        return None
    return memo(("role", user.pk, space.pk), lambda: _role_in(user, space))


def _role_in(user: AnyUser, space: Space) -> str | None:
    m = membership(user, space.organisation)
    if m is None:
        return None
    if m.is_admin:
        return Role.MANAGER
    own, granted = _roles(user, space)
    return strongest(own, *granted)


def _roles(user: AnyUser, space: Space) -> tuple[str | None, list[str]]:
    """Her own membership's role in the space (None if she has none) and her groups' grants,
    in one query (remembered for the request)."""

    def read() -> tuple[str | None, list[str]]:
        own = SpaceMembership.objects.filter(space=space, user=user).values_list("role", Value(True))
        grants = SpaceGroupGrant.objects.filter(space=space, group__members=user).values_list(
            "role", Value(False)
        )
        rows = list(own.union(grants, all=True))
        return next((role for role, mine in rows if mine), None), [role for role, mine in rows if not mine]

    return memo(("roles", user.pk, space.pk), read)


def can_read(user: AnyUser, space: Space) -> bool:
    """May see the space's content: a role, or a member of an organisation-wide space."""
    if role_in(user, space) is not None:
        return True
    m = membership(user, space.organisation)
    return m is not None and not m.is_guest and space.visibility == Visibility.ORGANISATION


def _spaces_of(user: AnyUser, open_visibilities: tuple[str, ...]) -> Q:
    """Spaces of the user's organisations where she has a role, or that are open to members
    (not guests) with one of `open_visibilities`."""
    if not is_person(user):
        return Q(pk__in=[])
    mine = Space.objects.filter(Q(memberships__user=user) | Q(group_grants__group__members=user))
    return Q(organisation_id__in=org_ids(user)) & (
        Q(organisation_id__in=org_ids(user, ADMIN))
        | Q(id__in=mine.values("id"))
        | Q(organisation_id__in=org_ids(user, ADMIN, MEMBER), visibility__in=open_visibilities)
    )


def readable_spaces(user: AnyUser) -> QuerySet[Space]:
    """The spaces whose content the user may see: the set form of `can_read`."""
    return Space.objects.filter(_spaces_of(user, (Visibility.ORGANISATION,)))


class SpacePolicy(Policy[Space]):
    model = Space
    actions = ("view", "read", "join", "request", "contribute", "manage", "leave")

    def can(self, user: AnyUser, action: str, obj: Space) -> bool:
        m = membership(user, obj.organisation)
        if m is None:
            return False
        role = role_in(user, obj)
        if action == "view":
            return role is not None or (not m.is_guest and obj.visibility in LISTED)
        if action == "read":
            return can_read(user, obj)
        if action == "join":
            return (
                not m.is_guest
                and role is None
                and obj.visibility == Visibility.ORGANISATION
                and not obj.is_archived
            )
        if action == "request":
            return (
                not m.is_guest
                and role is None
                and obj.visibility == Visibility.ON_REQUEST
                and not obj.is_archived
            )
        if action == "contribute":
            return role in (Role.MANAGER, Role.CONTRIBUTOR) and not obj.is_archived
        if action == "manage":
            return role == Role.MANAGER
        if action == "leave":
            return _roles(user, obj)[0] is not None
        return False

    def visible(self, user: AnyUser, qs: QuerySet[Space] | None = None) -> QuerySet[Space]:
        return self.all(qs).filter(_spaces_of(user, LISTED))

    def audience(self, action: str, obj: Space) -> QuerySet[User]:
        """Managers of the space, for requests to join."""
        return User.objects.filter(
            Q(space_memberships__space=obj, space_memberships__role=Role.MANAGER)
            | Q(parvis_groups__space_grants__space=obj, parvis_groups__space_grants__role=Role.MANAGER),
            is_active=True,
            org_memberships__organisation=obj.organisation,
            org_memberships__is_active=True,
        ).distinct()


spaces = SpacePolicy()


class SpaceMemberPolicy(Policy[SpaceMembership]):
    """The member list of a space is seen by whoever may read the space."""

    model = SpaceMembership
    actions = ("view", "manage")

    def can(self, user: AnyUser, action: str, obj: SpaceMembership) -> bool:
        if action == "view":
            return can_read(user, obj.space)
        if action == "manage":
            return spaces.can(user, "manage", obj.space)
        return False

    def visible(
        self, user: AnyUser, qs: QuerySet[SpaceMembership] | None = None
    ) -> QuerySet[SpaceMembership]:
        return self.all(qs).filter(space__in=readable_spaces(user))


class ManagedBySpacePolicy(Policy):  # type: ignore[type-arg]
    """Objects of a space that only its managers see: access codes, group grants."""

    actions = ("view", "manage")

    def can(self, user: AnyUser, action: str, obj) -> bool:  # type: ignore[no-untyped-def]
        return action in self.actions and spaces.can(user, "manage", obj.space)

    def visible(self, user: AnyUser, qs=None):  # type: ignore[no-untyped-def]
        return self.all(qs).filter(space__in=managed_spaces(user))


def managed_spaces(user: AnyUser) -> QuerySet[Space]:
    if not is_person(user):
        return Space.objects.none()
    return Space.objects.filter(organisation_id__in=org_ids(user)).filter(
        Q(organisation_id__in=org_ids(user, ADMIN))
        | Q(memberships__user=user, memberships__role=Role.MANAGER)
        | Q(group_grants__group__members=user, group_grants__role=Role.MANAGER)
    )


class AccessCodePolicy(ManagedBySpacePolicy):
    model = AccessCode


class GroupGrantPolicy(ManagedBySpacePolicy):
    model = SpaceGroupGrant


class JoinRequestPolicy(Policy[JoinRequest]):
    """A request is seen by the space's managers, who decide, and by the person who asked."""

    model = JoinRequest
    actions = ("view", "decide")

    def can(self, user: AnyUser, action: str, obj: JoinRequest) -> bool:
        manages = spaces.can(user, "manage", obj.space)
        if action == "view":
            return manages or (
                is_person(user)
                and obj.user_id == user.pk
                and membership(user, obj.space.organisation) is not None
            )
        if action == "decide":
            return manages and obj.status == JoinRequest.Status.PENDING
        return False

    def visible(self, user: AnyUser, qs: QuerySet[JoinRequest] | None = None) -> QuerySet[JoinRequest]:
        if not is_person(user):
            return self.all(qs).none()
        return self.all(qs).filter(
            Q(space__in=managed_spaces(user)) | Q(user=user, space__organisation_id__in=org_ids(user))
        )


class InvitationPolicy(Policy[Invitation]):
    """Organisation invitations are the administrators'; space invitations also the managers'."""

    model = Invitation
    actions = ("view", "revoke")

    def can(self, user: AnyUser, action: str, obj: Invitation) -> bool:
        if action not in self.actions:
            return False
        m = membership(user, obj.organisation)
        if m is None:
            return False
        return m.is_admin or (obj.space is not None and spaces.can(user, "manage", obj.space))

    def visible(self, user: AnyUser, qs: QuerySet[Invitation] | None = None) -> QuerySet[Invitation]:
        return self.all(qs).filter(
            Q(organisation_id__in=org_ids(user, ADMIN)) | Q(space__in=managed_spaces(user))
        )


class TemplatePolicy(Policy[SpaceTemplate]):
    """Templates belong to the administrators of their organisation; one who administers two
    organisations may create spaces in either from a template of the other."""

    model = SpaceTemplate
    actions = ("view", "manage", "use")

    def can(self, user: AnyUser, action: str, obj: SpaceTemplate) -> bool:
        m = membership(user, obj.organisation)
        return m is not None and m.is_admin and action in self.actions

    def visible(self, user: AnyUser, qs: QuerySet[SpaceTemplate] | None = None) -> QuerySet[SpaceTemplate]:
        return self.all(qs).filter(organisation_id__in=org_ids(user, ADMIN))


class TabPolicy(OwnedPolicy[SpaceTab]):
    model = SpaceTab
    owner_field: ClassVar[str] = "user"


space_members = SpaceMemberPolicy()
access_codes = AccessCodePolicy()
group_grants = GroupGrantPolicy()
join_requests = JoinRequestPolicy()
invitations = InvitationPolicy()
templates = TemplatePolicy()
tabs = TabPolicy()
