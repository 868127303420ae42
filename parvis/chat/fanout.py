"""One subscription per process and group, then a local fan-out.

A channel of a space may have a thousand open pages. Giving each its own place in the channel
layer's group would make the layer carry a thousand copies of every message (a thousand Redis
list pushes and pops); instead each process joins a group once, with one channel of its own
(the hub), and hands what arrives to the pages it holds. Each page's frames go through its
Outbox, written at once when the server takes them at once, queued behind a send that waits
otherwise, so a slow browser delays nobody else; one that falls too far behind is closed (it
reconnects and catches up from the database: the channel layer is allowed to forget).

Group memberships are renewed every minute: Redis may have restarted empty, and a group
expires after a day without renewal.
"""

import asyncio
import contextvars
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
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
                # The hub is the process's, not the page's that happened to open first: its
                # tasks start from an empty context (not that page's thread, which ends with it).
                self.tasks = [
                    asyncio.create_task(self._receive(), context=contextvars.Context()),
                    asyncio.create_task(self._renew(), context=contextvars.Context()),
                ]
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


def start(coro: Coroutine[Any, Any, Any]) -> "Awaitable[Any] | None":
    """Run `coro` at once, up to its first wait: None if it finished without waiting (a
    server's `send` usually does: uvicorn writes into the socket's buffer and returns),
    otherwise an awaitable that finishes it. Python 3.12's eager tasks do the same. The part
    before the first wait runs in the caller's task (the hub's): a `send` that looked at
    `asyncio.current_task()` there (a timeout scope) would see the hub; uvicorn's does not."""
    try:
        first = coro.send(None)
    except StopIteration:
        return None
    return _Rest(coro, first)


class _Rest:
    """The rest of a coroutine that `start` ran until its first wait: awaiting it hands what
    the coroutine waits on to the task awaiting it, as `await` itself would (results,
    exceptions and cancellation go through unchanged)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        waiting_on = self.first
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:  # this awaitable is being closed: so is the coroutine
                self.coro.close()
                raise
            except BaseException as error:  # the awaiting task was cancelled: tell the coroutine
                try:
                    waiting_on = self.coro.throw(error)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting_on = self.coro.send(sent)
                except StopIteration as done:
                    return done.value


class Outbox:
    """The frames for one page, written in order.

    A frame is written at once, in the hub's loop, with no task of its own: a message to a
    thousand pages is a thousand calls, where a writer task per page cost a thousand task
    wake-ups on top (bench/g5_fanout.py). If a send has to wait (a server that applies
    back-pressure to a slow browser), the frames after it wait behind it and one task writes
    them in order; a page with more than BACKLOG frames waiting is closed (it reconnects and
    catches up from the database), so a slow browser delays nobody else."""

    def __init__(self, send: Callable[[str], Coroutine[Any, Any, Any]], on_overflow: Any) -> None:
        self.frames: deque[str] = deque()
        self.send = send
        self.on_overflow = on_overflow
        self.open = True
        self.task: asyncio.Task[None] | None = None

    def push(self, text: str) -> None:
        if not self.open:
            return
        if self.task is not None:  # a send is waiting: the order is kept behind it
            self.frames.append(text)
            if len(self.frames) > BACKLOG:
                self._give_up()
            return
        try:
            rest = start(self.send(text))
        except Exception:  # the page has gone (its socket closed under it)
            log.debug("chat: a frame could not be written", exc_info=True)
            self._give_up()
            return
        if rest is not None:
            self.task = asyncio.ensure_future(self._finish(rest))

    async def _finish(self, rest: "Awaitable[Any]") -> None:
        try:
            await rest
            while self.frames and self.open:
                await self.send(self.frames.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.debug("chat: a frame could not be written", exc_info=True)
            self.task = None
            self._give_up()
        finally:
            self.task = None

    def _give_up(self) -> None:
        """Write nothing more and close the page (4408): it reconnects and catches up."""
        self.close()
        self.closing = asyncio.ensure_future(self.on_overflow())

    def close(self) -> None:
        self.open = False
        self.frames.clear()
        if self.task is not None:
            self.task.cancel()
