"""The ClamAV daemon, over its INSTREAM protocol (unix socket or TCP).

`PARVIS_CLAMAV` names the daemon: a socket path (`/run/clamav/clamd.ctl`) or `host:port`.
Without it there is no antivirus and uploads are available at once.
"""

import socket
import struct
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

CHUNK = 64 * 1024


class ScanError(Exception):
    """The daemon could not give a verdict (down, too big, protocol error): try again later."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""


def _connect(address: str, timeout: float) -> socket.socket:
    if not address:
        # Switched off while versions still waited for it: they stay in quarantine.
        raise OSError("no antivirus configured (PARVIS_CLAMAV)")
    if address.startswith("/") or address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address.removeprefix("unix:"))
        except OSError:
            sock.close()
            raise
        return sock
    host, _, port = address.removeprefix("tcp:").rpartition(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def _response(sock: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\0").decode(errors="replace").strip()


def ping(address: str | None = None, timeout: float = 5) -> bool:
    try:
        with _connect(address or settings.PARVIS_CLAMAV, timeout) as sock:
            sock.sendall(b"zPING\0")
            return _response(sock) == "PONG"
    except (OSError, ValueError):
        return False


def scan(data: BinaryIO, address: str | None = None, timeout: float = 120) -> Verdict:
    """Stream the bytes to clamd. Raises ScanError when no verdict came (daemon down or busy,
    file above its StreamMaxLength): the file then stays in quarantine, to be scanned again."""
    try:
        with _connect(address or settings.PARVIS_CLAMAV, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            while chunk := data.read(CHUNK):
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            answer = _response(sock)
    except (OSError, ValueError) as error:  # ValueError: a malformed host:port
        raise ScanError(str(error)) from error
    if answer.endswith(" OK"):
        return Verdict(clean=True)
    if answer.endswith(" FOUND"):
        return Verdict(clean=False, signature=answer.removeprefix("stream:").removesuffix("FOUND").strip())
    raise ScanError(answer)
