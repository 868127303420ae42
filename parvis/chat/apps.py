from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _space_created(space: Any, template: Any) -> None:
    """A new space with the discussion on opens with its default channel."""
    from .actions import ensure_default_channel

    ensure_default_channel(space)


class ChatConfig(AppConfig):
    name = "parvis.chat"
    label = "chat"
    verbose_name = _("Discussion")

    def ready(self) -> None:
        from parvis.core import registry

        registry.register(
            registry.Tool(
                name="chat",
                label=_("Discussion"),
                description=_("Channels of the space, threads and private messages, in real time."),
                url_name="chat:home",
                on_space_created=_space_created,
                notification_kinds=("chat.mention", "chat.direct"),
                org_url_name="chat:direct_list",
                org_label=_("Messages"),
            )
        )
