"""Spaces (espaces), their members, invitations, access codes, templates and tabs."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.core.models import Group, Organisation


class Role(models.TextChoices):
    """Rights inside a space, strongest first."""

    MANAGER = "manager", _("Facilitator")
    CONTRIBUTOR = "contributor", _("Contributor")
    READER = "reader", _("Reader")


ROLE_RANK = {Role.READER: 1, Role.CONTRIBUTOR: 2, Role.MANAGER: 3}


def strongest(*roles: str | None) -> str | None:
    present = [r for r in roles if r]
    return max(present, key=lambda r: ROLE_RANK[Role(r)]) if present else None


class Visibility(models.TextChoices):
    PRIVATE = "private", _("Private: members only")
    ORGANISATION = "organisation", _("Open to the whole organisation")
    ON_REQUEST = "on_request", _("Visible, joined on request")


class Kind(models.TextChoices):
    COUNCIL = "council", _("Council")
    COMMISSION = "commission", _("Commission")
    PROJECT = "project", _("Project")
    SERVICE = "service", _("Service")
    PARTNERSHIP = "partnership", _("Partnership")
    OTHER = "other", _("Other")


class SpaceSettings(models.Model):
    """What a space and a template share: its shape, tools and protections."""

    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    visibility = models.CharField(
        _("visibility"), max_length=20, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    tools = models.JSONField(_("tools"), default=list, blank=True)
    require_2fa = models.BooleanField(
        _("two-factor authentication required"),
        default=False,
        help_text=_("Members must have signed in with a second factor to enter."),
    )
    block_downloads = models.BooleanField(
        _("downloads blocked"),
        default=False,
        help_text=_("Documents can be read in the page but not downloaded or shared by link."),
    )

    class Meta:
        abstract = True


class Space(SpaceSettings):
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="spaces"
    )
    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(_("short name"), max_length=80)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    template = models.ForeignKey(
        "SpaceTemplate",
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spaces",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        ordering = ["-last_activity_at", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="unique_space_slug")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class SpaceMembership(models.Model):
    space = models.ForeignKey(
        Space, verbose_name=_("space"), on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="space_memberships",
    )
    role = models.CharField(_("role"), max_length=12, choices=Role.choices, default=Role.READER)
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    class Meta:
        verbose_name = _("space membership")
        verbose_name_plural = _("space memberships")
        constraints = [models.UniqueConstraint(fields=["space", "user"], name="one_membership_per_space")]

    def __str__(self) -> str:
        return f"{self.user} in {self.space}"


class SpaceGroupGrant(models.Model):
    """Every member of a group gets a role in the space (e.g. Direction as contributors)."""

    space = models.ForeignKey(
        Space, verbose_name=_("space"), on_delete=models.CASCADE, related_name="group_grants"
    )
    group = models.ForeignKey(
        Group, verbose_name=_("group"), on_delete=models.CASCADE, related_name="space_grants"
    )
    role = models.CharField(_("role"), max_length=12, choices=Role.choices, default=Role.READER)

    class Meta:
        verbose_name = _("group access")
        verbose_name_plural = _("group accesses")
        constraints = [models.UniqueConstraint(fields=["space", "group"], name="one_grant_per_group")]

    def __str__(self) -> str:
        return f"{self.group} in {self.space}"


class JoinRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    space = models.ForeignKey(
        Space, verbose_name=_("space"), on_delete=models.CASCADE, related_name="join_requests"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="join_requests",
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("join request")
        verbose_name_plural = _("join requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["space", "user"],
                condition=models.Q(status="pending"),
                name="one_pending_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.space}"


class Invitation(models.Model):
    """An e-mail invitation into an organisation, and optionally straight into one space."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("e-mail address"))
    org_role = models.CharField(_("role in the organisation"), max_length=10)
    qualite = models.CharField(_("qualité"), max_length=10)
    space = models.ForeignKey(
        Space,
        verbose_name=_("space"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    space_role = models.CharField(_("role in the space"), max_length=12, choices=Role.choices, blank=True)
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    def is_usable(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class AccessCode(models.Model):
    """A code an outside person types to join one space with a preset role.

    Only a digest is stored: the code is shown once, when it is created.
    """

    space = models.ForeignKey(
        Space, verbose_name=_("space"), on_delete=models.CASCADE, related_name="access_codes"
    )
    label = models.CharField(_("label"), max_length=100, blank=True)
    code_digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("end of the code"), max_length=4)
    role = models.CharField(_("role granted"), max_length=12, choices=Role.choices)
    expires_at = models.DateTimeField(_("expires at"))
    max_uses = models.PositiveIntegerField(_("maximum number of uses"))
    uses = models.PositiveIntegerField(_("uses"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("access code")
        verbose_name_plural = _("access codes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"…{self.hint}"

    def is_usable(self) -> bool:
        return (
            self.revoked_at is None
            and self.expires_at > timezone.now()
            and self.uses < self.max_uses
            and not self.space.is_archived
        )


class SpaceTemplate(SpaceSettings):
    """A reusable structure to create spaces from, in its organisation or in another one
    administered by the same person."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="space_templates",
    )
    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    folders = models.JSONField(
        _("folders"),
        default=list,
        blank=True,
        help_text=_("Folder paths created in each new space, one per line."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("space template")
        verbose_name_plural = _("space templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SpaceTab(models.Model):
    """A tab of "Mes espaces", made and ordered by its owner."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="space_tabs",
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=60)
    position = models.PositiveIntegerField(_("position"), default=0)
    spaces = models.ManyToManyField(Space, verbose_name=_("spaces"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("tab")
        verbose_name_plural = _("tabs")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
