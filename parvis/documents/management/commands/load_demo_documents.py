"""Put a few documents in the demo commune (after `load_demo`): convocations, minutes, a
restricted folder for the direction, so that the GED is not empty on the first visit.
Idempotent: run twice, loaded once."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from parvis.core.audit import Actor
from parvis.core.models import Group, User
from parvis.documents import actions
from parvis.documents.models import Document, Level
from parvis.documents.samples import pdf
from parvis.spaces.models import Space


class Command(BaseCommand):
    help = "Put sample documents in the demo commune (run after load_demo)."

    def handle(self, *args: Any, **options: Any) -> None:
        council = Space.objects.filter(organisation__slug="saint-aubin", slug="conseil-municipal").first()
        if council is None or "documents" not in council.tools:
            self.stdout.write(_("Load the demo commune first (manage.py load_demo)."))
            return
        if Document.objects.filter(space__organisation__slug="saint-aubin").exists():
            self.stdout.write(_("The demo documents are already there."))
            return
        self.load(council)
        self.stdout.write(_("Demo documents loaded."))

    @transaction.atomic
    def load(self, council: Space) -> None:
        secretaire = Actor(User.objects.get(email="secretaire@saint-aubin.localhost"))
        root = actions.root_folder(council)
        seances = actions.create_folder(secretaire, root, "Séances 2026")
        actions.store_bytes(
            secretaire,
            seances,
            "Convocation du 12 mars 2026.pdf",
            pdf(
                "Convocation du conseil municipal\\nSéance du jeudi 12 mars 2026 à 20 h 30",
                "Ordre du jour\\n1. Délibération sur le budget primitif\\n2. Tarifs de la cantine",
            ),
        )
        actions.store_bytes(
            secretaire,
            seances,
            "Compte rendu du 5 février 2026.txt",
            "Compte rendu de la séance du 5 février 2026.\\nLe conseil adopte à l'unanimité "
            "la délibération sur l'éclairage public.\\n".encode(),
        )
        direction = actions.create_folder(secretaire, root, "Direction")
        group = Group.objects.get(organisation=council.organisation, name="Direction")
        actions.set_restriction(secretaire, direction, True, [actions.Grant(None, group, Level.WRITE)])
        actions.store_bytes(
            secretaire, direction, "Notes de la direction.txt", "Points à préparer avec le maire.\\n".encode()
        )
