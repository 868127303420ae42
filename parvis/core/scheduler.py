"""A small scheduler: enqueue each periodic job once per period, whatever restarts.

The ScheduledRun row and the queued task are written in one transaction, so a crash either
leaves both or neither, and a second scheduler (or a restarted one) finds the row and skips.
"""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from parvis.core.models import ScheduledRun


def enqueue_once(name: str, period_key: str) -> bool:
    from parvis.core import tasks

    job = getattr(tasks, name)
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(name=name, period_key=period_key)
            job.enqueue()
    except IntegrityError:
        return False
    return True


def run_due(now: datetime.datetime | None = None) -> list[str]:
    """Enqueue what is due at `now`: the per-minute tick, and a daily clean-up of old rows."""
    now = now or timezone.now()
    enqueued = []
    if enqueue_once("tick", now.strftime("%Y-%m-%dT%H:%M")):
        enqueued.append("tick")
    if now.minute == 0 and now.hour == 3:
        cutoff = now - datetime.timedelta(days=7)
        ScheduledRun.objects.filter(created_at__lt=cutoff).delete()
    return enqueued
