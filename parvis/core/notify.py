"""The notification hub and its e-mail budget.

A tool calls `notify()` inside its action. Each recipient gets an in-app notification at once
(pushed to her open pages after commit); whether and when she gets an e-mail follows her budget:
the frequency she chose for the space (immediately, daily, weekly, never), her quiet hours and
weekends off (by default those of her organisation).

E-mail goes through an outbox (OutgoingEmail). `deliver()` is idempotent: a batch or digest is
keyed by recipient and period and written in the same transaction that marks its notifications,
so running it twice, or after a crash half-way, never builds or sends a second copy.
"""

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from parvis.core import events
from parvis.core.models import (
    Frequency,
    Notification,
    NotificationSettings,
    Organisation,
    OrgMembership,
    OutgoingEmail,
    SpacePreference,
    User,
)

log = logging.getLogger(__name__)
PARIS = ZoneInfo(settings.TIME_ZONE)
STALE_SENDING = datetime.timedelta(minutes=10)


# --- Creating notifications ---------------------------------------------------------------------


def frequency_for(user: User, organisation: Organisation, space_id: int | None) -> str:
    if space_id is not None:
        chosen = (
            SpacePreference.objects.filter(user=user, space_id=space_id)
            .values_list("frequency", flat=True)
            .first()
        )
        if chosen:
            return chosen
    return organisation.default_frequency


def notify(
    recipients: Iterable[User],
    *,
    organisation: Organisation,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    space_id: int | None = None,
    exclude: User | None = None,
) -> list[Notification]:
    """Notify people of something in `organisation`. Call inside the action's transaction."""
    members = set(
        OrgMembership.objects.filter(
            organisation=organisation, is_active=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    created = []
    for user in {u.pk: u for u in recipients}.values():
        if user.pk not in members or (exclude is not None and user.pk == exclude.pk):
            continue
        frequency = frequency_for(user, organisation, space_id)
        created.append(
            Notification.objects.create(
                recipient=user,
                organisation=organisation,
                space_id=space_id,
                kind=kind,
                title=title[:250],
                body=body,
                url=url,
                frequency=frequency,
                email_state=(
                    Notification.EmailState.SKIPPED
                    if frequency == Frequency.NEVER
                    else Notification.EmailState.PENDING
                ),
            )
        )
    for notification in created:
        events.send_on_commit(
            [events.user_group(notification.recipient_id)],
            {"type": "notification.new", "id": notification.pk, "title": notification.title},
        )
    if any(n.frequency == Frequency.IMMEDIATE for n in created):
        transaction.on_commit(_enqueue_delivery)
    return created


def _enqueue_delivery() -> None:
    from parvis.core.tasks import deliver_notifications

    deliver_notifications.enqueue()


def unread_count(user: User) -> int:
    from parvis.core.policies import notifications

    return notifications.visible(user).filter(read_at__isnull=True).count()


def set_space_frequency(user: User, space_id: int, frequency: str) -> None:
    """Change the pace for one space; waiting notifications follow the new choice."""
    SpacePreference.objects.update_or_create(user=user, space_id=space_id, defaults={"frequency": frequency})
    waiting = Notification.objects.filter(
        recipient=user, space_id=space_id, email_state=Notification.EmailState.PENDING
    )
    if frequency == Frequency.NEVER:
        waiting.update(frequency=frequency, email_state=Notification.EmailState.SKIPPED)
    else:
        waiting.update(frequency=frequency)


# --- The budget ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    quiet_hours: bool
    quiet_start: datetime.time
    quiet_end: datetime.time
    weekends_off: bool

    def is_quiet(self, local: datetime.datetime) -> bool:
        if self.weekends_off and local.weekday() >= 5:
            return True
        if not self.quiet_hours or self.quiet_start == self.quiet_end:
            return False
        now = local.time()
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= now < self.quiet_end
        return now >= self.quiet_start or now < self.quiet_end

    def digest_time(self) -> datetime.time:
        """Digests go out when the quiet hours end (by default 08:00)."""
        if self.quiet_hours:
            return self.quiet_end
        return datetime.time(settings.PARVIS_DIGEST_HOUR, 0)


def budget_for(user: User) -> Budget:
    """Her own choices; where she made none, those of her (last) organisation."""
    own = NotificationSettings.objects.filter(user=user).first()
    org = (
        user.last_organisation
        or Organisation.objects.filter(memberships__user=user, memberships__is_active=True).first()
    )
    defaults = org or Organisation()

    def pick(field: str):  # type: ignore[no-untyped-def]
        value = getattr(own, field, None) if own else None
        return getattr(defaults, field) if value is None else value

    return Budget(
        quiet_hours=pick("quiet_hours_enabled"),
        quiet_start=pick("quiet_start"),
        quiet_end=pick("quiet_end"),
        weekends_off=pick("weekends_off"),
    )


def emails_this_month(user: User) -> int:
    local = timezone.localtime(timezone.now(), PARIS)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return OutgoingEmail.objects.filter(
        recipient=user, status=OutgoingEmail.Status.SENT, sent_at__gte=start
    ).count()


# --- Building e-mails ---------------------------------------------------------------------------


def _due_digest(budget: Budget, local: datetime.datetime, frequency: str) -> datetime.datetime | None:
    """The start of the digest period that is due at `local`, or None if none is due now."""
    if budget.is_quiet(local):
        return None
    send_at = datetime.datetime.combine(local.date(), budget.digest_time(), tzinfo=PARIS)
    if frequency == Frequency.WEEKLY:
        send_at -= datetime.timedelta(days=local.weekday())
    if local < send_at:
        if frequency == Frequency.WEEKLY:
            send_at -= datetime.timedelta(days=7)
        else:
            send_at -= datetime.timedelta(days=1)
    return send_at


def _period_key(frequency: str, period_start: datetime.datetime) -> str:
    if frequency == Frequency.WEEKLY:
        year, week, _ = period_start.isocalendar()
        return f"{year}-W{week:02d}"
    return period_start.date().isoformat()


def _build(user: User, kind: str, key: str, items: list[Notification]) -> OutgoingEmail | None:
    """Write one e-mail and mark its notifications, atomically; None if built before."""
    with translation.override(settings.LANGUAGE_CODE):
        context = {"user": user, "items": items, "kind": kind, "site_url": settings.SITE_URL}
        if kind == OutgoingEmail.Kind.NOTIFICATION:
            subject = (
                items[0].title
                if len(items) == 1
                else _("%(count)d new notifications on Parvis") % {"count": len(items)}
            )
        elif kind == OutgoingEmail.Kind.DAILY:
            subject = _("Your daily Parvis digest")
        else:
            subject = _("Your weekly Parvis digest")
        body_text = render_to_string("core/email/notifications.txt", context)
        body_html = render_to_string("core/email/notifications.html", context)
    try:
        with transaction.atomic():
            email = OutgoingEmail.objects.create(
                recipient=user,
                to_address=user.email,
                kind=kind,
                key=key,
                subject=subject[:250],
                body_text=body_text,
                body_html=body_html,
            )
            updated = Notification.objects.filter(
                pk__in=[n.pk for n in items], email_state=Notification.EmailState.PENDING
            ).update(email_state=Notification.EmailState.QUEUED, email=email)
            if updated != len(items):
                # Another worker took some of them meanwhile: let it, and build nothing here.
                raise IntegrityError("notifications already queued")
    except IntegrityError:
        return None
    return email


def build_for(user: User, now: datetime.datetime) -> int:
    """Build every e-mail due for `user` at `now`; returns how many were built."""
    from parvis.core.policies import notifications

    local = timezone.localtime(now, PARIS)
    budget = budget_for(user)
    waiting = Notification.objects.filter(recipient=user, email_state=Notification.EmailState.PENDING)
    # E-mail only what she may still see in the app: nothing to a closed account, nothing about
    # an organisation she has left (or that was closed) since.
    pending = notifications.visible(user, waiting).order_by("created_at", "id")
    hidden = waiting.exclude(pk__in=pending.values("pk"))
    if hidden.exists():  # a read first: this runs every minute, a write would take the lock
        hidden.update(email_state=Notification.EmailState.SKIPPED)
    built = 0
    if not budget.is_quiet(local):
        immediate = list(pending.filter(frequency=Frequency.IMMEDIATE))
        if immediate:
            key = f"immediate:{user.pk}:{immediate[0].pk}"
            built += _build(user, OutgoingEmail.Kind.NOTIFICATION, key, immediate) is not None
    for frequency, kind in (
        (Frequency.DAILY, OutgoingEmail.Kind.DAILY),
        (Frequency.WEEKLY, OutgoingEmail.Kind.WEEKLY),
    ):
        period_start = _due_digest(budget, local, frequency)
        if period_start is None:
            continue
        items = list(pending.filter(frequency=frequency, created_at__lt=period_start))
        if items:
            key = f"{frequency}:{user.pk}:{_period_key(frequency, period_start)}"
            built += _build(user, kind, key, items) is not None
    return built


def build_due(now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    recipients = (
        Notification.objects.filter(email_state=Notification.EmailState.PENDING)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    return sum(build_for(user, now) for user in User.objects.filter(pk__in=list(recipients)))


# --- Sending ------------------------------------------------------------------------------------


def _claim(email_id: int) -> bool:
    """Take one e-mail for sending; False if another worker holds it."""
    stale = timezone.now() - STALE_SENDING
    return bool(
        OutgoingEmail.objects.filter(pk=email_id)
        .filter(
            Q(status=OutgoingEmail.Status.PENDING)
            | Q(status=OutgoingEmail.Status.SENDING, claimed_at__lt=stale)
        )
        .update(status=OutgoingEmail.Status.SENDING, claimed_at=timezone.now())
    )


def send_pending() -> int:
    """Send the outbox. An e-mail left "sending" by a crashed worker is retried after 10 min
    with the same Message-ID."""
    from parvis.core import faults

    stale = timezone.now() - STALE_SENDING
    waiting = (
        OutgoingEmail.objects.filter(
            Q(status=OutgoingEmail.Status.PENDING)
            | Q(status=OutgoingEmail.Status.SENDING, claimed_at__lt=stale)
        )
        # An account message keeps no body (it holds a secret link): it is never resent from here.
        .exclude(kind=OutgoingEmail.Kind.ACCOUNT)
        .values_list("pk", flat=True)
    )
    sent = 0
    for email_id in list(waiting):
        if not _claim(email_id):
            continue
        email = OutgoingEmail.objects.get(pk=email_id)
        faults.point("email.before_send")
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            to=[email.to_address],
            headers={"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"},
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        try:
            message.send()
        except OSError:
            log.warning("e-mail %s could not be sent, will retry", email.pk)
            OutgoingEmail.objects.filter(pk=email.pk).update(
                status=OutgoingEmail.Status.PENDING, attempts=email.attempts + 1
            )
            continue
        faults.point("email.after_send")
        OutgoingEmail.objects.filter(pk=email.pk).update(
            status=OutgoingEmail.Status.SENT,
            sent_at=timezone.now(),
            attempts=email.attempts + 1,
            body_text="",
            body_html="",
        )
        sent += 1
    return sent


def deliver(now: datetime.datetime | None = None) -> tuple[int, int]:
    """Build what is due, then send the outbox: the scheduler's job every minute."""
    return build_due(now), send_pending()


def send_account_email(
    to_address: str,
    subject: str,
    template: str,
    context: dict[str, object],
    recipient: User | None = None,
) -> None:
    """Send an account message (reset link, invitation) now.

    Its body holds a secret link, so only the fact that it was sent is kept (for the monthly
    count), never the body.
    """
    with translation.override(settings.LANGUAGE_CODE):
        body_text = render_to_string(f"{template}.txt", context)
        body_html = render_to_string(f"{template}.html", context)
    email = OutgoingEmail.objects.create(
        recipient=recipient,
        to_address=to_address,
        kind=OutgoingEmail.Kind.ACCOUNT,
        subject=subject,
        status=OutgoingEmail.Status.SENDING,
        claimed_at=timezone.now(),
    )
    message = EmailMultiAlternatives(
        subject=subject, body=body_text, to=[to_address], headers={"Message-ID": email.message_id}
    )
    message.attach_alternative(body_html, "text/html")
    try:
        message.send()
    except Exception:
        OutgoingEmail.objects.filter(pk=email.pk).update(status=OutgoingEmail.Status.FAILED, attempts=1)
        raise
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=OutgoingEmail.Status.SENT, sent_at=timezone.now(), attempts=1
    )
