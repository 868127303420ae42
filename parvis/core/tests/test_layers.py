"""The single-process channel layer still forgets what expired, only not on every call."""

import asyncio

from parvis.core import layers
from parvis.core.layers import InMemoryLayer


def test_an_expired_message_is_dropped_at_the_next_sweep(monkeypatch):
    monkeypatch.setattr(layers, "SWEEP_EVERY", 0.05)

    async def scenario() -> None:
        layer = InMemoryLayer(expiry=0.01)
        await layer.group_add("g", "specific.a")
        await layer.send("specific.a", {"type": "x"})
        await asyncio.sleep(0.1)
        await layer.group_send("other", {"type": "y"})  # a call that sweeps
        assert "specific.a" not in layer.channels
        assert "specific.a" not in layer.groups.get("g", {})

    asyncio.run(scenario())


def test_two_sends_within_a_second_sweep_once(monkeypatch):
    sweeps = []
    monkeypatch.setattr(layers.InMemoryChannelLayer, "_clean_expired", lambda self: sweeps.append(1))

    async def scenario() -> None:
        layer = InMemoryLayer()
        await layer.group_send("g", {"type": "x"})
        await layer.group_send("g", {"type": "x"})

    asyncio.run(scenario())
    assert sweeps == [1]
