"""Each websocket connection runs its synchronous work (session, user, database) in a thread of
its own, and keeps that thread: one person's action never waits behind another's."""

import asyncio
import threading
from typing import Any

from asgiref.sync import sync_to_async

from parvis.asgi import ThreadOfItsOwn


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
