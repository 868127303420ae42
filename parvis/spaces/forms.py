"""Forms of the spaces app."""

import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.core import registry
from parvis.core.forms import ModelChoicesField
from parvis.core.models import Group, Organisation, OrgMembership
from parvis.spaces.models import Role, Space, SpaceTemplate

MAX_BATCH = 60


def tool_choices() -> list[tuple[str, Any]]:
    return [(tool.name, tool.label) for tool in registry.all_tools()]


class ToolsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(label=_("Tools"), required=False, choices=tool_choices, **kwargs)


class SpaceForm(forms.ModelForm):
    tools = ToolsField()

    class Meta:
        model = Space
        fields = ["name", "description", "kind", "visibility", "tools", "require_2fa", "block_downloads"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("The name cannot be blank."))
        return name


class CreateSpaceForm(SpaceForm):
    template = forms.ModelChoiceField(
        label=_("Start from a template"),
        queryset=SpaceTemplate.objects.none(),
        required=False,
        help_text=_(
            "With a template, its tools and settings replace those below; you can change them afterwards."
        ),
    )
    field_order = ["name", "template"]

    def __init__(self, templates: QuerySet[SpaceTemplate], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates.select_related("organisation")
        self.fields["template"].label_from_instance = lambda t: f"{t.name} — {t.organisation.name}"

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data["template"] is not None:
            return {key: data[key] for key in ("name", "description", "template")}
        return data


class BatchForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Template"), queryset=SpaceTemplate.objects.none())
    names = forms.CharField(
        label=_("Names of the spaces, one per line"),
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("For example, one line per commission. At most %(max)d lines.") % {"max": MAX_BATCH},
    )

    def __init__(self, templates: QuerySet[SpaceTemplate], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates.select_related("organisation")
        self.fields["template"].label_from_instance = lambda t: f"{t.name} — {t.organisation.name}"

    def clean_names(self) -> list[str]:
        names = [line.strip() for line in self.cleaned_data["names"].splitlines() if line.strip()]
        if not names:
            raise forms.ValidationError(_("Give at least one name."))
        if len(names) > MAX_BATCH:
            raise forms.ValidationError(_("At most %(max)d spaces at once.") % {"max": MAX_BATCH})
        too_long = [n for n in names if len(n) > 150]
        if too_long:
            raise forms.ValidationError(
                _("This name is too long (150 characters at most): %(name)s")
                % {"name": too_long[0][:40] + "…"}
            )
        if len({n.lower() for n in names}) != len(names):
            raise forms.ValidationError(_("The same name appears twice."))
        return names


class TemplateForm(forms.ModelForm):
    tools = ToolsField()
    folders_text = forms.CharField(
        label=_("Folders"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Folders created in each new space, one path per line (e.g. Séances/2026)."),
    )

    class Meta:
        model = SpaceTemplate
        fields = ["name", "description", "kind", "visibility", "tools", "require_2fa", "block_downloads"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["folders_text"].initial = "\n".join(self.instance.folders)

    def clean_folders_text(self) -> list[str]:
        lines = [line.strip().strip("/") for line in self.cleaned_data["folders_text"].splitlines()]
        folders = [line for line in lines if line]
        if len(folders) > 100:
            raise forms.ValidationError(_("At most 100 folders."))
        for folder in folders:
            parts = folder.split("/")
            if any(p.strip() in ("", ".", "..") or len(p) > 120 for p in parts):
                raise forms.ValidationError(
                    _("This folder path is not valid: %(path)s") % {"path": folder[:60]}
                )
        return folders

    def values(self) -> dict[str, Any]:
        data = {f: self.cleaned_data[f] for f in self.Meta.fields}
        data["folders"] = self.cleaned_data["folders_text"]
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role in the organisation"),
        choices=[
            (OrgMembership.Role.MEMBER, OrgMembership.Role.MEMBER.label),
            (OrgMembership.Role.ADMIN, OrgMembership.Role.ADMIN.label),
        ],
    )
    qualite = forms.ChoiceField(
        label=_("Qualité"), choices=OrgMembership.Qualite.choices, initial=OrgMembership.Qualite.AGENT
    )

    def __init__(self, organisation: Organisation, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if (
            OrgMembership.objects.filter(
                organisation=self.organisation, user__email__iexact=email, is_active=True
            )
            .exclude(role=OrgMembership.Role.GUEST)
            .exists()
        ):
            raise forms.ValidationError(_("This person is already a member of the organisation."))
        return email


class SpaceInviteForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        help_text=_(
            "A member of the organisation is added at once; anyone "
            "else receives an invitation as an external guest."
        ),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.CONTRIBUTOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class GroupGrantForm(forms.Form):
    group = forms.ModelChoiceField(label=_("Group"), queryset=Group.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=[("", _("No access")), *Role.choices], required=False)

    def __init__(self, organisation: Organisation, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = Group.objects.filter(organisation=organisation)


def default_code_expiry() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=30)


class AccessCodeForm(forms.Form):
    label = forms.CharField(
        label=_("Label"),
        max_length=100,
        required=False,
        help_text=_("For you: who the code is for (e.g. bureau d'études)."),
    )
    role = forms.ChoiceField(label=_("Role granted"), choices=Role.choices, initial=Role.READER)
    expires_on = forms.DateField(
        label=_("Valid until"),
        initial=default_code_expiry,
        # <input type="date"> only takes ISO dates; a French "23/12/2026" would show it empty.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    max_uses = forms.IntegerField(label=_("Number of uses"), min_value=1, max_value=500, initial=10)

    def clean_expires_on(self) -> datetime.date:
        value = self.cleaned_data["expires_on"]
        today = timezone.localdate()
        if value < today:
            raise forms.ValidationError(_("This date is in the past."))
        if value > today + datetime.timedelta(days=366):
            raise forms.ValidationError(_("A code is valid for one year at most."))
        return value

    def expires_at(self) -> datetime.datetime:
        day = self.cleaned_data["expires_on"]
        return datetime.datetime.combine(day, datetime.time(23, 59, 59), timezone.get_current_timezone())


class CodeEntryForm(forms.Form):
    code = forms.CharField(
        label=_("Access code"),
        max_length=40,
        help_text=_("Twelve letters and digits, as given to you, e.g. ABCD-EFGH-JKMN."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class JoinRequestForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the facilitators (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TabForm(forms.Form):
    name = forms.CharField(label=_("Tab name"), max_length=60)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("The name cannot be blank."))
        return name


class TabEditForm(TabForm):
    spaces = ModelChoicesField(
        label=_("Spaces in this tab"),
        queryset=Space.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, spaces: QuerySet[Space], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["spaces"].queryset = spaces


class TemplateFromSpaceForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=150)
