"""Organisations (the tenants), their members and their groups."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

GIB = 1024**3


def validate_siren(value: str) -> None:
    """A SIREN is nine digits with a Luhn check digit (INSEE)."""
    if not value.isdigit() or len(value) != 9:
        raise ValidationError(_("A SIREN number has exactly nine digits."))
    total = 0
    for index, char in enumerate(reversed(value)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    if total % 10 != 0:
        raise ValidationError(_("This SIREN number is not valid (check digit)."))


class Frequency(models.TextChoices):
    """How often a person hears of a space: the notification budget."""

    IMMEDIATE = "immediate", _("Immediately")
    DAILY = "daily", _("Daily digest")
    WEEKLY = "weekly", _("Weekly digest")
    NEVER = "never", _("Never")


class Organisation(models.Model):
    class Kind(models.TextChoices):
        COMMUNE = "commune", _("Commune")
        EPCI = "epci", _("EPCI (communauté de communes, agglomération…)")
        DEPARTEMENT = "departement", _("Département")
        REGION = "region", _("Région")
        SYNDICAT = "syndicat", _("Syndicat")
        ASSOCIATION = "association", _("Association")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(
        _("short name"),
        max_length=60,
        unique=True,
        help_text=_("Used in addresses, for example saint-aubin."),
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.COMMUNE)
    siren = models.CharField(
        _("SIREN"),
        max_length=9,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_siren],
        help_text=_("Nine digits, as in the SIRENE directory."),
    )
    population = models.PositiveIntegerField(
        _("population"), null=True, blank=True, validators=[MaxValueValidator(100_000_000)]
    )
    storage_quota_bytes = models.PositiveBigIntegerField(_("storage quota (bytes)"), default=20 * GIB)
    trash_retention_days = models.PositiveSmallIntegerField(
        _("trash retention (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # Notification defaults, set by the organisation's administrators.
    default_frequency = models.CharField(
        _("default notification frequency"),
        max_length=10,
        choices=Frequency.choices,
        default=Frequency.DAILY,
    )
    quiet_hours_enabled = models.BooleanField(_("quiet hours"), default=True)
    quiet_start = models.TimeField(_("quiet hours start"), default=datetime.time(19, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=datetime.time(8, 0))
    weekends_off = models.BooleanField(_("no e-mail at weekends"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrgMembership(models.Model):
    """A person's place in an organisation: a right (role) and a label (qualité)."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")
        GUEST = "guest", _("External guest")

    class Qualite(models.TextChoices):
        ELU = "elu", _("Elected official")
        AGENT = "agent", _("Staff")
        EXTERNE = "externe", _("External")

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="org_memberships",
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    qualite = models.CharField(_("qualité"), max_length=10, choices=Qualite.choices, default=Qualite.AGENT)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation membership")
        verbose_name_plural = _("organisation memberships")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role == self.Role.ADMIN

    @property
    def is_guest(self) -> bool:
        return self.role == self.Role.GUEST


class Group(models.Model):
    """A group of members (Direction, RH, Services techniques…) given rights anywhere in the org."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="groups",
    )
    name = models.CharField(
        _("name"),
        max_length=100,
        validators=[RegexValidator(r"\S", _("The name cannot be blank."))],
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("members"),
        related_name="parvis_groups",
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="unique_group_name")]

    def __str__(self) -> str:
        return self.name
