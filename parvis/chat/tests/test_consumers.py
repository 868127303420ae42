"""The discussion's websocket, with Channels' WebsocketCommunicator on the real ASGI application
and the in-memory channel layer: live news, resuming after a cut, idempotent sends, typing,
unread activity, and access (refused, lost, session ended)."""

import uuid

from django.urls import reverse

from parvis.chat import actions
from parvis.chat.models import Message
from parvis.chat.tests.support import Socket, committed, session_key
from parvis.core.audit import Actor
from parvis.spaces.actions import remove_space_member
from parvis.spaces.models import SpaceMembership


def general(w):  # type: ignore[no-untyped-def]
    return actions.ensure_default_channel(w.commission)


def test_a_message_posted_by_one_reaches_the_other_in_order(chat_world, signed_in, realtime):
    channel = general(chat_world)
    maire, elu = session_key(signed_in("maire")), session_key(signed_in("elu"))

    async def scenario() -> None:
        a, b = Socket(channel.pk, maire), Socket(channel.pk, elu)
        assert (await a.connect())["type"] == "ready"
        assert (await b.connect())["type"] == "ready"
        for n in range(3):
            await a.send(type="post", client_id=str(uuid.uuid4()), body=f"Point **{n}**")
            ack = await a.until("ack")
            assert ack["created"] is True
        seqs = []
        for _ in range(3):
            event = await b.until("event")
            seqs.append(event["seq"])
            assert event["messages"][0]["html"].startswith("<p>Point <strong>")
        assert seqs == [1, 2, 3]
        await a.close()
        await b.close()

    realtime(scenario)
    assert Message.objects.filter(conversation=channel).count() == 3


def test_a_reconnecting_page_gets_what_it_missed_once_and_in_order(chat_world, signed_in, realtime):
    channel = general(chat_world)
    elu = session_key(signed_in("elu"))
    by_maire = Actor(chat_world.maire)
    first = actions.post_message(by_maire, channel, "Avant la coupure").message

    async def scenario() -> None:
        page = Socket(channel.pk, elu)
        await page.connect()
        await page.send(type="sync", after=0)
        sync = await page.until("sync")
        assert [m["id"] for m in sync["messages"]] == [first.pk]
        assert sync["head"] == 1
        await page.close()
        # Offline: two messages and an edit of the first.
        await committed(lambda: actions.post_message(by_maire, channel, "Pendant 1"))
        await committed(lambda: actions.post_message(by_maire, channel, "Pendant 2"))
        await committed(
            lambda: actions.edit_message(by_maire, Message.objects.get(pk=first.pk), "Avant (corrigé)")
        )
        again = Socket(channel.pk, elu)
        await again.connect()
        await again.send(type="sync", after=1)
        sync = await again.until("sync")
        assert [(m["seq"], m["u"]) for m in sync["messages"]] == [(2, 2), (3, 3), (1, 4)]
        assert sync["messages"][2]["edited"] is True
        assert sync["head"] == 4
        await again.send(type="sync", after=4)
        assert (await again.until("sync"))["messages"] == []
        await again.close()

    realtime(scenario)


def test_a_message_sent_again_with_the_same_client_id_is_stored_once(chat_world, signed_in, realtime):
    channel = general(chat_world)
    elu = session_key(signed_in("elu"))
    client_id = str(uuid.uuid4())

    async def scenario() -> None:
        page = Socket(channel.pk, elu)
        await page.connect()
        await page.send(type="post", client_id=client_id, body="Une seule fois")
        first = await page.until("ack")
        await page.close()
        back = Socket(channel.pk, elu)  # the page did not see the answer: it sends again
        await back.connect()
        await back.send(type="post", client_id=client_id, body="Une seule fois")
        second = await back.until("ack")
        assert second["id"] == first["id"]
        assert second["created"] is False
        await back.close()

    realtime(scenario)
    assert Message.objects.filter(conversation=channel, client_id=client_id).count() == 1


def test_someone_outside_the_space_is_refused_with_4403(chat_world, signed_in, realtime):
    channel = general(chat_world)
    agent = session_key(signed_in("agent_rh"))  # not in the private commission

    async def scenario() -> None:
        page = Socket(channel.pk, agent)
        assert await page.connect() == {"type": "closed", "code": 4403}

    realtime(scenario)


def test_an_anonymous_visitor_is_closed_with_4401(chat_world, realtime):
    channel = general(chat_world)

    async def scenario() -> None:
        assert await Socket(channel.pk, None).connect() == {"type": "closed", "code": 4401}

    realtime(scenario)


def test_removing_a_member_closes_her_page_at_once_and_she_receives_nothing_more(
    chat_world, signed_in, realtime
):
    channel = general(chat_world)
    elu = session_key(signed_in("elu"))
    membership = SpaceMembership.objects.get(space=chat_world.commission, user=chat_world.elu)

    async def scenario() -> None:
        page = Socket(channel.pk, elu)
        await page.connect()
        await committed(lambda: remove_space_member(Actor(chat_world.maire), membership))
        assert await page.receive() == {"type": "closed", "code": 4403}
        await committed(lambda: actions.post_message(Actor(chat_world.maire), channel, "Après son départ"))
        assert await page.nothing_more()

    realtime(scenario)


def test_ending_the_session_closes_the_page_with_4401(chat_world, signed_in, realtime):
    channel = general(chat_world)
    client = signed_in("elu")
    key = session_key(client)

    async def scenario() -> None:
        page = Socket(channel.pk, key)
        await page.connect()
        await committed(lambda: client.post(reverse("core:logout")))
        assert await page.until("closed") == {"type": "closed", "code": 4401}

    realtime(scenario)


def test_typing_reaches_the_other_pages_of_the_conversation_only(chat_world, signed_in, realtime):
    channel = general(chat_world)
    other = actions.create_channel(Actor(chat_world.maire), chat_world.commission, "Budget")
    maire, elu = session_key(signed_in("maire")), session_key(signed_in("elu"))

    async def scenario() -> None:
        writer, reader, elsewhere = (
            Socket(channel.pk, elu),
            Socket(channel.pk, maire),
            Socket(other.pk, maire),
        )
        for page in (writer, reader, elsewhere):
            await page.connect()
        await writer.send(type="typing")
        frame = await reader.until("typing")
        assert frame["user"] == chat_world.elu.pk
        assert frame["name"] == "Paul Durand"
        assert await elsewhere.nothing_more()
        for page in (writer, reader, elsewhere):
            await page.close()

    realtime(scenario)


def test_other_channels_of_the_space_hear_of_activity_for_their_unread_counts(
    chat_world, signed_in, realtime
):
    channel = general(chat_world)
    other = actions.create_channel(Actor(chat_world.maire), chat_world.commission, "Budget")
    maire, elu = session_key(signed_in("maire")), session_key(signed_in("elu"))

    async def scenario() -> None:
        writer, elsewhere = Socket(channel.pk, elu), Socket(other.pk, maire)
        await writer.connect()
        await elsewhere.connect()
        await writer.send(type="post", client_id=str(uuid.uuid4()), body="Bonjour")
        activity = await elsewhere.until("activity")
        assert activity == {
            "type": "activity",
            "conversation": channel.pk,
            "seq": 1,
            "new": chat_world.elu.pk,
        }
        await writer.close()
        await elsewhere.close()

    realtime(scenario)


def test_edits_reactions_and_deletions_arrive_as_numbered_states(chat_world, signed_in, realtime):
    channel = general(chat_world)
    maire, elu = session_key(signed_in("maire")), session_key(signed_in("elu"))

    async def scenario() -> None:
        author, reader = Socket(channel.pk, elu), Socket(channel.pk, maire)
        await author.connect()
        await reader.connect()
        await author.send(type="post", client_id=str(uuid.uuid4()), body="Brouillon")
        pk = (await author.until("ack"))["id"]
        await author.send(type="edit", id=pk, body="Version finale")
        await reader.send(type="react", id=pk, emoji="👍")
        await author.send(type="delete", id=pk)
        states = [(await reader.until("event"))["messages"][0] for _ in range(4)]
        assert [s["u"] for s in states] == [1, 2, 3, 4]
        assert states[1]["edited"]
        assert "Version finale" in states[1]["html"]
        assert states[2]["reactions"] == [["👍", [chat_world.maire.pk]]]
        assert states[3]["deleted"]
        assert states[3]["html"] == ""
        assert states[3]["reactions"] == []
        await author.close()
        await reader.close()

    realtime(scenario)


def test_a_reader_may_not_edit_or_delete_someone_elses_message(chat_world, signed_in, realtime):
    channel = general(chat_world)
    message = actions.post_message(Actor(chat_world.maire), channel, "Du maire").message
    elu = session_key(signed_in("elu"))

    async def scenario() -> None:
        page = Socket(channel.pk, elu)
        await page.connect()
        await page.send(type="edit", id=message.pk, body="Falsifié")
        refusal = await page.until("error")
        assert refusal["message"] == "Vous ne pouvez pas faire cela dans cette conversation."
        await page.send(type="delete", id=message.pk)
        assert (await page.until("error"))["action"] == "delete"
        await page.close()

    realtime(scenario)
    message.refresh_from_db()
    assert message.body == "Du maire"
    assert not message.is_deleted


def test_a_private_message_reaches_the_other_participant_and_not_a_colleague(chat_world, signed_in, realtime):
    direct = actions.start_direct(Actor(chat_world.maire), chat_world.org, [chat_world.elu])
    maire, elu, agent = (session_key(signed_in(p)) for p in ("maire", "elu", "agent_rh"))

    async def scenario() -> None:
        sender, receiver = Socket(direct.pk, maire), Socket(direct.pk, elu)
        await sender.connect()
        await receiver.connect()
        assert await Socket(direct.pk, agent).connect() == {"type": "closed", "code": 4403}
        await sender.send(type="post", client_id=str(uuid.uuid4()), body="Entre nous")
        event = await receiver.until("event")
        assert event["conversation"] == direct.pk
        assert "Entre nous" in event["messages"][0]["html"]
        await sender.close()
        await receiver.close()

    realtime(scenario)
