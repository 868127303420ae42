"""The tool registry: tools (documents, discussion, agenda…) are plugins of a space.

Each tool registers itself from its AppConfig.ready(); the core and the spaces app never name a
tool. A space lists the tools switched on in `Space.tools`; the space page shows a menu entry
for each, and a new space from a template gives every tool a chance to set itself up.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class Tool:
    name: str
    label: str | Promise
    description: str | Promise
    url_name: str  # reversed with (organisation slug, space slug)
    on_space_created: Callable[[Any, Any], None] | None = None
    notification_kinds: tuple[str, ...] = field(default_factory=tuple)
    on_tick: Callable[[], None] | None = None  # periodic work, from the scheduler's tick
    # An entry of the main menu, for what the tool gathers across spaces ("Mes fichiers").
    org_url_name: str | None = None  # reversed with the organisation slug
    org_label: str | Promise = ""
    # An entry of the organisation administration's menu (the tool's settings).
    admin_url_name: str | None = None  # reversed with the organisation slug
    admin_label: str | Promise = ""


_tools: dict[str, Tool] = {}


def register(tool: Tool) -> None:
    _tools[tool.name] = tool


def unregister(name: str) -> None:
    _tools.pop(name, None)


def all_tools() -> list[Tool]:
    return list(_tools.values())


def known(names: list[str]) -> list[str]:
    """Keep only registered tool names, once each, in registry order."""
    wanted = set(names)
    return [name for name in _tools if name in wanted]


def org_entries() -> list[Tool]:
    return [tool for tool in _tools.values() if tool.org_url_name]


def admin_entries() -> list[Tool]:
    return [tool for tool in _tools.values() if tool.admin_url_name]


def enabled(space: Any) -> list[Tool]:
    return [tool for name, tool in _tools.items() if name in space.tools]


def space_created(space: Any, template: Any) -> None:
    for tool in enabled(space):
        if tool.on_space_created is not None:
            tool.on_space_created(space, template)


# --- Services -----------------------------------------------------------------------------------
# What one tool offers the others without being imported by them: the documents tool provides
# "documents.attachments" (store a file in a space's documents), the discussion tool asks for it.
# A service is any object; `service()` answers None when no tool provides it (tool not installed).

_services: dict[str, Any] = {}


def provide(name: str, obj: Any) -> None:
    _services[name] = obj


def service(name: str) -> Any | None:
    return _services.get(name)


def tick() -> None:
    """Each tool's periodic work (trash purge, clean-ups), once per scheduler tick."""
    for tool in _tools.values():
        if tool.on_tick is not None:
            tool.on_tick()
