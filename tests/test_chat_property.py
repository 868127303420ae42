"""Whatever the interleaving of sends, edits, disconnects, reconnects and lost events, every page
ends with the same ordered history as the database, with no duplicate.

Each page is a `Page`: a Python copy of what frontend/src/chat.js does with its websocket (the
same rules: apply a live event only if it is the next number, ask for a sync on a gap, ignore
events while a sync is running and ask again after it, keep the newest state of each message,
keep unacknowledged messages and send them again on reconnect). Hypothesis draws a list of steps
for three people in one channel; the pages talk to the real consumer (Channels'
WebsocketCommunicator on the ASGI application, the in-memory channel layer). A "drop" step
throws away the next live event a page has waiting, as a channel layer that forgets would.

At the end every page comes back, catches up (and, as the page does every 25 seconds, asks once
more), and must hold exactly the database's messages, in order, in their latest state; every
message written was stored exactly once, even those sent twice or written while offline.
"""

import os
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from parvis.chat import actions
from parvis.chat.models import Conversation, Message
from parvis.chat.sync import states
from parvis.chat.tests import support
from parvis.chat.tests.support import Socket, session_key
from parvis.core.tests.factories import make_org, make_space, make_user, member
from parvis.spaces.models import Role

EXAMPLES = int(os.environ.get("PARVIS_PROPERTY_EXAMPLES", "25"))
PEOPLE = 3
KINDS = ("send", "send", "resend", "edit", "disconnect", "reconnect", "drain", "drain", "drop", "ping")
steps = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, PEOPLE - 1)), min_size=1, max_size=24)


class Page:
    """One browser page of the channel, following chat.js's rules."""

    def __init__(self, conversation: Conversation, key: str, user_id: int) -> None:
        self.conversation, self.key, self.user_id = conversation, key, user_id
        self.socket: Socket | None = None
        self.last = 0
        self.syncing = False
        self.missed = False
        self.messages: dict[int, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []
        self.written: list[str] = []

    async def connect(self) -> None:
        self.socket = Socket(self.conversation.pk, self.key)
        assert (await self.socket.connect())["type"] == "ready"
        self.syncing = True
        await self.socket.send(type="sync", after=self.last)
        for item in self.outbox:
            await self.socket.send(type="post", **item)

    async def disconnect(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None
            self.syncing = False

    async def write(self, n: int) -> None:
        item = {"client_id": str(uuid.uuid4()), "body": f"message {n} de {self.user_id}", "parent": None}
        self.outbox.append(item)
        self.written.append(item["client_id"])
        if self.socket is not None:
            await self.socket.send(type="post", **item)

    async def resend(self) -> None:
        if self.socket is not None and self.outbox:
            await self.socket.send(type="post", **self.outbox[0])

    async def edit(self, n: int) -> None:
        mine = [m for m in self.messages.values() if m["author"] == self.user_id and not m["deleted"]]
        if self.socket is not None and mine:
            await self.socket.send(type="edit", id=mine[n % len(mine)]["id"], body=f"corrigé {n}")

    async def ping(self) -> None:
        if self.socket is not None and not self.syncing:
            self.syncing = True
            await self.socket.send(type="sync", after=self.last)

    async def drain(self, drop_one_event: bool = False) -> None:
        while self.socket is not None and not await self.socket.ws.receive_nothing(0.05, 0.01):
            frame = await self.socket.receive()
            if drop_one_event and frame["type"] == "event":
                drop_one_event = False
                continue
            await self.handle(frame)

    def apply(self, state: dict[str, Any]) -> None:
        shown = self.messages.get(state["id"])
        if shown is None or state["u"] >= shown["u"]:
            self.messages[state["id"]] = state

    async def handle(self, frame: dict[str, Any]) -> None:
        assert self.socket is not None
        kind = frame["type"]
        if kind == "sync":
            for state in frame["messages"]:
                self.apply(state)
            self.last = max(self.last, frame["head"])
            if frame["more"]:
                await self.socket.send(type="sync", after=self.last)
                return
            self.syncing = False
            if self.missed:
                self.missed = False
                self.syncing = True
                await self.socket.send(type="sync", after=self.last)
        elif kind == "event":
            if frame["seq"] <= self.last:
                return
            if self.syncing:
                self.missed = True
            elif frame["seq"] != self.last + 1:
                self.syncing = True
                await self.socket.send(type="sync", after=self.last)
            else:
                for state in frame["messages"]:
                    self.apply(state)
                self.last = frame["seq"]
        elif kind == "ack" and frame["action"] == "post":
            self.outbox = [i for i in self.outbox if i["client_id"] != frame["client_id"]]
        elif kind == "closed":
            raise AssertionError(f"the page was closed: {frame}")

    def history(self) -> list[tuple[int, int, int, str]]:
        return [
            (m["id"], m["seq"], m["u"], m["html"])
            for m in sorted(self.messages.values(), key=lambda m: m["seq"])
        ]


async def caught_up(page: Page, outbox_too: bool) -> None:
    """Wait (a bounded while) until the page's sync is answered and, if asked, its outbox
    acknowledged; the consumer works in the test's thread, so answers take their time."""
    for _ in range(100):
        await page.drain()
        if not page.syncing and not (outbox_too and page.outbox):
            return
    raise AssertionError("the page did not catch up")


async def settle(pages: list[Page]) -> None:
    """Every page back online with its outbox sent; then, once nobody writes any more, one
    more sync each (the page's periodic one, which finds a lost last event)."""
    for page in pages:
        if page.socket is None:
            await page.connect()
        await caught_up(page, outbox_too=True)
    for page in pages:
        await page.drain()
        await page.ping()
        await caught_up(page, outbox_too=True)


class EveryPageEndsWithTheSameHistory(TestCase):
    def setUp(self) -> None:
        org = make_org()
        space = make_space(org, "Commission", tools=["chat"])
        self.keys: list[str] = []
        self.people = []
        for _ in range(PEOPLE):
            user = make_user()
            member(org, user)
            space.memberships.create(user=user, role=Role.CONTRIBUTOR)
            client = Client()
            client.force_login(user)
            self.keys.append(session_key(client))
            self.people.append(user)
        self.space = space

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(steps)
    def test_the_same_ordered_history_and_no_duplicate(self, plan: list[tuple[str, int]]) -> None:
        channel = actions.create_channel(
            actions.Actor(self.people[0]), self.space, f"c-{uuid.uuid4().hex[:8]}"
        )
        pages = [Page(channel, key, user.pk) for key, user in zip(self.keys, self.people, strict=True)]

        async def scenario() -> None:
            for page in pages:
                await page.connect()
            for n, (kind, who) in enumerate(plan):
                page = pages[who]
                if kind == "send":
                    await page.write(n)
                elif kind == "resend":
                    await page.resend()
                elif kind == "edit":
                    await page.edit(n)
                elif kind == "disconnect":
                    await page.disconnect()
                elif kind == "reconnect" and page.socket is None:
                    await page.connect()
                elif kind == "drain":
                    await page.drain()
                elif kind == "drop":
                    await page.drain(drop_one_event=True)
                elif kind == "ping":
                    await page.ping()
            await settle(pages)
            for page in pages:
                await page.disconnect()

        with support.consumer_commits():
            async_to_sync(scenario)()
        stored = list(Message.objects.filter(conversation=channel).select_related("author").order_by("seq"))
        expected = [(s["id"], s["seq"], s["u"], s["html"]) for s in states(stored)]
        written = [c for page in pages for c in page.written]
        assert sorted(str(m.client_id) for m in stored) == sorted(written)  # each stored once
        for page in pages:
            assert page.outbox == []
            assert page.history() == expected
