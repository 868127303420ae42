"""Every websocket route × every persona, as the permission matrix does for URLs: the first
frame each must get (the route's greeting, or the close code). A route without an entry fails
`test_every_websocket_route_has_an_entry`.

The discussion's socket is tried on the private commission's channel (maire facilitates,
secretaire administers, elu contributes; nobody else may read it), on the maire and elu's
private conversation, and on Val-de-Brume's channel, where only its own people get in.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from parvis.chat import actions
from parvis.chat.tests.support import Socket, chat_on, realtime, session_key  # noqa: F401 (a fixture)
from parvis.core.audit import Actor
from parvis.core.models import User
from parvis.core.tests.factories import World, build_world
from parvis.routing import websocket_urlpatterns
from tests.test_permission_matrix import PERSONAS

READY, UNREAD, SIGNED_OUT, REFUSED = "ready", "unread", 4401, 4403


def expect(default: str | int, **by_persona: str | int) -> dict[str, str | int]:
    return {p: by_persona.get(p, default) for p in PERSONAS} | {"anonyme": SIGNED_OUT}


def paths(w: World) -> dict[str, str]:
    channel = actions.ensure_default_channel(w.commission)
    direct = actions.start_direct(Actor(w.maire), w.org, [w.elu])
    other = actions.ensure_default_channel(w.other_space)
    return {
        "channel": f"/ws/discussion/{channel.pk}/",
        "direct": f"/ws/discussion/{direct.pk}/",
        "other": f"/ws/discussion/{other.pk}/",
        "missing": "/ws/discussion/999999/",
        "notifications": "/ws/notifications/",
    }


# route name -> [(which path, expected first frame per persona)]
WS_MATRIX: dict[str, list[tuple[str, dict[str, str | int]]]] = {
    "ws_notifications": [("notifications", expect(UNREAD))],
    "ws_chat": [
        ("channel", expect(REFUSED, maire=READY, secretaire=READY, elu=READY)),
        ("direct", expect(REFUSED, maire=READY, elu=READY)),
        ("other", expect(REFUSED, inconnu=READY, dpo=READY)),
        ("missing", expect(REFUSED)),
    ],
}


def test_every_websocket_route_has_an_entry() -> None:
    names = {p.name for p in websocket_urlpatterns}
    assert names == set(WS_MATRIX)


def first_frame(path: str, key: str | None, run: Callable[[Callable[[], Any]], None]) -> str | int:
    found: list[str | int] = []

    async def scenario() -> None:
        socket = Socket(0, key, path=path)
        frame = await socket.connect()
        found.append(frame["code"] if frame["type"] == "closed" else frame["type"])
        if frame["type"] != "closed":
            await socket.close()

    run(scenario)
    return found[0]


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_the_expected_first_frame(
    persona: str, db: None, realtime, secrets_registry  # noqa: F811 (the fixture imported above)
) -> None:  # type: ignore[no-untyped-def]
    w = chat_on(build_world())
    where = paths(w)
    key = None
    if persona != "anonyme":
        user = (
            User.objects.create_user(
                "operateur@parvis.localhost", "x" * 16, full_name="Op", is_superuser=True
            )
            if persona == "operateur"
            else w.persona(persona)
        )
        client = Client()
        client.force_login(user)
        key = session_key(client)
        secrets_registry.add(key)
    failures = []
    for name, cases in WS_MATRIX.items():
        for which, expected in cases:
            got = first_frame(where[which], key, realtime)
            if got != expected[persona]:
                failures.append(f"{name} {which} as {persona}: expected {expected[persona]}, got {got}")
    assert failures == []
