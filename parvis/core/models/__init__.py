"""Core models, split by concept; import them from here."""

from parvis.core.models.accounts import (
    AppPassword,
    AuthFailure,
    OIDCIdentity,
    User,
    UserSession,
    digest,
    public_session_id,
)
from parvis.core.models.audit import AuditEvent, AuditLogIsAppendOnly
from parvis.core.models.notifications import (
    Notification,
    NotificationSettings,
    OutgoingEmail,
    ScheduledRun,
    SpacePreference,
)
from parvis.core.models.organisations import (
    Frequency,
    Group,
    Organisation,
    OrgMembership,
    validate_siren,
)

__all__ = [
    "AppPassword",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "AuthFailure",
    "Frequency",
    "Group",
    "Notification",
    "NotificationSettings",
    "OIDCIdentity",
    "OrgMembership",
    "Organisation",
    "OutgoingEmail",
    "ScheduledRun",
    "SpacePreference",
    "User",
    "UserSession",
    "digest",
    "public_session_id",
    "validate_siren",
]
