"""How many bytes each organisation stores, kept as a running count.

Every version added adds its size to its organisation's `StorageUse` row and every version
deleted (a purge, a refused file, a space or an organisation deleted in cascade) takes it back,
in the same transaction, from Django's signals: no path that creates or deletes versions can
forget it. The scheduler recounts once a day (`recount`), which would also repair a count that a
change made by hand in the database has put wrong.
"""

import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.signals import post_save, pre_delete
from django.utils import timezone

from parvis.core.models import Organisation

from .models import Document, StorageUse, Version

RECOUNT_EVERY = datetime.timedelta(days=1)


def _organisation_of(version: Version) -> int | None:
    found = Document.objects.filter(pk=version.document_id).values_list("space__organisation_id", flat=True)
    return found.first()


def _add(organisation_id: int | None, delta: int) -> None:
    if organisation_id is None or not delta:
        return
    counted = StorageUse.objects.filter(organisation_id=organisation_id)
    if counted.update(used_bytes=F("used_bytes") + delta):
        return
    # No count yet: start from a full one, which sees this version (or no longer sees it).
    _, created = StorageUse.objects.get_or_create(
        organisation_id=organisation_id, defaults={"used_bytes": _count(organisation_id)}
    )
    if not created:  # another upload started the count first, without this version
        counted.update(used_bytes=F("used_bytes") + delta)


def _count(organisation_id: int) -> int:
    versions = Version.objects.filter(document__space__organisation_id=organisation_id)
    return int(versions.aggregate(s=Sum("size"))["s"] or 0)


def _version_saved(sender: Any, instance: Version, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        _add(_organisation_of(instance), instance.size)


def _version_deleted(sender: Any, instance: Version, **kwargs: Any) -> None:
    # Before the delete, while the version's document (and its space) can still be read.
    _add(_organisation_of(instance), -instance.size)


def connect() -> None:
    post_save.connect(_version_saved, sender=Version, dispatch_uid="documents.usage.saved")
    pre_delete.connect(_version_deleted, sender=Version, dispatch_uid="documents.usage.deleted")


def used(organisation: Organisation) -> int:
    row = StorageUse.objects.filter(organisation=organisation).values_list("used_bytes", flat=True).first()
    return max(0, int(row)) if row is not None else 0


def recount(now: datetime.datetime | None = None, batch: int = 50) -> int:
    """Count again, from the versions, up to `batch` organisations not recounted for a day (the
    scheduler calls this every tick). Returns how many counts were wrong (and are now right)."""
    now = now or timezone.now()
    due = Organisation.objects.filter(
        Q(storage_use__isnull=True) | Q(storage_use__counted_at__isnull=True)
        | Q(storage_use__counted_at__lt=now - RECOUNT_EVERY)
    ).values_list("pk", flat=True)[:batch]
    wrong = 0
    for org_id in due:
        with transaction.atomic():
            # The row stays locked until the recount commits: an upload adding its bytes
            # meanwhile waits, then adds them to the right total.
            use = StorageUse.objects.select_for_update().filter(organisation_id=org_id).first()
            total = _count(org_id)
            if use is None:
                StorageUse.objects.get_or_create(
                    organisation_id=org_id, defaults={"used_bytes": total, "counted_at": now}
                )
                continue
            wrong += use.used_bytes != total
            StorageUse.objects.filter(organisation_id=org_id).update(used_bytes=total, counted_at=now)
    return wrong
