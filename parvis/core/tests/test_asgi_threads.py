"""Each websocket connection runs its synchronous work (session, user, database) in a thread of
its own, and keeps that thread: one person's action never waits behind another's. Threads are
lent again once a request or a connection has ended well, never to two at once."""

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async

from parvis.asgi import ThreadOfItsOwn, Threads


def test_each_connection_has_a_thread_of_its_own_and_keeps_it():
    seen: dict[int, list[int]] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        for _ in range(2):
            seen.setdefault(scope["n"], []).append(await sync_to_async(threading.get_ident)())

    wrapped = ThreadOfItsOwn(app)

    async def two_connections() -> None:
        await asyncio.gather(wrapped({"n": 1}, None, None), wrapped({"n": 2}, None, None))

    asyncio.run(two_connections())
    assert seen[1][0] == seen[1][1]
    assert seen[2][0] == seen[2][1]
    assert seen[1][0] != seen[2][0]


def thread_in(threads: Threads) -> threading.Thread:
    async def one() -> threading.Thread:
        async with threads.lent():
            return await sync_to_async(threading.current_thread)()

    return asyncio.run(one())


def test_a_thread_is_lent_again_once_its_request_has_ended():
    threads = Threads()
    first = thread_in(threads)
    assert thread_in(threads) is first
    assert first is not threading.current_thread()


def test_a_thread_whose_request_failed_is_not_lent_again():
    threads = Threads()
    seen = []

    async def failing() -> None:
        async with threads.lent():
            seen.append(await sync_to_async(threading.current_thread)())
            raise RuntimeError("the view failed")

    with pytest.raises(RuntimeError):
        asyncio.run(failing())
    assert threads.idle == []
    assert thread_in(threads) is not seen[0]


def test_django_runs_a_request_in_the_lent_thread():
    """Django's own per-request context takes the lent thread instead of starting one."""
    threads = Threads()
    lent = thread_in(threads)
    ran_in = []

    @sync_to_async
    def view_work() -> None:
        ran_in.append(threading.current_thread())

    async def request() -> None:
        async with threads.lent(), ThreadSensitiveContext():  # as ASGIHandler.__call__ does
            await view_work()

    asyncio.run(request())
    assert ran_in[0] is lent
