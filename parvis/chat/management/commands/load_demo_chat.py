"""Put a short conversation in the demo commune (after `load_demo`): a few messages in the
council's channel, a thread, a reaction and a private exchange, so that the discussion is not
empty on the first visit. Idempotent: run twice, loaded once."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from parvis.chat import actions
from parvis.chat.models import Message
from parvis.core.audit import Actor
from parvis.core.models import User
from parvis.spaces.models import Space


class Command(BaseCommand):
    help = "Put a sample conversation in the demo commune (run after load_demo)."

    def handle(self, *args: Any, **options: Any) -> None:
        council = Space.objects.filter(organisation__slug="saint-aubin", slug="conseil-municipal").first()
        if council is None or "chat" not in council.tools:
            self.stdout.write(_("Load the demo commune first (manage.py load_demo)."))
            return
        if Message.objects.filter(conversation__organisation=council.organisation).exists():
            self.stdout.write(_("The demo conversation is already there."))
            return
        self.load(council)
        self.stdout.write(_("Demo conversation loaded."))

    @transaction.atomic
    def load(self, council: Space) -> None:
        def person(email: str) -> Actor:
            return Actor(User.objects.get(email=email))

        maire = person("maire@saint-aubin.localhost")
        secretaire = person("secretaire@saint-aubin.localhost")
        elu = person("elu@saint-aubin.localhost")
        channel = actions.ensure_default_channel(council)
        convocation = actions.post_message(
            secretaire,
            channel,
            "Bonjour à tous, la **convocation du conseil du 12 mars** est dans les documents, "
            "dossier « Séances 2026 ».",
        ).message
        actions.post_message(
            elu,
            channel,
            "Merci. Le point sur les tarifs de la cantine sera-t-il présenté par la commission ?",
            parent=convocation,
        )
        actions.post_message(
            maire,
            channel,
            "Oui, la commission scolaire présentera :\n- les tarifs\n- le bilan de l'année",
            parent=convocation,
        )
        actions.toggle_reaction(maire, convocation, "👍")
        actions.post_message(
            maire, channel, "@Sophie Bernard pouvez-vous ajouter le compte rendu de février ?"
        )
        private = actions.start_direct(maire, council.organisation, [elu.user])  # type: ignore[list-item]
        actions.post_message(maire, private, "Paul, as-tu relu la délibération sur l'éclairage public ?")
        actions.post_message(elu, private, "Oui, deux coquilles corrigées, c'est prêt.")
