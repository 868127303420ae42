"""Helpers for the spaces tests: which spaces a page links to, a snapshot of everything a form
could change, and a tool registered for the time of a test."""

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import mail
from django.http import HttpResponse
from django.urls import reverse

from parvis.core import registry
from parvis.core.models import AuditEvent, Group, Notification, OrgMembership, OutgoingEmail, User
from parvis.spaces.models import (
    AccessCode,
    Invitation,
    JoinRequest,
    Space,
    SpaceGroupGrant,
    SpaceMembership,
    SpaceTab,
    SpaceTemplate,
)

TOOL = "outil-essai"
SPACE_LINK = re.compile(r'href="/o/([\w-]+)/e/([\w-]+)/"')
DOMAIN_MODELS = (
    Space,
    SpaceMembership,
    SpaceGroupGrant,
    JoinRequest,
    Invitation,
    AccessCode,
    SpaceTemplate,
    SpaceTab,
    OrgMembership,
)


def url(name: str, *args: object) -> str:
    return reverse(f"spaces:{name}", args=args)


def space_url(space: Space, name: str = "detail", *args: object) -> str:
    return url(name, space.organisation.slug, space.slug, *args)


def in_order(page: HttpResponse | str) -> list[str]:
    """Slugs of the spaces a page links to (cards of Mes espaces, of the directory), in order."""
    html = page if isinstance(page, str) else page.content.decode()
    return [slug for _, slug in SPACE_LINK.findall(html)]


def listed(page: HttpResponse | str) -> set[str]:
    return set(in_order(page))


def state() -> dict[str, Any]:
    """Everything a form of the spaces app could change: every row of the spaces models and of
    the memberships, and how many accounts, audit events, notifications and e-mails exist."""
    rows: dict[str, Any] = {
        model._meta.label: list(model.objects.order_by("pk").values()) for model in DOMAIN_MODELS
    }
    rows["tab spaces"] = list(SpaceTab.spaces.through.objects.order_by("pk").values())
    rows["group members"] = list(Group.members.through.objects.order_by("pk").values())
    for model in (User, AuditEvent, Notification, OutgoingEmail):
        rows[model._meta.label] = model.objects.count()
    rows["mails"] = len(mail.outbox)
    return rows


@pytest.fixture
def unchanged() -> Callable[[], Any]:
    """`check = unchanged()` takes a snapshot; `check()` asserts nothing has changed since
    (except the parts named in `ignore`, e.g. "core.AuditEvent" where failures are journaled)."""

    def take(*ignore: str) -> Callable[[], None]:
        before = state()

        def check() -> None:
            after = state()
            for key, value in before.items():
                if key not in ignore:
                    assert after[key] == value, f"{key} changed"

        return check

    return take


@pytest.fixture
def a_tool() -> Iterator[str]:
    """A tool registered for one test (no tool app is installed in this project yet)."""
    registry.register(
        registry.Tool(
            name=TOOL, label="Outil d'essai", description="Pour les tests.", url_name="spaces:members"
        )
    )
    yield TOOL
    registry.unregister(TOOL)


def french_plural(singular: str, plural: str, n: int, **params: object) -> str:
    """`conftest.french` for a message with a plural form (Django's length messages)."""
    from django.utils import translation
    from django.utils.html import escape

    with translation.override("fr"):
        text = translation.ngettext(singular, plural, n)
    assert text not in (singular, plural), f"not translated into French: {singular!r}"
    return escape(text % params)
