"""The notification hub: in-app notifications, the e-mail budget, and outgoing e-mail."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.core.models.organisations import Frequency


class NotificationSettings(models.Model):
    """A person's own quiet hours. An empty field follows her organisation's default."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="notification_settings",
    )
    quiet_hours_enabled = models.BooleanField(_("quiet hours"), null=True, blank=True)
    quiet_start = models.TimeField(_("quiet hours start"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours end"), null=True, blank=True)
    weekends_off = models.BooleanField(_("no e-mail at weekends"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.user)


class SpacePreference(models.Model):
    """How often a person hears of one space; without a row, her organisation's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="space_preferences",
    )
    space = models.ForeignKey(
        "spaces.Space",
        verbose_name=_("space"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "space"], name="one_preference_per_space")]

    def __str__(self) -> str:
        return f"{self.user} {self.space_id} {self.frequency}"


class OutgoingEmail(models.Model):
    """One e-mail Parvis sends, written before it is sent.

    `key` makes building idempotent: a digest for a period is built once, whatever restarts.
    The Message-ID is derived from the row, so a resend after a crash between the SMTP
    acceptance and the status update carries the same Message-ID and mail clients merge it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        NOTIFICATION = "notification", _("Notification")
        DAILY = "daily", _("Daily digest")
        WEEKLY = "weekly", _("Weekly digest")
        ACCOUNT = "account", _("Account message")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
    )
    to_address = models.EmailField(_("address"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.subject

    @property
    def message_id(self) -> str:
        return f"<parvis-{self.pk}-{self.created_at:%Y%m%d%H%M%S}@{settings.PARVIS_MAIL_DOMAIN}>"


class Notification(models.Model):
    class EmailState(models.TextChoices):
        PENDING = "pending", _("To send")
        QUEUED = "queued", _("In an e-mail")
        SKIPPED = "skipped", _("Not sent by e-mail")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    space = models.ForeignKey(
        "spaces.Space",
        verbose_name=_("space"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=60)
    title = models.CharField(_("title"), max_length=250)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    email_state = models.CharField(max_length=10, choices=EmailState.choices)
    email = models.ForeignKey(
        OutgoingEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["email_state", "frequency"]),
        ]

    def __str__(self) -> str:
        return self.title


class ScheduledRun(models.Model):
    """One row per (job, period): the scheduler enqueues a job once per period, in the same
    transaction as this row, so a restart never enqueues it twice."""

    name = models.CharField(max_length=60)
    period_key = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "period_key"], name="one_run_per_period")]

    def __str__(self) -> str:
        return f"{self.name} {self.period_key}"
