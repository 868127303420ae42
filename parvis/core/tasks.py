"""Background work of the core: notification delivery and housekeeping."""

from django_tasks import task

from parvis.core import notify, registry, throttle


@task()
def deliver_notifications() -> list[int]:
    """Build the e-mails that are due and send the outbox (idempotent)."""
    built, sent = notify.deliver()
    return [built, sent]


@task()
def tick() -> list[int]:
    """The scheduler's job, once a minute."""
    built, sent = notify.deliver()
    throttle.purge()
    registry.tick()
    return [built, sent]
