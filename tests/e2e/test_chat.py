"""The discussion in a real browser: two members of the finance commission (the maire, who
facilitates it, and Paul Durand, an elected member) write to each other and each sees the other's
messages arrive without reloading; a message written while the network is down is sent once when
it comes back; an edit shows as such on both screens; and a person of the commune who is not in
the commission gets neither the page nor its websocket. Every page visited is checked with axe
and must run without a JavaScript error or a CSP violation.

The seed (tests/e2e/conftest.py) turns the discussion on in the commission and writes a few
messages in its default channel. Tests add their own messages, each with words of its own, so
that they do not depend on each other's order.
"""

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ORG, Browsing, Parvis, shown

pytestmark = pytest.mark.e2e

SETTLE_MS = 1500  # how long a duplicate would take to show up, if there were one


def checked(visit: Browsing) -> None:
    """What every page visited must pass: axe (WCAG 2.1 A/AA), and a clean console."""
    visit.assert_accessible()
    visit.assert_clean()


def channel_path(parvis: Parvis) -> str:
    return f"{ORG}/e/finances/discussion/{parvis.ids['channel']}/"


def socket_frames(visit: Browsing, conversation: int) -> list[str]:
    return next(
        (frames for url, frames in visit.sockets.items() if url.endswith(f"/ws/discussion/{conversation}/")),
        [],
    )


def open_discussion(visit: Browsing, path: str, conversation: int) -> None:
    """Open a discussion page and wait until its island is live (the socket has answered the
    page's first sync)."""
    visit.go(path)
    deadline = time.monotonic() + 15
    while not any('"type":"sync"' in frame for frame in socket_frames(visit, conversation)):
        assert time.monotonic() < deadline, f"the discussion socket of {path} never synced"
        visit.page.wait_for_timeout(25)
    # A mark that a reload or a navigation would wipe out.
    visit.page.evaluate("window.__noReload = true")


def not_reloaded(visit: Browsing) -> bool:
    return bool(visit.page.evaluate("window.__noReload === true"))


def write(visit: Browsing, text: str) -> None:
    """Type a message in the composer and press Enter, as people do."""
    area = visit.page.locator("[data-composer] textarea")
    area.fill(text)
    area.press("Enter")


def shown_messages(visit: Browsing, text: str) -> Any:
    """The messages of the list (not the pending ones) that hold this text."""
    return visit.page.locator("[data-messages] li.msg:not(.is-pending)", has_text=text)


def pending(visit: Browsing) -> Any:
    return visit.page.locator("[data-messages] li.msg.is-pending")


def words() -> str:
    return uuid.uuid4().hex[:8]


def test_two_members_of_the_commission_see_each_others_messages_arrive_without_reloading(
    browse: Callable[..., Browsing], parvis: Parvis
) -> None:
    path, conversation = channel_path(parvis), parvis.ids["channel"]
    maire, elu = browse("maire"), browse("elu")
    open_discussion(maire, path, conversation)
    checked(maire)
    open_discussion(elu, path, conversation)
    checked(elu)
    # The seeded messages, rendered by the server: the first one with its Markdown bold.
    expect(elu.page.locator("[data-messages] li.msg strong", has_text="jeudi à 18 h")).to_be_visible()

    question = f"Le rapport {words()} est-il prêt ?"
    write(maire, question)
    expect(shown_messages(elu, question)).to_have_count(1)
    expect(shown_messages(elu, question).locator(".msg-author")).to_have_text("Claire Martin")
    expect(shown_messages(maire, question)).to_have_count(1)
    expect(pending(maire)).to_have_count(0)
    expect(maire.page.locator("[data-composer] textarea")).to_have_value("")

    answer = f"Oui, je l'envoie ce soir ({words()})."
    write(elu, answer)
    expect(shown_messages(maire, answer)).to_have_count(1)
    expect(shown_messages(maire, answer).locator(".msg-author")).to_have_text("Paul Durand")

    # In the order they were written, on both screens, each once, and nobody reloaded.
    for visit in (maire, elu):
        texts = visit.page.locator("[data-messages] li.msg .msg-body").all_inner_texts()
        assert texts[-2:] == [question, answer], texts
        visit.page.wait_for_timeout(SETTLE_MS // 3)
        expect(shown_messages(visit, question)).to_have_count(1)
        expect(shown_messages(visit, answer)).to_have_count(1)
        assert not_reloaded(visit)
        checked(visit)

    # What the server kept is what the screens show.
    maire.go(path)
    expect(shown_messages(maire, question)).to_have_count(1)
    expect(shown_messages(maire, answer)).to_have_count(1)


def test_a_person_of_the_commune_outside_the_commission_gets_neither_its_page_nor_its_socket(
    browse: Callable[..., Browsing], parvis: Parvis
) -> None:
    conversation = parvis.ids["channel"]
    nadia = browse("agent_rh")
    # "Not yours" looks exactly like "does not exist".
    nadia.go(channel_path(parvis), status=404)
    checked(nadia)
    nadia.go(f"{ORG}/e/finances/discussion/", status=404)
    nadia.go(f"{ORG}/e/finances/discussion/{conversation}/message/1/", status=404)

    # Her own page opening the commission's socket by hand: closed as "no access", and not one
    # frame of the conversation reaches her.
    nadia.go(f"{ORG}/")
    outcome = nadia.page.evaluate(
        """(path) => new Promise((resolve) => {
            const frames = [];
            const socket = new WebSocket(`ws://${location.host}${path}`);
            socket.addEventListener("message", (event) => frames.push(event.data));
            socket.addEventListener("close", (event) => resolve({code: event.code, frames}));
        })""",
        f"/ws/discussion/{conversation}/",
    )
    assert outcome == {"code": 4403, "frames": []}
    nadia.assert_clean()


def test_a_message_written_offline_is_sent_once_when_the_network_is_back(
    browse: Callable[..., Browsing], parvis: Parvis
) -> None:
    path, conversation = channel_path(parvis), parvis.ids["channel"]
    maire, elu = browse("maire"), browse("elu")
    open_discussion(maire, path, conversation)
    open_discussion(elu, path, conversation)

    maire.context.set_offline(True)
    expect(maire.page.locator("[data-chat-status]")).to_have_text(shown("Connection lost: trying again…"))
    text = f"Écrit dans le train, sans réseau ({words()})."
    write(maire, text)
    # Kept on her screen as being sent, and nowhere else yet.
    expect(pending(maire)).to_have_count(1)
    expect(pending(maire)).to_contain_text(shown("sending…"))
    expect(pending(maire)).to_contain_text(text)
    elu.page.wait_for_timeout(SETTLE_MS)
    expect(shown_messages(elu, text)).to_have_count(0)
    checked(maire)

    maire.context.set_offline(False)
    expect(shown_messages(elu, text)).to_have_count(1)
    expect(shown_messages(maire, text)).to_have_count(1)
    expect(pending(maire)).to_have_count(0)
    expect(maire.page.locator("[data-chat-status]")).to_have_text("")
    maire.page.wait_for_timeout(SETTLE_MS)
    for visit in (maire, elu):
        expect(shown_messages(visit, text)).to_have_count(1)
        assert not_reloaded(visit)
        checked(visit)

    # Stored once, and not sent again by a later visit (the page's outbox is empty).
    elu.go(path)
    expect(shown_messages(elu, text)).to_have_count(1)
    open_discussion(maire, path, conversation)
    maire.page.wait_for_timeout(SETTLE_MS)
    expect(shown_messages(maire, text)).to_have_count(1)
    expect(pending(maire)).to_have_count(0)


def test_an_edited_message_says_so_on_both_screens(browse: Callable[..., Browsing], parvis: Parvis) -> None:
    path, conversation = channel_path(parvis), parvis.ids["channel"]
    maire, elu = browse("maire"), browse("elu")
    open_discussion(maire, path, conversation)
    open_discussion(elu, path, conversation)
    tag = words()
    first = f"Réunion mardi ({tag})"
    write(maire, first)
    expect(shown_messages(elu, first)).to_have_count(1)
    edited = shown(  # the marker as the templates and the island render it
        "(edited)"
    )
    expect(shown_messages(elu, first).locator(".msg-edited")).to_have_count(0)

    mine = shown_messages(maire, first)
    mine.get_by_role("button", name=shown("Edit"), exact=True).click()
    area = mine.locator("form.msg-edit textarea")
    expect(area).to_be_focused()
    expect(area).to_have_value(first)
    checked(maire)
    corrected = f"Réunion jeudi ({tag})"
    area.fill(corrected)
    mine.get_by_role("button", name=shown("Save"), exact=True).click()

    for visit in (elu, maire):
        message = shown_messages(visit, corrected)
        expect(message).to_have_count(1)
        expect(message.locator(".msg-edited")).to_have_text(edited)
        expect(shown_messages(visit, first)).to_have_count(0)
        assert not_reloaded(visit)
        checked(visit)

    # The server renders the same marker.
    elu.go(path)
    expect(shown_messages(elu, corrected).locator(".msg-edited")).to_have_text(edited)
    assert "modifié" in edited
