"""Compute again the search terms of every message, for instance after an upgrade that changes
how words become terms (stemming, accents). Messages stay searchable meanwhile; each batch of
2,000 is its own transaction."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from parvis.chat.search import refill


class Command(BaseCommand):
    help = "Compute again the search terms of every message."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = refill()
        self.stdout.write(_("Search terms computed again; messages changed: %(count)s.") % {"count": changed})
