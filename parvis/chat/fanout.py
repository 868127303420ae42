"""One subscription per process and group, then a local fan-out.

A channel of a space may have a thousand open pages. Giving each its own place in the channel
layer's group would make the layer carry a thousand copies of every message (a thousand Redis
list pushes and pops); instead each process joins a group once, with one channel of its own
(the hub), and hands what arrives to the pages it holds. Each page has its own small queue and
writer, so a slow browser delays nobody else, and one that falls too far behind is closed (it
reconnects and catches up from the database: the channel layer is allowed to forget).

Group memberships are renewed every minute: Redis may have restarted empty, and a group
expires after a day without renewal.
"""

import asyncio
import logging
import weakref
from collections import deque
from typing import Any, Protocol

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)
RENEW_SECONDS = 60.0
BACKLOG = 500  # frames waiting for one page before it is closed as too slow


class Listener(Protocol):
    def deliver(self, event: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.members: dict[str, set[Listener]] = {}
        self.lock = asyncio.Lock()
        self.tasks: list[asyncio.Task[None]] = []

    async def join(self, group: str, listener: Listener) -> None:
        async with self.lock:
            if self.channel is None:
                # The default prefix: channels_redis reads every channel of a process with one
                # receive loop, which only serves the channels of that one prefix.
                self.channel = await self.layer.new_channel()
                self.tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._renew())]
            members = self.members.setdefault(group, set())
            if not members:
                await self.layer.group_add(group, self.channel)
            members.add(listener)

    async def leave(self, group: str, listener: Listener) -> None:
        async with self.lock:
            members = self.members.get(group)
            if members is None:
                return
            members.discard(listener)
            if not members:
                del self.members[group]
                if self.channel is not None:
                    try:
                        await self.layer.group_discard(group, self.channel)
                    except Exception:
                        log.warning("chat hub: could not leave %s", group)

    async def _receive(self) -> None:
        assert self.channel is not None
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("chat hub: the channel layer did not answer", exc_info=True)
                await asyncio.sleep(1)
                continue
            for listener in tuple(self.members.get(event.get("group", ""), ())):
                try:
                    listener.deliver(event)
                except Exception:
                    log.exception("chat hub: delivery failed")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            for group in tuple(self.members):
                try:
                    await self.layer.group_add(group, self.channel)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("chat hub: could not renew %s", group)
                    break


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop (one per process under uvicorn)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found


class Outbox:
    """The frames waiting for one page, written in order by one task."""

    def __init__(self, send: Any, on_overflow: Any) -> None:
        self.frames: deque[str] = deque()
        self.ready = asyncio.Event()
        self.send = send
        self.on_overflow = on_overflow
        self.open = True
        self.task = asyncio.create_task(self._write())

    def push(self, text: str) -> None:
        if not self.open:
            return
        self.frames.append(text)
        if len(self.frames) > BACKLOG:
            self.open = False
            self.frames.clear()
            self.closing = asyncio.ensure_future(self.on_overflow())
            return
        self.ready.set()

    async def _write(self) -> None:
        while self.open:
            await self.ready.wait()
            self.ready.clear()
            while self.frames and self.open:
                await self.send(self.frames.popleft())

    def close(self) -> None:
        self.open = False
        self.frames.clear()
        self.task.cancel()
