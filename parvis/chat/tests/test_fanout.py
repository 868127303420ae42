"""The page's Outbox (chat/fanout.py): frames are written at once when the server takes them
at once, in order behind a send that has to wait, and a page that falls too far behind is
closed without holding up anyone else."""

import asyncio

import pytest

from parvis.chat import fanout
from parvis.chat.fanout import Outbox, start


class Page:
    """A browser's socket: takes frames at once, or waits while `held` is set."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.held: asyncio.Event | None = None
        self.closed = 0

    async def send(self, text: str) -> None:
        if self.held is not None:
            await self.held.wait()
        self.got.append(text)

    async def too_slow(self) -> None:
        self.closed += 1


def test_a_frame_the_server_takes_at_once_is_written_before_push_returns():
    async def scenario() -> None:
        page = Page()
        box = Outbox(page.send, page.too_slow)
        box.push("a")
        box.push("b")
        assert page.got == ["a", "b"]
        assert box.task is None

    asyncio.run(scenario())


def test_frames_behind_a_waiting_send_are_written_in_order_once_it_is_done():
    async def scenario() -> None:
        page = Page()
        page.held = asyncio.Event()
        box = Outbox(page.send, page.too_slow)
        for text in "abc":
            box.push(text)
        await asyncio.sleep(0)
        assert page.got == []
        page.held.set()
        await asyncio.sleep(0.01)
        page.held = None
        box.push("d")
        assert page.got == ["a", "b", "c", "d"]

    asyncio.run(scenario())


def test_a_page_too_far_behind_is_closed_and_gets_nothing_more(monkeypatch):
    monkeypatch.setattr(fanout, "BACKLOG", 3)

    async def scenario() -> None:
        slow, quick = Page(), Page()
        slow.held = asyncio.Event()
        boxes = [Outbox(slow.send, slow.too_slow), Outbox(quick.send, quick.too_slow)]
        for n in range(6):
            for box in boxes:
                box.push(str(n))
        await asyncio.sleep(0.01)
        assert quick.got == [str(n) for n in range(6)]
        assert slow.closed == 1
        slow.held.set()
        await asyncio.sleep(0.01)
        assert slow.got == []  # what waited was dropped with the page: it resyncs on reconnect

    asyncio.run(scenario())


def test_start_gives_the_result_the_exception_and_the_cancellation_of_the_coroutine():
    async def later(value: int) -> int:
        await asyncio.sleep(0)
        return value * 2

    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("gone")

    async def scenario() -> None:
        rest = start(later(21))
        assert rest is not None
        assert await rest == 42
        rest = start(failing())
        with pytest.raises(ValueError, match="gone"):
            await rest  # type: ignore[misc]
        gate = asyncio.Event()
        cancelled = []

        async def waits() -> None:
            try:
                await gate.wait()
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        task = asyncio.ensure_future(start(waits()))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert cancelled == [True]

    asyncio.run(scenario())
