"""A real ClamAV daemon for the antivirus tests, without freshclam and without the internet.

ClamAV ships no signatures of its own, so the fixture writes one: the MD5 hash signature of the
EICAR test file, made by `sigtool --md5` (an `.hdb` database), in a temporary folder beside a
clamd.conf that listens on a unix socket there (`Foreground yes`, `StreamMaxLength 100M`). The
daemon is started, waited for until it answers PING, and stopped afterwards.

A missing clamd or sigtool skips the tests on a developer's machine and fails them in CI
(CI=true): nothing may be skipped there for lack of a tool.

    def test_…(clamd: Clamd, settings): settings.PARVIS_CLAMAV = clamd.address
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# The standard antivirus test file (https://www.eicar.org/download-anti-malware-testfile/),
# assembled from two halves so that no scanner flags this source file itself.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
# A 3 MB sample whose hash is in the database too: found only if clamd got every byte.
LARGE_SAMPLE = bytes(range(256)) * (3 * 4096)
START_TIMEOUT = 60.0


def missing(message: str) -> None:
    """A skip on a developer's machine, a failure in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def ping(address: str, timeout: float = 2.0) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"zPING\0")
            return sock.recv(64).rstrip(b"\0") == b"PONG"
    except OSError:
        return False


class Clamd:
    """One clamd process with its own signature database, config and socket."""

    def __init__(self) -> None:
        clamd, sigtool = shutil.which("clamd") or "/usr/sbin/clamd", shutil.which("sigtool")
        if not Path(clamd).exists() or sigtool is None:
            missing("clamd and sigtool are not installed (make system-test-deps)")
        self.program = clamd
        # A short folder: a unix socket path has at most 107 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="clamd-"))
        self.address = str(self.dir / "clamd.sock")
        self.log = self.dir / "clamd.log"
        self.process: subprocess.Popen[bytes] | None = None
        (self.dir / "db").mkdir()
        signatures = []
        for name, data in (("eicar.com", EICAR), ("parvis-large-sample", LARGE_SAMPLE)):
            sample = self.dir / name
            sample.write_bytes(data)
            signatures.append(
                subprocess.run(
                    [sigtool, "--md5", str(sample)], check=True, capture_output=True, timeout=30
                ).stdout
            )
            sample.unlink()
        (self.dir / "db" / "test.hdb").write_bytes(b"".join(signatures))
        self.config = self.dir / "clamd.conf"
        self.config.write_text(
            "\n".join(
                [
                    f"DatabaseDirectory {self.dir / 'db'}",
                    f"LocalSocket {self.address}",
                    f"TemporaryDirectory {self.dir}",
                    f"LogFile {self.log}",
                    "Foreground yes",
                    "StreamMaxLength 100M",
                    "MaxThreads 4",
                    "",
                ]
            )
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.program, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not ping(self.address):
            if self.process.poll() is not None:
                log = self.log.read_text(errors="replace") if self.log.exists() else ""
                pytest.fail(f"clamd stopped at start ({self.process.returncode}):\n{log[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"clamd did not answer PING within {START_TIMEOUT:.0f}s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        Path(self.address).unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None and ping(self.address)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def clamd_daemon() -> Iterator[Clamd]:
    """One running clamd per test process."""
    daemon = Clamd()
    daemon.start()
    yield daemon
    daemon.remove()


@pytest.fixture
def clamd(clamd_daemon: Clamd) -> Clamd:
    """The shared daemon, started again if a test stopped it."""
    if not clamd_daemon.running:
        clamd_daemon.start()
    return clamd_daemon
