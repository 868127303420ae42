"""Input of the GED pages, with French messages."""

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.core.models import Group, User

from .actions import DocumentError, clean_name
from .models import Folder, Level

LEVEL_CHOICES = [("", _("No access")), *Level.choices]
SHARE_MAX_DAYS = 366


class NameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)

    def clean_name(self) -> str:
        try:
            return clean_name(self.cleaned_data["name"])
        except DocumentError as error:
            raise forms.ValidationError(error.message) from error


class TargetForm(forms.Form):
    """Where to move or copy to: one of the folders the person writes in, in this space."""

    target = forms.ModelChoiceField(label=_("Destination folder"), queryset=Folder.objects.none())
    name = forms.CharField(label=_("Name"), max_length=255, required=False)

    def __init__(self, folders: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = folders
        self.fields["target"].error_messages["invalid_choice"] = _("Choose one of the proposed folders.")

    def clean_name(self) -> str:
        name = self.cleaned_data.get("name", "")
        if not name:
            return ""
        try:
            return clean_name(name)
        except DocumentError as error:
            raise forms.ValidationError(error.message) from error


class RightsForm(forms.Form):
    """A folder's restriction: on or off, and a level for each person and group listed."""

    restricted = forms.BooleanField(
        label=_("Restrict this folder to the people and groups below"), required=False
    )

    def __init__(self, people: list[User], groups: list[Group], *args: Any, **kwargs: Any) -> None:
        initial_levels: dict[str, str] = kwargs.pop("levels", {})
        super().__init__(*args, **kwargs)
        self.people, self.groups = people, groups
        for user in people:
            self.fields[f"user_{user.pk}"] = forms.ChoiceField(
                label=user.full_name or user.email,
                choices=LEVEL_CHOICES,
                required=False,
                initial=initial_levels.get(f"user_{user.pk}", ""),
            )
        for group in groups:
            self.fields[f"group_{group.pk}"] = forms.ChoiceField(
                label=group.name,
                choices=LEVEL_CHOICES,
                required=False,
                initial=initial_levels.get(f"group_{group.pk}", ""),
            )
        for field in self.fields.values():
            if isinstance(field, forms.ChoiceField):
                field.error_messages["invalid_choice"] = _("Choose one of the proposed levels.")

    def person_fields(self) -> list[tuple[User, forms.BoundField]]:
        return [(u, self[f"user_{u.pk}"]) for u in self.people]

    def group_fields(self) -> list[tuple[Group, forms.BoundField]]:
        return [(g, self[f"group_{g.pk}"]) for g in self.groups]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("restricted") and not any(
            data.get(name) for name in self.fields if name.startswith(("user_", "group_"))
        ):
            raise forms.ValidationError(
                _("A restricted folder needs at least one person or group; facilitators keep access anyway.")
            )
        return data

    def grants(self) -> list[tuple[User | None, Group | None, str]]:
        data = self.cleaned_data
        found: list[tuple[User | None, Group | None, str]] = []
        found += [(u, None, data[f"user_{u.pk}"]) for u in self.people if data.get(f"user_{u.pk}")]
        found += [(None, g, data[f"group_{g.pk}"]) for g in self.groups if data.get(f"group_{g.pk}")]
        return found


class ShareLinkForm(forms.Form):
    expires_on = forms.DateField(
        label=_("Valid until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date, for example 31/12/2026.")},
    )
    password = forms.CharField(
        label=_("Password (optional)"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("The person will have to type it before downloading."),
    )
    max_downloads = forms.IntegerField(
        label=_("Number of downloads allowed (optional)"),
        required=False,
        min_value=1,
        max_value=10_000,
        error_messages={
            "invalid": _("Enter a whole number."),
            "min_value": _("At least one download."),
            "max_value": _("At most 10,000 downloads."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["expires_on"].initial = timezone.localdate() + datetime.timedelta(days=14)

    def clean_expires_on(self) -> datetime.date:
        day = self.cleaned_data["expires_on"]
        today = timezone.localdate()
        if day < today:
            raise forms.ValidationError(_("Choose a date from today on."))
        if day > today + datetime.timedelta(days=SHARE_MAX_DAYS):
            raise forms.ValidationError(_("A link lasts at most one year."))
        return day

    def expires_at(self) -> datetime.datetime:
        day = self.cleaned_data["expires_on"]
        end = datetime.datetime.combine(day, datetime.time(23, 59, 59))
        return timezone.make_aware(end)


class SharePasswordForm(forms.Form):
    password = forms.CharField(label=_("Password"), max_length=128, widget=forms.PasswordInput)


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False)


class RetentionForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days a deleted document stays in the trash"),
        min_value=1,
        max_value=3650,
        error_messages={
            "invalid": _("Enter a whole number."),
            "min_value": _("Choose between 1 and 3,650 days."),
            "max_value": _("Choose between 1 and 3,650 days."),
        },
    )
