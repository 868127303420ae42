from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpacesConfig(AppConfig):
    name = "parvis.spaces"
    label = "spaces"
    verbose_name = _("Spaces")

    def ready(self) -> None:
        from parvis.core.signals import forget_rights_on_change_of

        from .models import Space, SpaceGroupGrant, SpaceMembership

        forget_rights_on_change_of(Space, SpaceMembership, SpaceGroupGrant)
