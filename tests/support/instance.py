"""A real Parvis instance for black-box tests: its own database (SQLite file, or a fresh
PostgreSQL database when the suite runs on PostgreSQL), its own var/ folder, the production
settings (parvis.settings), and processes started with `manage.py` exactly as an operator would.

Its logs go to var/test-logs/, which the suite greps for secrets at the end of the session.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
LOGS = Path(settings.VAR_DIR) / "test-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


class Instance:
    def __init__(self, root: Path, name: str, extra_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.name = f"{name}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
        self.var = root / "var"
        self.var.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))},
            "DJANGO_SETTINGS_MODULE": "parvis.settings",
            "PARVIS_VAR_DIR": str(self.var),
            "PARVIS_LOG_FILE": str(self.log_path),
            "SECRET_KEY": "test-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.pg_name: str | None = None
        pg = _postgres_url()
        if pg:
            self.pg_name = f"parvis_{self.name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
            with psycopg.connect(pg.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            self.env["DATABASE_URL"] = pg.rsplit("/", 1)[0] + "/" + self.pg_name
        else:
            self.env["DATABASE_URL"] = f"sqlite:///{self.var / 'parvis.sqlite3'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
        """Run a management command to completion; returns its standard output."""
        with self.log_path.open("ab") as log:
            done = subprocess.run(
                [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **(env or {})},
                stdout=subprocess.PIPE, stderr=log, timeout=timeout, check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed ({done.returncode}); see {self.log_path}")
        return done.stdout.decode()

    def python(self, code: str) -> str:
        """Run Python inside the instance (Django set up), e.g. to seed data or read state."""
        return self.manage("shell", "--no-imports", "-v0", "-c", code)

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT,
                                   env={**self.env, **(env or {})}, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def start_server(self, timeout: float = 30, port: int | None = None) -> subprocess.Popen[bytes]:
        """`manage.py serve` without its worker (tests start workers themselves if needed).
        With `port`, one more web process of the same instance (same database, same settings),
        as behind a load balancer."""
        if not (ROOT / "staticfiles" / "staticfiles.json").exists():
            self.manage("collectstatic", "--noinput", "-v0")
        port = port or self.port
        process = self.start("serve", "--no-worker", "--port", str(port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/connexion/", timeout=2) as response:
                    if response.status == 200:
                        return process
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def drop(self) -> None:
        self.stop()
        pg = _postgres_url()
        if pg and self.pg_name:
            with psycopg.connect(pg.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@contextmanager
def instance(root: Path, name: str, extra_env: dict[str, str] | None = None) -> Iterator[Instance]:
    """A migrated instance, dropped afterwards."""
    inst = Instance(root, name, extra_env)
    try:
        inst.manage("migrate", "-v0")
        yield inst
    finally:
        inst.drop()
