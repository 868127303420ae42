"""An SMTP sink for e-mail tests: a real SMTP server (aiosmtpd) on a free 127.0.0.1 port that
keeps every message it accepts. Parvis talks to it with Django's SMTP backend, in the test
process (override EMAIL_* settings) or from a real instance (EMAIL_HOST / EMAIL_PORT).

    with SmtpSink() as sink:
        ...  # send
        sink.wait_for(2)
        [m.subject for m in sink.received]
"""

import email
import email.policy
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.instance import free_port


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it: the envelope, the raw bytes and the parsed mail."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def subject(self) -> str:
        """The Subject header, RFC 2047 decoded."""
        return str(self.message["Subject"])

    @property
    def raw_subject(self) -> str:
        """The Subject header as it travelled (encoded words and all)."""
        raw = email.message_from_bytes(self.raw, policy=email.policy.compat32)
        return str(raw["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()

    def part(self, content_type: str) -> str:
        body = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert body is not None, f"no {content_type} part"
        return str(body.get_content())


class _Handler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=raw,
                    message=message,
                )
            )
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.received if address in m.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """Wait until at least `count` messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.received)}")

    @property
    def env(self) -> dict[str, str]:
        """Environment that points a real Parvis instance at this sink."""
        return {"EMAIL_HOST": self.host, "EMAIL_PORT": str(self.port)}
