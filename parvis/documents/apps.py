from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _space_created(space: Any, template: Any) -> None:
    """A new space gets its top folder, and the folders of its template."""
    from parvis.core.audit import Actor

    from .actions import ensure_path, root_folder

    root = root_folder(space)
    for path in getattr(template, "folders", None) or []:
        ensure_path(Actor.system(), root, [p for p in path.split("/") if p])


def _tick() -> None:
    from .tasks import housekeeping

    housekeeping()


class DocumentsConfig(AppConfig):
    name = "parvis.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from parvis.core import registry

        from . import usage
        from .attachments import register as provide_services  # attachments and previews for other tools

        provide_services()
        usage.connect()
        registry.register(
            registry.Tool(
                name="documents",
                label=_("Documents"),
                description=_("Folders and files of the space, with rights, versions and search."),
                url_name="documents:home",
                on_space_created=_space_created,
                notification_kinds=("documents.added", "documents.infected"),
                on_tick=_tick,
                org_url_name="documents:recent",
                org_label=_("My files"),
                admin_url_name="documents:admin",
                admin_label=_("Documents: storage and trash"),
            )
        )
