"""Serve Parvis in one command: uvicorn for HTTP and websockets, plus the task worker and the
scheduler as child processes (the embedded setup). In the scale setup, run them separately."""

import os
import signal
import subprocess
import sys
from typing import Any

import uvicorn
from django.core.management.base import BaseCommand, CommandParser


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

    def handle(self, *args: Any, host: str, port: int, no_worker: bool, **options: Any) -> None:
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
            )
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
