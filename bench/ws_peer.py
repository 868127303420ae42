"""The peer of G5: a bare `websockets` broadcast server, the Python floor of a chat fan-out.

Every connection is a listener; a text frame `{"type": "post", "client_id": …, "body": …}`
from any of them is answered with an `ack` and broadcast to every connection (the sender's
too, as Parvis sends it to every page of the space) as an `event` frame
shaped and sized like Parvis's (the message's state whole), with `websockets.broadcast` — no
database, no session, no rights, no queue per listener.

    python bench/ws_peer.py PORT
"""

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

listeners: set[ServerConnection] = set()
state = {"seq": 0}


def event(seq: int, body: str, author: int) -> str:
    message: dict[str, Any] = {
        "id": seq,
        "seq": seq,
        "u": seq,
        "parent": None,
        "author": author,
        "name": "Élu Conseiller",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "html": f"<p>{body}</p>",
        "src": body,
        "edited": False,
        "deleted": False,
        "reactions": [],
        "replies": 0,
        "files": [],
        "links": [],
    }
    payload = {"type": "event", "conversation": 1, "seq": seq, "messages": [message]}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def handler(connection: ServerConnection) -> None:
    await connection.send(json.dumps({"type": "ready", "conversation": 1}))
    listeners.add(connection)
    try:
        async for frame in connection:
            content = json.loads(frame)
            if content.get("type") == "sync":
                await connection.send(json.dumps({"type": "sync", "messages": [], "head": state["seq"]}))
            elif content.get("type") == "post":
                state["seq"] += 1
                seq = state["seq"]
                await connection.send(
                    json.dumps({"type": "ack", "client_id": content.get("client_id"), "seq": seq})
                )
                broadcast(listeners, event(seq, str(content.get("body")), id(connection) % 1000))
    finally:
        listeners.discard(connection)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, max_queue=None):
        await asyncio.Future()


if __name__ == "__main__":
    import uvloop  # the event loop uvicorn runs Parvis on

    uvloop.run(main(int(sys.argv[1])))
