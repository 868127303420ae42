"""People and how they prove who they are: accounts, sessions, app passwords, OIDC links."""

import hashlib
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (app password, code, token): enough for 128-bit secrets,
    and it allows an indexed look-up, unlike a salted slow hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def public_session_id(session_key: str) -> str:
    """What may be shown or used as a group name for a session: never the key itself."""
    return digest(session_key)[:24]


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser):
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)
    is_superuser = models.BooleanField(
        _("operator"),
        default=False,
        help_text=_("Operators manage the organisations hosted on this server."),
    )
    date_joined = models.DateTimeField(_("joined at"), default=timezone.now)
    last_organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("last organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_staff(self) -> bool:
        return self.is_superuser

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_active and self.is_superuser

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and self.is_superuser


class UserSession(models.Model):
    """A signed-in browser, so a person can list her sessions and end them (ASVS 7.5.2)."""

    session_key = models.CharField(_("session key"), max_length=40, unique=True)
    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="sessions"
    )
    created_at = models.DateTimeField(_("signed in at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def public_id(self) -> str:
        """A stable identifier to show and to name websocket groups, never the key itself."""
        return public_session_id(self.session_key)


class AppPassword(models.Model):
    """A per-device password for WebDAV and CalDAV clients, revocable on its own."""

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="app_passwords"
    )
    name = models.CharField(_("device name"), max_length=80)
    secret_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("app password")
        verbose_name_plural = _("app passwords")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class AuthFailure(models.Model):
    """One failed attempt, counted by the throttles. The account is kept as a digest only."""

    scope = models.CharField(max_length=20)
    account = models.CharField(max_length=64)
    address = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["scope", "account", "at"]),
            models.Index(fields=["scope", "address", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.at:%Y-%m-%d %H:%M}"


class OIDCIdentity(models.Model):
    """Links an account to an identity provider's subject: people are matched on (issuer, sub),
    never on their e-mail alone."""

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="oidc_identities"
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="unique_oidc_subject")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.subject}"
