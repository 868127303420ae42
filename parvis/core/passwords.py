"""Password rules beyond Django's: French common passwords and a length ceiling."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from parvis.core.models import User

# Written for Parvis: patterns French users pick, that Django's English list does not hold.
FRENCH_COMMON = {
    "azertyuiop",
    "azertyuiopqsdfghjklm",
    "motdepasse",
    "monmotdepasse",
    "jetaime",
    "bonjour",
    "soleil",
    "doudou",
    "chouchou",
    "loulou",
    "marseille",
    "mairie",
    "secretariat",
    "conseilmunicipal",
    "administrateur",
    "utilisateur",
    "bienvenue",
    "changezmoi",
    "france",
    "vivelafrance",
    "parvis",
}


def _core(password: str) -> str:
    """The password without the digits and punctuation people add to satisfy rules."""
    return "".join(ch for ch in password.lower() if ch.isalpha())


class FrenchCommonPasswordValidator:
    def validate(self, password: str, user: User | None = None) -> None:
        core = _core(password)
        if core in FRENCH_COMMON or (core and len(set(core)) <= 2):
            raise ValidationError(_("This password is too common."), code="password_too_common")

    def get_help_text(self) -> str:
        return _("Your password cannot be a commonly used password.")


class MaximumLengthValidator:
    """A ceiling high enough for pass phrases, low enough that hashing stays cheap."""

    maximum = 1024

    def validate(self, password: str, user: User | None = None) -> None:
        if len(password) > self.maximum:
            raise ValidationError(
                _("This password is too long (at most %(max)d characters).") % {"max": self.maximum},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("Your password can hold up to %(max)d characters.") % {"max": self.maximum}
