from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "parvis.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from parvis.core import signals  # noqa: F401  (connects the session receivers)
