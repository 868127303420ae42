"""What the benchmarks of the documents app (G1–G4) share: a real Parvis with the production
settings (as tests/support/instance.py starts one, but pinned to a CPU with taskset), nginx with
the configuration of docs/deploy.md §3, wsgidav's own FilesystemProvider under cheroot (the
peer), curl as the load generator, medians and the results file.

Protocol (shared/reference/performance-anchors.md, Part 3): servers on CPU 0, load generator
on CPU 1, loopback only, peer and Parvis alternating in the same run, ratio of medians. Every
server this module starts is stopped by its PID (`Servers.stop`), also on failure.

The scripts import this file as a sibling (`python bench/g1_download.py`); nothing here imports
Django, which runs only in the Parvis processes (`manage.py`).
"""

import base64
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = ROOT / "var" / "bench"  # data, logs, results; deleted data at the end of each script
RESULTS = WORK / "results"
TOOLS = ROOT / "var" / "bench-tools"  # pip install --target var/bench-tools -r bench/requirements.txt
PY = sys.executable
SERVER_CPU = "0"
CLIENT_CPU = "1"
PG_BENCH = "postgres://postgres@127.0.0.1:5432/parvis_bench"
LOAD_AT_START = os.getloadavg()


def pinned(cpu: str, *command: str) -> list[str]:
    return (
        ["taskset", "-c", cpu, *command]
        if shutil.which("taskset") and (os.cpu_count() or 1) > 1
        else [*command]
    )


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children (the web processes under `serve --processes`)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(proc.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def redis_server(running: Any) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing (apt-get install redis-server)")
    port = free_port()
    directory = WORK / "redis"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    running.start(
        pinned(
            SERVER_CPU,
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ),
        directory / "out.log",
    )
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False).stdout:
            break
        time.sleep(0.1)
    return f"redis://127.0.0.1:{port}/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(
    url: str, ok: Callable[[int], bool], process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server stopped (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            time.sleep(0.2)
            continue
        if ok(status):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"{min(values):.0f}–{max(values):.0f}"


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": mem,
        "python": platform.python_version(),
        "kernel": platform.release(),
        # Other work on the machine during the run (the box is shared): 1, 5 and 15 min.
        "loadavg_at_start": list(LOAD_AT_START),
        "loadavg_at_end": list(os.getloadavg()),
    }


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), "command": command(), **data}, indent=2))
    print(f"→ {path.relative_to(ROOT)}")
    return path


def command() -> str:
    script = Path(sys.argv[0]).resolve().relative_to(ROOT)
    return " ".join([".venv/bin/python", str(script), *sys.argv[1:]])


def db_label(database: str) -> str:
    return "postgresql" if database.startswith("postgres") else "sqlite"


# --- Processes ----------------------------------------------------------------------------------


@dataclass
class Servers:
    """Every process a benchmark starts, stopped by PID at the end."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, command: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()


@contextmanager
def servers() -> Iterator[Servers]:
    running = Servers()
    try:
        yield running
    finally:
        running.stop()


# --- Parvis -------------------------------------------------------------------------------------


@dataclass
class Parvis:
    """One Parvis instance: its var/ folder and database, and the servers started on them."""

    var: Path
    database: str
    secret_key: str = field(default_factory=lambda: "bench-" + uuid.uuid4().hex)

    @property
    def logs(self) -> Path:
        """Kept after the instance is removed."""
        path = WORK / "logs" / self.var.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO", "PARVIS_"))}
        return {
            **keep,
            "DJANGO_SETTINGS_MODULE": "parvis.settings",
            "PARVIS_VAR_DIR": str(self.var),
            "PARVIS_LOG_FILE": str(self.logs / "parvis.log"),
            "DATABASE_URL": self.database,
            "SECRET_KEY": self.secret_key,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "PYTHONUNBUFFERED": "1",
            # PostgreSQL connections come from the default pool (DATABASE_POOL_SIZE, settings.py).
            **extra,
        }

    def manage(self, *args: str, timeout: float = 1800) -> str:
        log = self.logs / "manage.log"
        with log.open("ab") as err:
            done = subprocess.run(
                [PY, "manage.py", *args],
                cwd=ROOT,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=err,
                timeout=timeout,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed ({done.returncode}); see {log}")
        return done.stdout.decode()

    def seed(self, function: str, **kwargs: Any) -> Any:
        """Run bench/seed.py's `function(**kwargs)` inside the instance; returns its JSON."""
        code = (
            "import json, sys; sys.path.insert(0, 'bench'); import seed; "
            f"print('@@' + json.dumps(seed.{function}(**json.loads({json.dumps(json.dumps(kwargs))}))))"
        )
        out = self.manage("shell", "--no-imports", "-v0", "-c", code)
        line = next(x for x in reversed(out.splitlines()) if x.startswith("@@"))
        return json.loads(line[2:])

    def serve(self, running: Servers, port: int, processes: int = 1, **extra_env: str) -> str:
        """One web process on the server's CPU, or several (`serve --processes`, which needs
        REDIS_URL in `extra_env`) free to use every CPU."""
        cpus = SERVER_CPU if processes == 1 else ",".join(str(n) for n in range(os.cpu_count() or 1))
        command = ["manage.py", "serve", "--no-worker", "--port", str(port), "--processes", str(processes)]
        process = running.start(
            pinned(cpus, PY, *command),
            self.logs / f"serve-{port}.log",
            self.env(SITE_URL=f"http://127.0.0.1:{port}", **extra_env),
        )
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/dav/", lambda status: status == 401, process)
        return url


@contextmanager
def parvis(name: str, database: str) -> Iterator[Parvis]:
    """A migrated instance under var/bench/NAME, removed afterwards (its database too)."""
    var = WORK / name
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    if database.startswith("postgres"):
        recreate_postgres(database)
    else:
        database = f"sqlite:///{var / 'parvis.sqlite3'}"
    inst = Parvis(var, database)
    try:
        inst.manage("migrate", "-v0")
        yield inst
    finally:
        if database.startswith("postgres"):
            drop_postgres(database)
        shutil.rmtree(var, ignore_errors=True)


def _postgres(database: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def recreate_postgres(database: str) -> None:
    name = database.rsplit("/", 1)[1]
    _postgres(database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _postgres(database, f'CREATE DATABASE "{name}"')


def drop_postgres(database: str) -> None:
    _postgres(database, f'DROP DATABASE IF EXISTS "{database.rsplit("/", 1)[1]}" WITH (FORCE)')


# --- Peers --------------------------------------------------------------------------------------

NGINX_CONF = """
worker_processes 1;
{affinity}
user root;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    upstream parvis {{ server 127.0.0.1:{upstream}; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 20g;
        proxy_request_buffering off;
        {extra}
        # The peer of G1: the same blob files, served from disk by nginx itself.
        location /static-blobs/ {{
            alias {blobs}/;
        }}
        # docs/deploy.md §3: Parvis answers X-Accel-Redirect, nginx sends the file.
        location /_blobs/ {{
            internal;
            alias {blobs}/;
        }}
        location / {{
            proxy_pass http://parvis;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1h;
            proxy_buffering off;
        }}
    }}
}}
"""


def nginx(running: Servers, blobs: Path, upstream: int, cpus: str = SERVER_CPU, extra: str = "") -> str:
    """nginx on `cpus` ("0", or "0,1" to let it run on both); `extra`: more directives of the
    server block."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is missing: make system-bench-deps")
    directory = WORK / "nginx"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    port = free_port()
    pin = cpus == SERVER_CPU and (os.cpu_count() or 1) > 1
    affinity = "worker_cpu_affinity 01;" if pin else ""
    conf = directory / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            dir=directory, blobs=blobs, upstream=upstream, port=port, affinity=affinity, extra=extra
        )
    )
    process = running.start(
        pinned(cpus, binary, "-p", str(directory), "-c", str(conf)), directory / "out.log"
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/static-blobs/", lambda status: status in (403, 404), process)
    return url


def wsgidav(running: Servers, root: Path) -> str:
    """wsgidav 4.4's FilesystemProvider on `root`, under cheroot, as its CLI would serve it
    (anonymous, in-memory lock and property managers), pinned like Parvis."""
    if not (TOOLS / "cheroot").exists():
        raise SystemExit(
            f"cheroot is missing: {PY} -m pip install --target {TOOLS} -r bench/requirements.txt"
        )
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    process = running.start(
        pinned(SERVER_CPU, PY, str(BENCH / "wsgidav_peer.py"), str(root), str(port)),
        WORK / "logs" / f"wsgidav-{port}.log",
        env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", lambda status: status in (200, 207), process)
    return url


# --- Load generator -----------------------------------------------------------------------------


def basic(email: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{secret}".encode()).decode()


def curl(*args: str) -> dict[str, float]:
    """One transfer by curl, pinned to the client CPU; its timings and status."""
    fmt = '{"code": %{http_code}, "time": %{time_total}, "size": %{size_download}, "up": %{size_upload}}'
    done = subprocess.run(
        pinned(CLIENT_CPU, "curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", fmt, *args),
        capture_output=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def drop_page_cache_of_writes() -> None:
    """Before a durable-write measurement: nothing dirty left from the previous one."""
    os.sync()
    time.sleep(1)
