from collections.abc import Callable

import pytest
from django.test import Client

from conftest import Secrets
from parvis.chat.tests.support import chat_on, realtime  # noqa: F401 (a fixture)
from parvis.core.tests.factories import World


@pytest.fixture
def chat_world(world: World) -> World:
    return chat_on(world)


@pytest.fixture
def signed_in(chat_world: World, secrets_registry: Secrets) -> Callable[[str], Client]:
    """A client signed in as a persona (a real session, which websockets need)."""

    def make(persona: str) -> Client:
        client = Client()
        client.force_login(chat_world.persona(persona))
        secrets_registry.add(client.cookies["sessionid"].value)
        return client

    return make
