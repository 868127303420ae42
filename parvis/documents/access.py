"""“Qui a accès ?”: every person who can reach a folder, her level, and why.

It follows exactly the rules of `policies.folder_level` (a test checks that both agree on random
trees), but explains each step: the space role (own, through a group, as the organisation's
administrator, or as a member of an organisation-wide space), then each restricted folder on the
path and the line of its list that lets her in, or the fact that none does.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from parvis.core.models import Group, OrgMembership, User
from parvis.spaces.models import ROLE_RANK, Role, SpaceGroupGrant, SpaceMembership, Visibility

from .models import Folder, Level, weakest
from .policies import MANAGE, tool_on

ROLE_LEVEL = {Role.MANAGER: MANAGE, Role.CONTRIBUTOR: Level.WRITE, Role.READER: Level.READ}


@dataclass
class Access:
    user: User
    level: str | None  # manage, write, read, or None (no access)
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return {
            MANAGE: _("Read and write (facilitator)"),
            Level.WRITE: _("Read and write"),
            Level.READ: _("Read"),
            None: _("No access"),
        }[self.level]


def _role_name(role: str) -> str:
    return str(Role(role).label)


def who_has_access(folder: Folder) -> list[Access]:
    """Everyone the space reaches, with her level on `folder` and the reasons; those whom a
    restriction keeps out are listed too (last), so a facilitator sees who is excluded."""
    space = folder.space
    org = space.organisation
    if not tool_on(space) or not org.is_active:
        return []
    memberships = OrgMembership.objects.filter(
        organisation=org, is_active=True, user__is_active=True
    ).select_related("user")
    by_user = {m.user_id: m for m in memberships}
    roles: dict[int, list[tuple[str, str]]] = defaultdict(list)  # user → [(role, reason)]
    for m in by_user.values():
        if m.is_admin:
            roles[m.user_id].append((Role.MANAGER, _("Administrator of the organisation")))
    for sm in SpaceMembership.objects.filter(space=space, user_id__in=by_user):
        roles[sm.user_id].append((sm.role, _("%(role)s of the space") % {"role": _role_name(sm.role)}))
    grants = SpaceGroupGrant.objects.filter(space=space).select_related("group")
    for grant in grants:
        for user_id in grant.group.members.filter(pk__in=by_user).values_list("pk", flat=True):
            roles[user_id].append(
                (
                    grant.role,
                    _("%(role)s through the group “%(group)s”")
                    % {"role": _role_name(grant.role), "group": grant.group.name},
                )
            )
    if space.visibility == Visibility.ORGANISATION:
        for user_id, m in by_user.items():
            if not m.is_guest and user_id not in roles:
                roles[user_id].append(
                    (Role.READER, _("Member of the organisation (the space is open to all)"))
                )

    restricted = list(
        Folder.objects.filter(pk__in=folder.ancestor_ids(), restricted=True)
        .prefetch_related("accesses")
        .order_by("path")
    )
    groups_of: dict[int, set[int]] = defaultdict(set)
    for user_id, group_id in Group.members.through.objects.filter(
        group__organisation=org, user_id__in=list(roles)
    ).values_list("user_id", "group_id"):
        groups_of[user_id].add(group_id)
    group_names = dict(Group.objects.filter(organisation=org).values_list("pk", "name"))

    result = []
    for user_id, found in roles.items():
        role = max((r for r, _reason in found), key=lambda r: ROLE_RANK[Role(r)])
        access = Access(by_user[user_id].user, ROLE_LEVEL[Role(role)], [reason for _r, reason in found])
        if space.is_archived:
            access.level = Level.READ
            access.reasons.append(_("The space is archived: read only."))
        elif access.level == MANAGE:
            access.reasons.append(_("Facilitators keep access to every folder."))
        if access.level != MANAGE:
            _apply_restrictions(access, restricted, groups_of[user_id], group_names)
        result.append(access)
    result.sort(key=lambda a: (a.level is None, (a.user.full_name or a.user.email).lower()))
    return result


def _apply_restrictions(
    access: Access, restricted: list[Folder], groups: set[int], group_names: dict[int, str]
) -> None:
    for ancestor in restricted:
        lines = [
            (
                a.level,
                _("listed herself")
                if a.user_id
                else _("through the group “%(group)s”")
                % {
                    "group": group_names.get(a.group_id, "")  # type: ignore[arg-type]
                },
            )
            for a in ancestor.accesses.all()
            if a.user_id == access.user.pk or (a.group_id is not None and a.group_id in groups)
        ]
        if not lines:
            access.level = None
            access.reasons.append(
                _("“%(folder)s” is restricted and does not list her.") % {"folder": ancestor.name}
            )
            return
        best_level, how = max(lines, key=lambda line: 1 if line[0] == Level.WRITE else 0)
        access.level = weakest(access.level, best_level)
        access.reasons.append(
            _("“%(folder)s” is restricted: %(level)s, %(how)s.")
            % {"folder": ancestor.name, "level": str(Level(best_level).label).lower(), "how": how}
        )
