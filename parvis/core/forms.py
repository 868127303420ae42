"""Forms of the core. Every label and message is an English msgid translated to French."""

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.utils.translation import gettext_lazy as _

from parvis.core.models import Frequency, Group, Organisation, OrgMembership, User

PASSWORD_MAX = 4096


class ModelChoicesField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows whose ids are checked to be database integers before they are
    looked up: Django's own field passes "99999999999999999999" to an `IN (…)`, which SQLite
    refuses with an error instead of finding nothing."""

    def _check_values(self, value: Any) -> Any:
        for pk in value if isinstance(value, (list, tuple)) else [value]:
            text = str(pk).strip()
            if not (text.isdigit() and 0 < int(text) < 2**63):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("The six-digit code shown by your application, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's reset form, sending through Parvis's mail outbox (counted, never logged)."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from django.conf import settings
        from django.urls import reverse
        from django.utils.translation import gettext  # by name: makemessages skips aliases

        from parvis.core.notify import send_account_email

        link = settings.SITE_URL + reverse(
            "core:password_reset_confirm", args=[context["uid"], context["token"]]
        )
        send_account_email(
            to_email,
            gettext("Reset your Parvis password"),
            "core/email/password_reset",
            {"user": context["user"], "link": link},
            recipient=context["user"],
        )


class NewPasswordMixin(forms.Form):
    new_password1 = forms.CharField(
        label=_("New password"),
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters. A sentence you remember is a good password."),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    user: User | None = None

    def clean_new_password2(self) -> str:
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data["new_password2"]
        if first and first != second:
            raise forms.ValidationError(_("The two passwords differ."))
        password_validation.validate_password(second, self.user)
        return second


class PasswordChangeForm(NewPasswordMixin):
    old_password = forms.CharField(
        label=_("Current password"),
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    end_other_sessions = forms.BooleanField(
        label=_("Sign out my other sessions"), required=False, initial=True
    )
    field_order = ["old_password", "new_password1", "new_password2", "end_other_sessions"]

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_old_password(self) -> str:
        value = self.cleaned_data["old_password"]
        assert self.user is not None
        if not self.user.check_password(value):
            raise forms.ValidationError(_("Your current password is not correct."))
        return value


class ResetPasswordForm(NewPasswordMixin):
    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user


class SignUpForm(NewPasswordMixin):
    """Creating an account from an invitation or an access code."""

    full_name = forms.CharField(
        label=_("First and last name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("E-mail address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    field_order = ["full_name", "email", "new_password1", "new_password2"]

    def __init__(self, *args: Any, email: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if email is not None:
            self.fields["email"].initial = email
            self.fields["email"].disabled = True

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("An account already exists with this address: sign in first, then come back.")
            )
        return email

    def clean_new_password2(self) -> str:
        self.user = User(email=self.data.get("email", ""), full_name=self.data.get("full_name", ""))
        return super().clean_new_password2()


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("First and last name"), max_length=150)


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        value = self.cleaned_data["password"]
        if not self.user.check_password(value):
            raise forms.ValidationError(_("Your password is not correct."))
        return value


class TOTPConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code shown by the application"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    end_other_sessions = forms.BooleanField(
        label=_("Sign out my other sessions"), required=False, initial=True
    )


class AppPasswordForm(forms.Form):
    name = forms.CharField(
        label=_("Device name"),
        max_length=80,
        help_text=_("For example: office PC, personal laptop, phone."),
    )


FOLLOW = ""
TRISTATE = [(FOLLOW, _("As my organisation decides")), ("yes", _("Yes")), ("no", _("No"))]


class NotificationSettingsForm(forms.Form):
    quiet_hours_enabled = forms.ChoiceField(label=_("Quiet hours"), choices=TRISTATE, required=False)
    quiet_start = forms.TimeField(
        label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    quiet_end = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    weekends_off = forms.ChoiceField(label=_("No e-mail at weekends"), choices=TRISTATE, required=False)

    @staticmethod
    def tristate(value: bool | None) -> str:
        return FOLLOW if value is None else ("yes" if value else "no")

    def settings(self) -> dict[str, Any]:
        data = self.cleaned_data

        def parse(v: str) -> bool | None:
            return None if v == FOLLOW else v == "yes"

        return {
            "quiet_hours_enabled": parse(data["quiet_hours_enabled"]),
            "quiet_start": data["quiet_start"],
            "quiet_end": data["quiet_end"],
            "weekends_off": parse(data["weekends_off"]),
        }


class FrequencyForm(forms.Form):
    frequency = forms.ChoiceField(label=_("E-mails about this space"), choices=Frequency.choices)


class MemberForm(forms.ModelForm):
    class Meta:
        model = OrgMembership
        fields = ["role", "qualite"]


class GroupForm(forms.ModelForm):
    members = ModelChoicesField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Group
        fields = ["name", "description"]

    def __init__(self, organisation: Organisation, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.fields["members"].queryset = User.objects.filter(
            org_memberships__organisation=organisation, org_memberships__is_active=True
        ).order_by("full_name")
        if self.instance.pk:
            self.fields["members"].initial = list(self.instance.members.all())

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Group.objects.filter(organisation=self.organisation, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("A group with this name already exists."))
        return name


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False, max_length=60)
    actor = forms.CharField(label=_("Author (e-mail)"), required=False, max_length=254)
    # <input type="date"> only takes ISO dates; a French "23/12/2026" would show it empty.
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


class OrgDefaultsForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["default_frequency", "quiet_hours_enabled", "quiet_start", "quiet_end", "weekends_off"]
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


class OrganisationForm(forms.ModelForm):
    storage_quota_gb = forms.IntegerField(label=_("Storage quota (GB)"), min_value=1, max_value=1_000_000)

    class Meta:
        model = Organisation
        fields = ["name", "slug", "kind", "siren", "population", "trash_retention_days", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gib = 1024**3
        self.fields["storage_quota_gb"].initial = self.instance.storage_quota_bytes // gib
        self.fields["siren"].empty_value = None

    def values(self) -> dict[str, Any]:
        data = {f: self.cleaned_data[f] for f in self.Meta.fields}
        data["storage_quota_bytes"] = self.cleaned_data["storage_quota_gb"] * 1024**3
        return data


class FirstAdminForm(forms.Form):
    email = forms.EmailField(label=_("Administrator's e-mail address"), max_length=254)
