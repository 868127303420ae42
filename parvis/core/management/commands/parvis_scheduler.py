import logging
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from parvis.core.scheduler import run_due

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Enqueue periodic jobs (notification digests, clean-ups), once per period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")
        parser.add_argument("--interval", type=float, default=20.0)

    def handle(self, *args: object, once: bool, interval: float, **options: object) -> None:
        while True:
            # A long-lived process: drop a connection the database closed (restart, failover)
            # instead of failing on it forever.
            close_old_connections()
            try:
                run_due()
            except DatabaseError:
                if once:
                    raise
                # The database is away for a moment: keep the scheduler alive, the next round
                # enqueues what is due (each period once, whatever happened in between).
                log.exception("scheduler round failed, retrying in %ss", interval)
            if once:
                return
            time.sleep(interval)
