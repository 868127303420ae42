"""Who may do what: one policy per resource, the only place rights are decided.

Each policy answers `can(user, action, obj)`, `visible(user, queryset)` (the only way lists are
built), `abilities(user, obj)` (what a template may show) and, where people are told of a change,
`audience(action, obj)`. An invariant test checks that `visible` returns exactly the objects for
which `can(user, "view", obj)` holds.

The access helpers at the bottom are the first line of every view: "does not exist" and "not
yours" both give the same 404; a visible object the user may not change gives 403.

Within one HTTP or WebDAV request (`remembered()`, opened by `PolicyMemoMiddleware` and the DAV
app), a person's membership of an organisation and her role in a space are read once, however
many checks a page makes; any change to memberships, roles, groups, spaces or organisations
forgets them at once (signals). Outside a request (websockets, tasks, tests calling policies
directly) nothing is remembered: every check reads the database.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Generic, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404

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

M = TypeVar("M", bound=models.Model)
AnyUser = User | AnonymousUser
T = TypeVar("T")

_memo: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("parvis_policy_memo", default=None)


@contextmanager
def remembered() -> Iterator[None]:
    """Remember memberships and roles until the block ends (one request)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memo(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    store = _memo.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]  # type: ignore[no-any-return]


def forget(*args: Any, **kwargs: Any) -> None:
    """Something rights depend on changed: read everything again (a signal receiver)."""
    store = _memo.get()
    if store is not None:
        store.clear()


def is_person(user: AnyUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def memberships_of(user: AnyUser) -> QuerySet[OrgMembership]:
    """Active memberships in active organisations: everything else grants nothing."""
    if not is_person(user):
        return OrgMembership.objects.none()
    return OrgMembership.objects.filter(user=user, is_active=True, organisation__is_active=True)


def membership(user: AnyUser, organisation: Organisation) -> OrgMembership | None:
    if not is_person(user):
        return None
    return memo(
        ("membership", user.pk, organisation.pk),
        lambda: memberships_of(user).filter(organisation=organisation).first(),
    )


def org_ids(user: AnyUser, *roles: str) -> QuerySet[OrgMembership]:
    """Ids of the organisations where `user` holds one of `roles` (any role when none given)."""
    qs = memberships_of(user)
    if roles:
        qs = qs.filter(role__in=roles)
    return qs.values("organisation_id")


class Policy(Generic[M]):
    model: type[M]
    actions: ClassVar[tuple[str, ...]] = ("view",)

    def can(self, user: AnyUser, action: str, obj: M) -> bool:
        raise NotImplementedError

    def visible(self, user: AnyUser, qs: QuerySet[M] | None = None) -> QuerySet[M]:
        raise NotImplementedError

    def abilities(self, user: AnyUser, obj: M) -> dict[str, bool]:
        return {action: self.can(user, action, obj) for action in self.actions}

    def audience(self, action: str, obj: M) -> QuerySet[User]:
        return User.objects.none()

    def all(self, qs: QuerySet[M] | None) -> QuerySet[M]:
        return qs if qs is not None else self.model._default_manager.all()


class OrganisationPolicy(Policy[Organisation]):
    model = Organisation
    actions = ("view", "administer", "create_space")

    def can(self, user: AnyUser, action: str, obj: Organisation) -> bool:
        if action == "operate":
            return is_person(user) and user.is_superuser
        m = membership(user, obj)
        if m is None:
            return False
        if action == "view":
            return True
        if action == "see_directory":
            return not m.is_guest
        if action in ("administer", "create_space"):
            return m.is_admin
        return False

    def visible(self, user: AnyUser, qs: QuerySet[Organisation] | None = None) -> QuerySet[Organisation]:
        return self.all(qs).filter(id__in=org_ids(user), is_active=True)

    def audience(self, action: str, obj: Organisation) -> QuerySet[User]:
        return User.objects.filter(
            org_memberships__organisation=obj,
            org_memberships__role=OrgMembership.Role.ADMIN,
            org_memberships__is_active=True,
            is_active=True,
        )


class MemberPolicy(Policy[OrgMembership]):
    """The organisation's directory. Guests are in no directory and see none."""

    model = OrgMembership
    actions = ("view", "manage")

    def can(self, user: AnyUser, action: str, obj: OrgMembership) -> bool:
        m = membership(user, obj.organisation)
        if m is None:
            return False
        if action == "view":
            return m.is_admin or (not m.is_guest and obj.is_active and not obj.is_guest)
        if action == "manage":
            return m.is_admin and obj.user_id != user.pk
        return False

    def visible(self, user: AnyUser, qs: QuerySet[OrgMembership] | None = None) -> QuerySet[OrgMembership]:
        admin_orgs = org_ids(user, OrgMembership.Role.ADMIN)
        member_orgs = org_ids(user, OrgMembership.Role.MEMBER)
        return self.all(qs).filter(
            Q(organisation_id__in=admin_orgs)
            | (Q(organisation_id__in=member_orgs, is_active=True) & ~Q(role=OrgMembership.Role.GUEST))
        )


class GroupPolicy(Policy[Group]):
    model = Group
    actions = ("view", "manage")

    def can(self, user: AnyUser, action: str, obj: Group) -> bool:
        m = membership(user, obj.organisation)
        if m is None or m.is_guest:
            return False
        return action == "view" or (action == "manage" and m.is_admin)

    def visible(self, user: AnyUser, qs: QuerySet[Group] | None = None) -> QuerySet[Group]:
        orgs = org_ids(user, OrgMembership.Role.ADMIN, OrgMembership.Role.MEMBER)
        return self.all(qs).filter(organisation_id__in=orgs)


class AuditPolicy(Policy[AuditEvent]):
    """The journal is read by the organisation's administrators, never changed by anyone."""

    model = AuditEvent

    def can(self, user: AnyUser, action: str, obj: AuditEvent) -> bool:
        if action != "view" or obj.organisation_id is None:
            return False
        return (
            memberships_of(user)
            .filter(organisation_id=obj.organisation_id, role=OrgMembership.Role.ADMIN)
            .exists()
        )

    def visible(self, user: AnyUser, qs: QuerySet[AuditEvent] | None = None) -> QuerySet[AuditEvent]:
        return self.all(qs).filter(organisation_id__in=org_ids(user, OrgMembership.Role.ADMIN))


class OwnedPolicy(Policy[M]):
    """Things only their owner sees and changes: notifications, sessions, app passwords."""

    owner_field: ClassVar[str] = "user"
    actions = ("view", "change")

    def can(self, user: AnyUser, action: str, obj: M) -> bool:
        return is_person(user) and getattr(obj, f"{self.owner_field}_id") == user.pk

    def visible(self, user: AnyUser, qs: QuerySet[M] | None = None) -> QuerySet[M]:
        if not is_person(user):
            return self.all(qs).none()
        return self.all(qs).filter(**{self.owner_field: user})


class NotificationPolicy(OwnedPolicy[Notification]):
    model = Notification
    owner_field = "recipient"

    def visible(self, user: AnyUser, qs: QuerySet[Notification] | None = None) -> QuerySet[Notification]:
        # A notification from an organisation one has left is no longer shown.
        return super().visible(user, qs).filter(organisation_id__in=org_ids(user))

    def can(self, user: AnyUser, action: str, obj: Notification) -> bool:
        return (
            super().can(user, action, obj)
            and memberships_of(user).filter(organisation_id=obj.organisation_id).exists()
        )


class SessionPolicy(OwnedPolicy[UserSession]):
    model = UserSession


class AppPasswordPolicy(OwnedPolicy[AppPassword]):
    model = AppPassword


organisations = OrganisationPolicy()
members = MemberPolicy()
groups = GroupPolicy()
audit_events = AuditPolicy()
notifications = NotificationPolicy()
sessions = SessionPolicy()
app_passwords = AppPasswordPolicy()


# --- Access helpers -----------------------------------------------------------------------------


def get_or_404(policy: Policy[M], user: AnyUser, qs: QuerySet[M] | None = None, **lookup: Any) -> M:
    """The object if it exists *and* the user may see it; the same 404 otherwise.

    The one object is read plainly and then checked with `can(view)`, which within a request
    reuses the memberships and roles already read: building `visible()`'s subqueries cost more
    than the query itself (7 ms of a channel page's 65). Both answers are the same — the
    invariant tests hold `visible()` to exactly what `can(view)` allows. A lookup that is not
    unique goes through `visible()`, which picks among the visible ones only."""
    found = list(policy.all(qs).filter(**lookup)[:2])
    if len(found) > 1:
        obj = policy.visible(user, qs).filter(**lookup).first()
    else:
        obj = found[0] if found and policy.can(user, "view", found[0]) else None
    if obj is None:
        raise Http404
    return obj


def require(policy: Policy[M], user: AnyUser, action: str, obj: M) -> None:
    """403 for a visible object the user may not act on."""
    if not policy.can(user, action, obj):
        raise PermissionDenied


def get_organisation(user: AnyUser, slug: str, action: str = "view") -> Organisation:
    org = get_or_404(organisations, user, slug=slug)
    require(organisations, user, action, org)
    return org
