"""The channel layer of a single process (no Redis): Channels' in-memory layer, sweeping for
expired messages and group memberships at most once a second.

Channels' own layer sweeps every channel and every group on each send and each receive. With a
thousand open pages (each in its person's and its session's groups) that sweep was a tenth of
the server's time when a message went to all of them (bench/g5_fanout.py). Expiry counts in
tens of seconds (messages) and a day (groups): a second more changes nothing anyone can see.
"""

import time
from typing import Any

from channels.layers import InMemoryChannelLayer

SWEEP_EVERY = 1.0


class InMemoryLayer(InMemoryChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.swept = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self.swept >= SWEEP_EVERY:
            self.swept = now
            super()._clean_expired()
