"""Writing the journal d'activité. Every action calls `audit()` inside its transaction."""

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.http import HttpRequest

from parvis.core.models import AuditEvent, Organisation, User


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where: passed to every action so it can audit itself."""

    user: User | None
    ip: str | None = None

    @classmethod
    def system(cls) -> "Actor":
        return cls(user=None, ip=None)


def client_ip(request: HttpRequest) -> str | None:
    """The client address as seen by Django; behind a proxy, uvicorn's --proxy-headers has
    already put the forwarded address in REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR") or None


def actor_from(request: HttpRequest) -> Actor:
    user = request.user if request.user.is_authenticated else None
    return Actor(user=user, ip=client_ip(request))  # type: ignore[arg-type]


def audit(
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    *,
    organisation: Organisation | None = None,
    label: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `data` holds identifiers and changed field names, never secrets."""
    user = actor.user
    return AuditEvent.objects.create(
        organisation=organisation,
        actor=user,
        actor_label=user.email if user else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=(label or (str(obj) if obj is not None else ""))[:300],
        ip=actor.ip,
        data=data or {},
    )
