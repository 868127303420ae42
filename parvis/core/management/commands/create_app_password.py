"""Print a new app password for a person, e.g. to configure a WebDAV or CalDAV client for her."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from parvis.core.audit import Actor
from parvis.core.auth import create_app_password
from parvis.core.models import User


class Command(BaseCommand):
    help = "Create an app password for the account EMAIL and print it (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="Device name (default: 'Ligne de commande').")

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        translation.activate(settings.LANGUAGE_CODE)
        user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
        if user is None:
            raise CommandError(_("No active account with the address %(email)s.") % {"email": email})
        _app_password, secret = create_app_password(
            Actor.system(), user, name.strip()[:80] or _("Command line")
        )
        self.stdout.write(secret)
