"""Every write about spaces, as a named action: atomic, audited, events after commit."""

import datetime
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from parvis.core import actions as core_actions
from parvis.core import events, registry
from parvis.core.audit import Actor, audit
from parvis.core.models import Group, Organisation, OrgMembership, User, digest
from parvis.core.notify import notify, send_account_email
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
)
from parvis.spaces.policies import spaces as space_policy

INVITATION_DAYS = 14
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # 31 letters, no 0/O, 1/I/L
CODE_LENGTH = 12  # 31^12 ≈ 2^59: unguessable under the throttle (ASVS 6.6.3)
TEMPLATE_FIELDS = ("kind", "visibility", "tools", "require_2fa", "block_downloads")


def _unique_slug(org: Organisation, name: str) -> str:
    base = slugify(name)[:70] or "espace"
    slug, n = base, 2
    while Space.objects.filter(organisation=org, slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def touch(space: Space) -> None:
    """Recent activity orders "Mes espaces"; every action that writes in a space calls this."""
    Space.objects.filter(pk=space.pk).update(last_activity_at=timezone.now())


# --- Spaces -------------------------------------------------------------------------------------


@transaction.atomic
def create_space(
    actor: Actor,
    org: Organisation,
    *,
    name: str,
    description: str = "",
    template: SpaceTemplate | None = None,
    **fields: Any,
) -> Space:
    """Create a space; its creator becomes its first facilitator."""
    if template is not None:
        fields = {f: getattr(template, f) for f in TEMPLATE_FIELDS} | fields
    fields["tools"] = registry.known(fields.get("tools", []))
    space = Space.objects.create(
        organisation=org,
        name=name,
        slug=_unique_slug(org, name),
        description=description or (template.description if template else ""),
        template=template,
        **fields,
    )
    if actor.user is not None:
        SpaceMembership.objects.create(space=space, user=actor.user, role=Role.MANAGER)
    audit(
        actor, "space.create", space, organisation=org, data={"template": template.pk if template else None}
    )
    registry.space_created(space, template)
    return space


@transaction.atomic
def create_spaces_from_template(
    actor: Actor, org: Organisation, template: SpaceTemplate, names: list[str]
) -> list[Space]:
    """Create many spaces at once (the council's commissions); all or none."""
    return [create_space(actor, org, name=name, template=template) for name in names]


@transaction.atomic
def update_space(actor: Actor, space: Space, **fields: Any) -> list[str]:
    if "tools" in fields:
        fields["tools"] = registry.known(fields["tools"])
    changed = [k for k, v in fields.items() if getattr(space, k) != v]
    for key in changed:
        setattr(space, key, fields[key])
    if changed:
        space.save()
        audit(actor, "space.update", space, organisation=space.organisation, data={"fields": changed})
        touch(space)
    return changed


@transaction.atomic
def set_archived(actor: Actor, space: Space, archived: bool) -> None:
    if space.is_archived == archived:
        return
    space.archived_at = timezone.now() if archived else None
    space.save(update_fields=["archived_at"])
    audit(actor, "space.archive" if archived else "space.unarchive", space, organisation=space.organisation)


# --- Members ------------------------------------------------------------------------------------


@transaction.atomic
def add_space_member(actor: Actor, space: Space, user: User, role: str) -> SpaceMembership:
    membership, created = SpaceMembership.objects.get_or_create(
        space=space, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    audit(
        actor,
        "space.member_add",
        membership,
        organisation=space.organisation,
        label=f"{user.email} → {space.name}",
        data={"role": role},
    )
    if actor.user is None or actor.user.pk != user.pk:
        notify(
            [user],
            organisation=space.organisation,
            space_id=space.pk,
            kind="space.member_added",
            title=_("You now have access to the space “%(space)s”") % {"space": space.name},
            url=space_url(space),
        )
    touch(space)
    events.access_changed([user.pk], space=space.pk)
    return membership


@transaction.atomic
def set_space_role(actor: Actor, membership: SpaceMembership, role: str) -> None:
    if membership.role == role:
        return
    membership.role = role
    membership.save(update_fields=["role"])
    audit(
        actor,
        "space.member_role",
        membership,
        organisation=membership.space.organisation,
        label=f"{membership.user.email} → {membership.space.name}",
        data={"role": role},
    )
    events.access_changed([membership.user_id], space=membership.space_id)


@transaction.atomic
def remove_space_member(actor: Actor, membership: SpaceMembership) -> None:
    """Her open connections to the space are closed at once (after commit)."""
    space, user_id = membership.space, membership.user_id
    audit(
        actor,
        "space.member_remove",
        membership,
        organisation=space.organisation,
        label=f"{membership.user.email} → {space.name}",
    )
    membership.delete()
    events.access_changed([user_id], space=space.pk)


@transaction.atomic
def set_group_grant(actor: Actor, space: Space, group: Group, role: str | None) -> None:
    """Give a group a role in the space, or take it away (role None)."""
    members = list(group.members.values_list("pk", flat=True))
    if role is None:
        SpaceGroupGrant.objects.filter(space=space, group=group).delete()
    else:
        SpaceGroupGrant.objects.update_or_create(space=space, group=group, defaults={"role": role})
    audit(
        actor,
        "space.group_grant",
        space,
        organisation=space.organisation,
        data={"group": group.pk, "role": role},
    )
    events.access_changed(members, space=space.pk)


@transaction.atomic
def join_space(actor: Actor, space: Space) -> SpaceMembership:
    """A member joins a space open to the organisation, as a reader."""
    assert actor.user is not None
    return add_space_member(actor, space, actor.user, Role.READER)


@transaction.atomic
def leave_space(actor: Actor, space: Space) -> None:
    membership = SpaceMembership.objects.get(space=space, user=actor.user)
    remove_space_member(actor, membership)


@transaction.atomic
def request_to_join(actor: Actor, space: Space, message: str = "") -> JoinRequest:
    assert actor.user is not None
    request, created = JoinRequest.objects.get_or_create(
        space=space,
        user=actor.user,
        status=JoinRequest.Status.PENDING,
        defaults={"message": message},
    )
    if created:
        audit(actor, "space.join_request", request, organisation=space.organisation)
        notify(
            space_policy.audience("request", space),
            organisation=space.organisation,
            space_id=space.pk,
            kind="space.join_request",
            title=_("%(person)s asks to join “%(space)s”") % {"person": actor.user, "space": space.name},
            body=message,
            url=reverse("spaces:requests", args=[space.organisation.slug, space.slug]),
        )
    return request


@transaction.atomic
def decide_join_request(actor: Actor, request: JoinRequest, approve: bool, role: str = Role.READER) -> None:
    request.status = JoinRequest.Status.APPROVED if approve else JoinRequest.Status.REFUSED
    request.decided_at = timezone.now()
    request.decided_by = actor.user
    request.save()
    space = request.space
    audit(
        actor,
        "space.join_approve" if approve else "space.join_refuse",
        request,
        organisation=space.organisation,
    )
    if approve:
        add_space_member(actor, space, request.user, role)
    else:
        notify(
            [request.user],
            organisation=space.organisation,
            space_id=space.pk,
            kind="space.join_refused",
            title=_("Your request to join “%(space)s” was declined") % {"space": space.name},
        )


def space_url(space: Space) -> str:
    return reverse("spaces:detail", args=[space.organisation.slug, space.slug])


# --- Invitations --------------------------------------------------------------------------------


def _send_invitation(invitation: Invitation, token: str) -> None:
    link = settings.SITE_URL + reverse("spaces:invitation", args=[token])
    inviter = invitation.invited_by
    send_account_email(
        invitation.email,
        _("Invitation to join %(org)s on Parvis") % {"org": invitation.organisation.name},
        "spaces/email/invitation",
        {"invitation": invitation, "link": link, "inviter": inviter, "days": INVITATION_DAYS},
    )


@transaction.atomic
def invite(
    actor: Actor,
    org: Organisation,
    email: str,
    *,
    org_role: str,
    qualite: str,
    space: Space | None = None,
    space_role: str = "",
) -> Invitation:
    """Invite someone by e-mail. The link holds a 256-bit token; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organisation=org,
        email=email.lower(),
        org_role=org_role,
        qualite=qualite,
        space=space,
        space_role=space_role,
        token_digest=digest(token),
        invited_by=actor.user,
        expires_at=timezone.now() + datetime.timedelta(days=INVITATION_DAYS),
    )
    audit(
        actor,
        "invitation.create",
        invitation,
        organisation=org,
        data={"space": space.pk if space else None, "role": org_role},
    )
    transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation


@transaction.atomic
def invite_to_space(actor: Actor, space: Space, email: str, role: str) -> SpaceMembership | Invitation:
    """A member of the organisation is added at once; anyone else is invited as a guest."""
    org = space.organisation
    existing = User.objects.filter(email__iexact=email, is_active=True).first()
    if existing is not None:
        membership = OrgMembership.objects.filter(organisation=org, user=existing, is_active=True).first()
        if membership is not None:
            return add_space_member(actor, space, existing, role)
    return invite(
        actor,
        org,
        email,
        org_role=OrgMembership.Role.GUEST,
        qualite=OrgMembership.Qualite.EXTERNE,
        space=space,
        space_role=role,
    )


@transaction.atomic
def accept_invitation(actor: Actor, invitation: Invitation, user: User) -> None:
    """Raises ValueError if the invitation can no longer be used, or if it is a guest's
    invitation (a facilitator's) for someone an administrator deactivated: only an
    administrator gives back access to the organisation, as with access codes."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_usable():
        raise ValueError("invitation no longer usable")
    if (
        invitation.org_role == OrgMembership.Role.GUEST
        and OrgMembership.objects.filter(
            organisation=invitation.organisation, user=user, is_active=False
        ).exists()
    ):
        raise ValueError("deactivated member")
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit(actor, "invitation.accept", invitation, organisation=invitation.organisation)
    core_actions.add_member(actor, invitation.organisation, user, invitation.org_role, invitation.qualite)
    if invitation.space is not None:
        add_space_member(actor, invitation.space, user, invitation.space_role or Role.READER)


@transaction.atomic
def revoke_invitation(actor: Actor, invitation: Invitation) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit(actor, "invitation.revoke", invitation, organisation=invitation.organisation)


# --- Access codes -------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@transaction.atomic
def create_access_code(
    actor: Actor,
    space: Space,
    *,
    role: str,
    expires_at: datetime.datetime,
    max_uses: int,
    label: str = "",
) -> tuple[AccessCode, str]:
    """Returns the code object and the code itself, which is shown once and never stored."""
    code = new_code()
    access_code = AccessCode.objects.create(
        space=space,
        label=label,
        code_digest=digest(code),
        hint=code[-4:],
        role=role,
        expires_at=expires_at,
        max_uses=max_uses,
        created_by=actor.user,
    )
    audit(
        actor,
        "access_code.create",
        access_code,
        organisation=space.organisation,
        data={"role": role, "max_uses": max_uses},
    )
    return access_code, format_code(code)


@transaction.atomic
def revoke_access_code(actor: Actor, access_code: AccessCode) -> None:
    access_code.revoked_at = timezone.now()
    access_code.save(update_fields=["revoked_at"])
    audit(actor, "access_code.revoke", access_code, organisation=access_code.space.organisation)


def find_access_code(typed: str) -> AccessCode | None:
    code = normalise_code(typed)
    if len(code) != CODE_LENGTH:
        return None
    found = AccessCode.objects.select_related("space__organisation").filter(code_digest=digest(code)).first()
    return found if found is not None and found.is_usable() else None


@transaction.atomic
def redeem_access_code(actor: Actor, access_code: AccessCode, user: User) -> Space:
    """Use one of the code's uses; the person enters the space (as a guest if she is not
    already a member of the organisation)."""
    taken = AccessCode.objects.filter(
        pk=access_code.pk,
        uses__lt=F("max_uses"),
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).update(uses=F("uses") + 1)
    if not taken:
        raise ValueError("access code exhausted")
    space = access_code.space
    org = space.organisation
    membership = OrgMembership.objects.filter(organisation=org, user=user).first()
    if membership is None or not membership.is_active:
        if membership is not None:
            raise ValueError("deactivated member")
        core_actions.add_member(actor, org, user, OrgMembership.Role.GUEST, OrgMembership.Qualite.EXTERNE)
    audit(actor, "access_code.redeem", access_code, organisation=org)
    current = SpaceMembership.objects.filter(space=space, user=user).first()
    if current is None:
        add_space_member(actor, space, user, access_code.role)
    core_actions.use_organisation(user, org)
    return space


# --- Templates ----------------------------------------------------------------------------------


@transaction.atomic
def save_template(
    actor: Actor, org: Organisation, template: SpaceTemplate | None = None, **fields: Any
) -> SpaceTemplate:
    if "tools" in fields:
        fields["tools"] = registry.known(fields["tools"])
    if template is None:
        template = SpaceTemplate.objects.create(organisation=org, created_by=actor.user, **fields)
        audit(actor, "template.create", template, organisation=org)
    else:
        for key, value in fields.items():
            setattr(template, key, value)
        template.save()
        audit(actor, "template.update", template, organisation=org, data={"fields": sorted(fields)})
    return template


@transaction.atomic
def template_from_space(actor: Actor, space: Space, name: str) -> SpaceTemplate:
    fields = {f: getattr(space, f) for f in TEMPLATE_FIELDS}
    return save_template(actor, space.organisation, name=name, description=space.description, **fields)


@transaction.atomic
def delete_template(actor: Actor, template: SpaceTemplate) -> None:
    audit(actor, "template.delete", template, organisation=template.organisation)
    template.delete()


# --- Tabs of "Mes espaces" ----------------------------------------------------------------------


@transaction.atomic
def create_tab(actor: Actor, org: Organisation, name: str) -> SpaceTab:
    assert actor.user is not None
    last = SpaceTab.objects.filter(user=actor.user, organisation=org).count()
    tab = SpaceTab.objects.create(user=actor.user, organisation=org, name=name, position=last)
    audit(actor, "tab.create", tab, organisation=org)
    return tab


@transaction.atomic
def update_tab(actor: Actor, tab: SpaceTab, name: str, spaces: list[Space]) -> None:
    tab.name = name
    tab.save(update_fields=["name"])
    tab.spaces.set(spaces)
    audit(actor, "tab.update", tab, organisation=tab.organisation)


@transaction.atomic
def move_tab(actor: Actor, tab: SpaceTab, offset: int) -> None:
    tabs = list(SpaceTab.objects.filter(user=tab.user, organisation=tab.organisation))
    index = [t.pk for t in tabs].index(tab.pk)
    target = max(0, min(len(tabs) - 1, index + offset))
    tabs.insert(target, tabs.pop(index))
    for position, each in enumerate(tabs):
        if each.position != position:
            SpaceTab.objects.filter(pk=each.pk).update(position=position)
    audit(actor, "tab.move", tab, organisation=tab.organisation, data={"position": target})


@transaction.atomic
def delete_tab(actor: Actor, tab: SpaceTab) -> None:
    audit(actor, "tab.delete", tab, organisation=tab.organisation)
    tab.delete()
