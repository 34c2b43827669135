"""Forms of the web pages: they parse and validate; the services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from heart_cases.models import Need

from .models import CONSENT_REASONS, Consent, ReasonCode, Service

# <input type="datetime-local"> sends local time without an offset: read in the program's zone.
_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
# People choose among these; `expired` is the sweep's, never a person's.
PERSON_REASONS = [
    (code, label)
    for code, label in ReasonCode.choices
    if code != ReasonCode.EXPIRED and code not in CONSENT_REASONS
]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def local_now() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class DirectorySearchForm(forms.Form):
    need = forms.ChoiceField(
        label=_("Need"), choices=[("", _("Any need")), *Need.choices], required=False
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("Any language"))], required=False
    )

    def __init__(self, *args: Any, languages: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["language"])
        field.choices = [("", _("Any language")), *[(code, code) for code in languages]]


class ReferForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.filter(
            accepting_referrals=True, provider__accepting_referrals=True
        ),
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("That service is not accepting referrals.")},
    )
    reason = forms.CharField(
        label=_("What the neighbor needs from the provider"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    consent_obtained = forms.BooleanField(
        label=_("The neighbor consented to share what is ticked below with the provider"),
        error_messages={"required": _("A referral is sent only with the neighbor's consent.")},
    )
    consent_method = forms.ChoiceField(label=_("How"), choices=Consent.Method.choices)
    consent_obtained_at = forms.DateTimeField(
        label=_("When"), input_formats=_LOCAL_FORMATS, widget=LocalDateTimeInput()
    )
    consent_scope = forms.MultipleChoiceField(
        label=_("What may be shared"),
        choices=Consent.Scope.choices,
        initial=list(Consent.DEFAULT_SCOPE),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    consent_purpose = forms.CharField(
        label=_("For what purpose (required for substance-use care, 42 CFR Part 2)"),
        max_length=200,
        required=False,
    )
    consent_expires_at = forms.DateTimeField(
        label=_("Until (a year if left empty)"),
        input_formats=_LOCAL_FORMATS,
        widget=LocalDateTimeInput(),
        required=False,
    )


class ReasonForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=PERSON_REASONS)
    note = forms.CharField(label=_("Note"), max_length=5000, required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=5000, required=False)


class HandoffForm(forms.Form):
    occurred_at = forms.DateTimeField(
        label=_("Neighbor arrived"),
        input_formats=_LOCAL_FORMATS,
        widget=LocalDateTimeInput(),
        required=False,
    )
    note = forms.CharField(label=_("Note"), max_length=5000, required=False)


ACTION_FORMS: dict[str, type[forms.Form]] = {
    "acknowledge": NoteForm,
    "accept": NoteForm,
    "decline": ReasonForm,
    "start": NoteForm,
    "waitlist": NoteForm,
    "confirm-handoff": HandoffForm,
    "no-show": NoteForm,
    "cancel": ReasonForm,
}
