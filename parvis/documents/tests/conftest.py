"""Helpers for the GED tests: the personas' spaces with the documents tool on, a few folders,
and short ways to store files and to reach pages."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from parvis.core.audit import Actor
from parvis.core.tests.factories import World
from parvis.documents import actions
from parvis.documents.models import Document, Folder
from parvis.spaces.models import Space


@dataclass
class Docs:
    """The private Finance commission (maire facilitator, elu contributor, secretaire
    administrator of the commune), with the documents tool on and a folder "Budget"."""

    w: World
    space: Space
    root: Folder
    budget: Folder

    def store(self, persona: str, folder: Folder, name: str, data: bytes = b"contenu") -> Document:
        return actions.store_bytes(Actor(self.w.persona(persona)), folder, name, data).document

    def folder(self, persona: str, parent: Folder, name: str) -> Folder:
        return actions.create_folder(Actor(self.w.persona(persona)), parent, name)


def tools_on(*spaces: Space) -> None:
    for space in spaces:
        space.tools = ["documents"]
        space.save(update_fields=["tools"])


@pytest.fixture
def docs(world: World) -> Docs:
    tools_on(world.council, world.commission, world.rh, world.ecole, world.other_space)
    root = actions.root_folder(world.commission)
    budget = actions.create_folder(Actor(world.maire), root, "Budget")
    return Docs(world, world.commission, root, budget)


@pytest.fixture
def ged(world: World) -> World:
    """The personas' world with the documents tool switched on in every space."""
    Space.objects.update(tools=["documents"])
    for space in (world.council, world.commission, world.rh, world.ecole, world.other_space):
        space.refresh_from_db()
    return world


def doc_url(name: str, space: Space, *args: object) -> str:
    return reverse(f"documents:{name}", args=[space.organisation.slug, space.slug, *args])


@pytest.fixture
def as_persona(client_for: Callable[[str], Client]) -> Callable[[str], Client]:
    return client_for
