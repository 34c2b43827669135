"""Pages for what the CAD did not send: `/field-responses/new/` (a field response entered by
hand, or a referral from police, fire or EMS) for responders and supervisors, and the
supervisors' `/debriefs/` list.

The form is read into the API's body and goes through the API's serializer and the intake
service: what the API refuses, the page refuses, with the API's messages beside the fields.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from . import debriefs, services
from .actors import acting_user
from .api import FieldResponseInput
from .models import (
    ELIGIBLE_CALL_TYPES,
    Debrief,
    Disposition,
    FieldResponseSource,
    Need,
    Program,
)
from .notes import local_input_as_aware

RECORDS_FIELD_RESPONSES = "heart_cases.record_field_response"
_TIMES = ("responded_at", "dispatched_at", "arrived_at", "cleared_at")
_NEIGHBOR_FIELDS = ("first_name", "last_name", "alias", "date_of_birth", "phone", "language")
_CHOICE = {"yes": True, "no": False}


def body_from_form(form: QueryDict) -> dict[str, Any]:
    """The API's JSON body from the page's form: blank inputs left out (as an API client
    leaves out what it does not know), local times given their offset, yes/no as booleans."""

    def given(name: str) -> str:
        return form.get(name, "").strip()

    body: dict[str, Any] = {
        name: given(name)
        for name in ("incident_number", "unit", "program", "call_type", "disposition", "source")
        if given(name)
    }
    for name in _TIMES:
        if given(name):
            body[name] = local_input_as_aware(given(name))
    if given("address"):
        body["location"] = {"address": given("address")}
    neighbor: dict[str, Any] = {
        name: given(f"neighbor_{name}") for name in _NEIGHBOR_FIELDS if given(f"neighbor_{name}")
    }
    neighbor["unsheltered"] = form.get("neighbor_unsheltered") == "on"
    body["neighbor"] = neighbor
    body["needs"] = [need for need in form.getlist("needs") if need]
    for name in ("follow_up_consent", "responder_felt_safe"):
        if given(name) in _CHOICE:
            body[name] = _CHOICE[given(name)]
        elif given(name):
            body[name] = given(name)  # the serializer names what it cannot read
    body["debrief_requested"] = form.get("debrief_requested") == "on"
    if form.get("narrative", ""):
        body["narrative"] = form.get("narrative", "")
    return body


def errors_by_input(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """The API's errors ({"neighbor": {"phone": [...]}}) keyed by the page's input names
    (`neighbor_phone`); a list nested in a list (one bad need) is one message."""
    found: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for name, value in errors.items():
            key = f"{prefix}_{name}" if prefix else str(name)
            if key == "location_address":
                key = "address"
            nested = errors_by_input(value, key)
            for nested_key, messages_ in nested.items():
                found.setdefault(nested_key, []).extend(messages_)
        return found
    if isinstance(errors, list):
        texts: list[str] = []
        for item in errors:
            if isinstance(item, dict | list):
                for messages_ in errors_by_input(item, prefix).values():
                    texts.extend(messages_)
            else:
                texts.append(str(item))
        return {prefix: texts}
    return {prefix: [str(errors)]}


def _form_context(form: QueryDict | None, errors: dict[str, list[str]]) -> dict[str, Any]:
    values = form.dict() if form is not None else {}
    if form is None:
        values = {
            "source": FieldResponseSource.MANUAL,
            "responded_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        }
    return {
        "values": values,
        "chosen_needs": form.getlist("needs") if form is not None else [],
        "errors": errors,
        "sources": FieldResponseSource.choices,
        "programs": Program.choices,
        # Each call type as the CAD sends it (the value) and in the page's language (shown).
        "call_types": [
            (Program(program).label, [(t, gettext(t)) for t in types])
            for program, types in ELIGIBLE_CALL_TYPES.items()
        ],
        "needs": Need.choices,
        "dispositions": Disposition.choices,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def field_response_new(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not user.has_perm(RECORDS_FIELD_RESPONSES):
        raise PermissionDenied
    if request.method != "POST":
        return render(request, "heart_cases/field_response_new.html", _form_context(None, {}))
    body = body_from_form(request.POST)
    body.setdefault("source", FieldResponseSource.MANUAL)
    serializer = FieldResponseInput(data=body)
    errors: dict[str, list[str]] = {}
    result = None
    if serializer.is_valid():
        try:
            result = services.field_response_record(actor=user, data=serializer.to_input())
        except services.IntakeConflict as exc:
            errors = {"non_field_errors": [str(exc)]}
    else:
        errors = errors_by_input(serializer.errors)
    if result is None:
        context = _form_context(request.POST, errors)
        return render(request, "heart_cases/field_response_new.html", context, status=400)
    case = result.case
    if result.replayed:
        text = _("Already recorded: case %(number)s. Nothing new was written.")
    elif result.case_created:
        text = _("Recorded: case %(number)s opened.")
    else:
        text = _("Recorded: added to the open case %(number)s.")
    messages.success(request, str(text) % {"number": case.number})
    return redirect("field-response-new")


@login_required
def debriefs_page(request: HttpRequest) -> HttpResponse:
    """Debriefs responders asked for: the open ones to hold, and the done ones with notes."""
    user = acting_user(request)
    if not user.has_perm(debriefs.VIEW_DEBRIEFS):
        raise PermissionDenied
    status = request.GET.get("status", Debrief.Status.OPEN)
    if status not in Debrief.Status.values:
        status = Debrief.Status.OPEN
    shown = list(debriefs.debriefs_for(user=user, status=status)[:200])
    debriefs.log_debriefs_shown(request, shown)
    return render(
        request,
        "heart_cases/debriefs.html",
        {
            "debriefs": shown,
            "status": status,
            "statuses": Debrief.Status.choices,
            "note_max_length": debriefs.NOTE_MAX_LENGTH,
        },
    )


@login_required
@require_POST
def debrief_done_page(request: HttpRequest, debrief_id: int) -> HttpResponse:
    user = acting_user(request)
    if not user.has_perm(debriefs.HOLD_DEBRIEFS):
        raise PermissionDenied
    debrief = debriefs.debrief_get_for_user(user=user, debrief_id=debrief_id)
    form = debriefs.DebriefDoneInput(data={"note": request.POST.get("note", "")})
    if not form.is_valid():
        problems = " ".join(str(m) for found in form.errors.values() for m in found)
        messages.error(request, str(_("Not marked done: %(problems)s")) % {"problems": problems})
        return redirect("debriefs-page")
    try:
        debriefs.debrief_done(actor=user, debrief=debrief, note=form.validated_data.get("note", ""))
    except services.TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            str(_("Debrief for %(incident)s (%(unit)s) marked done."))
            % {
                "incident": debrief.field_response.incident_number,
                "unit": debrief.field_response.unit,
            },
        )
    return redirect("debriefs-page")
