"""Serve Parvis in one command: uvicorn for HTTP and websockets, plus the task worker and the
scheduler as child processes (the embedded setup). In the scale setup, run them separately."""

import os
import signal
import subprocess
import sys
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Serve Parvis with its background worker and scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the worker and scheduler (run them elsewhere).",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.WEB_PROCESSES,
            help="Web processes sharing the port (more than one needs REDIS_URL).",
        )

    def handle(
        self, *args: Any, host: str, port: int, no_worker: bool, processes: int, **options: Any
    ) -> None:
        # One process runs Python on one CPU at a time; several share the port (the kernel
        # spreads the connections) and reach each other's pages through Redis.
        if processes < 1:
            raise CommandError(_("At least one web process is needed."))
        if processes > 1 and not settings.REDIS_URL:
            raise CommandError(
                _("Several web processes need Redis (REDIS_URL), through which they share real-time news.")
            )
        children: list[subprocess.Popen[bytes]] = []
        if not no_worker:
            manage = [sys.executable, "manage.py"]
            children.append(subprocess.Popen([*manage, "db_worker", "--interval", "1"]))
            children.append(subprocess.Popen([*manage, "parvis_scheduler"]))
        self.stdout.write(f"Parvis : http://{host}:{port}/")
        try:
            uvicorn.run(
                "parvis.asgi:application",
                host=host,
                port=port,
                lifespan="off",
                access_log=False,
                proxy_headers=True,
                ws_max_size=1 << 20,
                workers=processes,
            )
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
