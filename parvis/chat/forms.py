"""Input of the discussion pages, with French messages."""

import uuid
from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from parvis.core.forms import ModelChoicesField
from parvis.core.models import User

from .actions import NAME_MAX, ChatError, clean_name
from .models import BODY_MAX, DIRECT_MAX, REACTIONS

PERSON_QUERY_MAX = 254  # the longest e-mail address


class ChannelForm(forms.Form):
    name = forms.CharField(label=_("Name of the channel"), max_length=NAME_MAX)
    topic = forms.CharField(label=_("Topic"), max_length=250, required=False)

    def clean_name(self) -> str:
        try:
            return clean_name(self.cleaned_data["name"])
        except ChatError as error:
            raise forms.ValidationError(error.message) from error


class MessageForm(forms.Form):
    """A message from the page's form (without JavaScript, or with files). The client id is
    written into the form when the page is made, so sending the same form twice stores one
    message."""

    body = forms.CharField(
        label=_("Message"),
        max_length=BODY_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("**bold**, *italics*, lists with -, > quotes, links; @Name mentions someone."),
    )
    client_id = forms.UUIDField(widget=forms.HiddenInput, required=False)
    parent = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].error_messages["max_length"] = _(
            "A message has at most %(limit_value)d characters."
        )
        if not self.is_bound:
            self.initial.setdefault("client_id", uuid.uuid4())


class EditForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class ReactionForm(forms.Form):
    emoji = forms.ChoiceField(choices=[(e, e) for e in REACTIONS])


class DirectForm(forms.Form):
    """Whom to write to. `choices` are everyone she may write to, and a POST is checked against
    them; `shown` are the few the page offers as checkboxes (her correspondents, or a search's
    matches): rendering the field from `choices` would list the whole organisation."""

    people = ModelChoicesField(
        label=_("People"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Up to %(n)d people. Outside members appear only if you share a space with them.")
        % {"n": DIRECT_MAX - 1},
    )

    def __init__(
        self, choices: QuerySet[User], *args: Any, shown: Iterable[User] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["people"]
        field.queryset = choices
        field.widget.choices = [(person.pk, str(person)) for person in shown]
        for code in ("invalid_choice", "invalid_pk_value", "invalid_list"):
            field.error_messages[code] = _("Choose people from the list.")
        field.error_messages["required"] = _("Choose at least one person to write to.")


class PersonSearchForm(forms.Form):
    """The people picker's search: a few letters of a name or an e-mail address."""

    personne = forms.CharField(
        label=_("Find a person"),
        min_length=2,
        max_length=PERSON_QUERY_MAX,
        help_text=_(
            "At least 2 letters of a name or an e-mail address; several people: separate them with commas."
        ),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        messages = self.fields["personne"].error_messages
        messages["required"] = messages["min_length"] = _(
            "Type at least 2 letters of a name or an e-mail address."
        )
        messages["max_length"] = _("Type at most %(limit_value)d characters.")


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search in messages"), max_length=200, min_length=2)
