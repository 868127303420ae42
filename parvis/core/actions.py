"""Every write of the core, as a named action: atomic, audited, events after commit.

Views, commands and other apps call these; nothing else saves core objects. Personal view
state (which notification was read, the last organisation used) is not audited: it changes
nothing anyone else sees.
"""

from typing import Any

from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from parvis.core import events, notify
from parvis.core.audit import Actor, audit
from parvis.core.models import (
    Group,
    Notification,
    NotificationSettings,
    Organisation,
    OrgMembership,
    User,
    UserSession,
)
from parvis.core.sessions import end_session, end_sessions


def _changed(obj: Any, fields: dict[str, Any]) -> list[str]:
    changed = [name for name, value in fields.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, fields[name])
    return changed


# --- Organisations (operator) -------------------------------------------------------------------


@transaction.atomic
def create_organisation(actor: Actor, **fields: Any) -> Organisation:
    """Operators host a new collectivité."""
    org = Organisation.objects.create(**fields)
    audit(actor, "organisation.create", org, organisation=org)
    return org


@transaction.atomic
def update_organisation(actor: Actor, org: Organisation, **fields: Any) -> list[str]:
    was_active = org.is_active
    changed = _changed(org, fields)
    if changed:
        org.save()
        audit(actor, "organisation.update", org, organisation=org, data={"fields": changed})
    if was_active and not org.is_active:
        events.access_changed(list(org.memberships.values_list("user_id", flat=True)), organisation=org.pk)
    return changed


# --- Members ------------------------------------------------------------------------------------


@transaction.atomic
def add_member(actor: Actor, org: Organisation, user: User, role: str, qualite: str) -> OrgMembership:
    """Adds her, or re-activates her with the new role if she was there before."""
    membership, created = OrgMembership.objects.get_or_create(
        organisation=org, user=user, defaults={"role": role, "qualite": qualite}
    )
    if not created:
        upgrade = membership.role == OrgMembership.Role.GUEST or not membership.is_active
        if upgrade:
            membership.role, membership.qualite, membership.is_active = role, qualite, True
            membership.save()
    if user.last_organisation_id is None:
        User.objects.filter(pk=user.pk).update(last_organisation=org)
    audit(actor, "member.add", membership, organisation=org, label=user.email, data={"role": membership.role})
    return membership


@transaction.atomic
def update_member(actor: Actor, membership: OrgMembership, role: str, qualite: str) -> list[str]:
    changed = _changed(membership, {"role": role, "qualite": qualite})
    if changed:
        membership.save()
        audit(
            actor,
            "member.update",
            membership,
            organisation=membership.organisation,
            label=membership.user.email,
            data={"fields": changed, "role": role},
        )
        events.access_changed([membership.user_id], organisation=membership.organisation_id)
    return changed


@transaction.atomic
def set_member_active(actor: Actor, membership: OrgMembership, active: bool) -> None:
    """Deactivating a member takes effect at once: if this was her only organisation her
    sessions end; in any case her open connections to it close."""
    if membership.is_active == active:
        return
    membership.is_active = active
    membership.save(update_fields=["is_active"])
    user = membership.user
    audit(
        actor,
        "member.activate" if active else "member.deactivate",
        membership,
        organisation=membership.organisation,
        label=user.email,
    )
    if not active:
        others = OrgMembership.objects.filter(user=user, is_active=True).exists()
        if not others and not user.is_superuser:
            end_sessions(user)
        events.access_changed([user.pk], organisation=membership.organisation_id)


# --- Groups -------------------------------------------------------------------------------------


@transaction.atomic
def create_group(actor: Actor, org: Organisation, name: str, description: str = "") -> Group:
    group = Group.objects.create(organisation=org, name=name, description=description)
    audit(actor, "group.create", group, organisation=org)
    return group


@transaction.atomic
def update_group(actor: Actor, group: Group, name: str, description: str) -> list[str]:
    changed = _changed(group, {"name": name, "description": description})
    if changed:
        group.save()
        audit(actor, "group.update", group, organisation=group.organisation, data={"fields": changed})
    return changed


@transaction.atomic
def delete_group(actor: Actor, group: Group) -> None:
    members = list(group.members.values_list("pk", flat=True))
    audit(actor, "group.delete", group, organisation=group.organisation)
    group.delete()
    events.access_changed(members, organisation=group.organisation_id)


@transaction.atomic
def set_group_members(actor: Actor, group: Group, users: list[User]) -> None:
    """Members must belong to the group's organisation (the form offers no one else)."""
    before = set(group.members.values_list("pk", flat=True))
    after = {u.pk for u in users}
    if before == after:
        return
    group.members.set(users)
    audit(
        actor,
        "group.members",
        group,
        organisation=group.organisation,
        data={"added": sorted(after - before), "removed": sorted(before - after)},
    )
    events.access_changed(sorted(before ^ after), organisation=group.organisation_id)


# --- Own account --------------------------------------------------------------------------------


@transaction.atomic
def create_account(actor: Actor, *, email: str, password: str, full_name: str) -> User:
    """A person creates her own account (from an invitation or an access code)."""
    user = User.objects.create_user(email=email, password=password, full_name=full_name)
    audit(Actor(user, actor.ip), "account.create", user)
    return user


@transaction.atomic
def update_profile(actor: Actor, user: User, full_name: str) -> None:
    if _changed(user, {"full_name": full_name}):
        user.save(update_fields=["full_name"])
        audit(actor, "account.update", user)


@transaction.atomic
def set_password(
    actor: Actor, user: User, password: str, *, keep_session: str | None, end_others: bool
) -> int:
    """Set a new password and, if she asks, end every other session; returns how many ended.

    Django signs each session with a hash of the password, so a new password would silently
    sign every other browser out at its next request. When she chooses to keep them, their
    signature is renewed instead, so the choice she was offered is the one that happens.
    """
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit(actor, "account.password_changed", user, data={"other_sessions_ended": end_others})
    if end_others:
        return end_sessions(user, keep=keep_session)
    others = UserSession.objects.filter(user=user).exclude(session_key=keep_session or "")
    for stored in Session.objects.filter(session_key__in=others.values("session_key")):
        data = stored.get_decoded()
        data[HASH_SESSION_KEY] = user.get_session_auth_hash()
        Session.objects.save(stored.session_key, data, stored.expire_date)
    return 0


@transaction.atomic
def end_own_session(actor: Actor, session: UserSession) -> None:
    audit(actor, "account.session_ended", session.user)
    end_session(session)


@transaction.atomic
def end_other_sessions(actor: Actor, user: User, keep: str | None) -> int:
    ended = end_sessions(user, keep=keep)
    audit(actor, "account.sessions_ended", user, data={"count": ended})
    return ended


@transaction.atomic
def set_space_frequency(actor: Actor, user: User, space_id: int, frequency: str) -> None:
    notify.set_space_frequency(user, space_id, frequency)
    audit(actor, "account.space_frequency", user, data={"space": space_id, "frequency": frequency})


@transaction.atomic
def set_notification_settings(actor: Actor, user: User, **fields: Any) -> None:
    settings, _ = NotificationSettings.objects.get_or_create(user=user)
    changed = _changed(settings, fields)
    if changed:
        settings.save()
        audit(actor, "account.notification_settings", user, data={"fields": changed})


@transaction.atomic
def update_notification_defaults(actor: Actor, org: Organisation, **fields: Any) -> list[str]:
    changed = _changed(org, fields)
    if changed:
        org.save(update_fields=changed)
        audit(actor, "organisation.notification_defaults", org, organisation=org, data={"fields": changed})
    return changed


def mark_read(user: User, notification_ids: list[int] | None = None) -> int:
    """Personal state: not audited."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())


def use_organisation(user: User, org: Organisation) -> None:
    if user.last_organisation_id != org.pk:
        User.objects.filter(pk=user.pk).update(last_organisation=org)
        user.last_organisation = org
