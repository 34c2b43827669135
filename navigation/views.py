"""Pages for care navigators: the daily task list, notifications, open cases."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from heart_cases import selectors as case_selectors
from heart_cases import services as case_services
from heart_cases.actors import acting_user
from heart_cases.middleware import client_address
from heart_cases.models import Contact
from heart_cases.roles import role_of
from heart_cases.services import TransitionError

from . import forms, selectors, services
from .api import AttemptInput, CaseAssignInput, task_for_attempt
from .models import ContactAttempt, FollowUpTask, Notification, Pair

# The attempt form's fields, as an error names them.
FIELD_LABELS = {
    "method": gettext_lazy("Method"),
    "outcome": gettext_lazy("Outcome"),
    "duration_minutes": gettext_lazy("Minutes"),
    "notes": gettext_lazy("Notes"),
    "occurred_at": gettext_lazy("Time of the call"),
    "contact": gettext_lazy("Whom the call reached"),
}


def _log_list(request: HttpRequest, object_type: str, ids: list[int]) -> None:
    if ids:
        case_services.access_log_write(
            user=request.user,
            action="list",
            object_type=object_type,
            object_ids=ids,
            client_address=client_address(request),
            request_id=getattr(request, "request_id", ""),
            path=request.path,
        )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where each role starts: navigators and supervisors on the task list, provider staff on
    their referral inbox."""
    user = acting_user(request)
    if user.has_perm("navigation.view_followuptask"):
        return redirect("tasks")
    if user.has_perm("referrals.respond_referral"):
        return redirect("provider-inbox")
    if user.has_perm("heart_cases.view_metrics"):
        return redirect("metrics-dashboard")
    return render(request, "navigation/no_work.html", {"role": role_of(user)})


# After "reached", the task leaves the list: the page offers the case's next steps instead.
SESSION_NEXT_STEPS = "attempt_next_steps"


def _task_list_context(
    request: HttpRequest,
    user: Any,
    *,
    form_task: int | None = None,
    form: forms.AttemptFormState | None = None,
) -> dict[str, Any]:
    now = timezone.now()
    page = selectors.task_page_groups(user=user, now=now)
    tasks = [t for group in page["groups"].values() for t in group]
    _log_list(request, "task", [t.pk for t in tasks])
    forms.attach_form_details(tasks)
    for task in tasks:
        task.attempt_form = (  # type: ignore[attr-defined]
            form if form is not None and task.pk == form_task else forms.AttemptFormState()
        )
    return {
        **page,
        "now": now,
        "time_bounds": forms.time_bounds(now),
        "methods": ContactAttempt.Method.choices,
        "outcomes": ContactAttempt.Outcome.choices,
        "role": role_of(user),
        "next_steps": request.session.pop(SESSION_NEXT_STEPS, None),
    }


@login_required
def task_list_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not user.has_perm("navigation.view_followuptask"):
        raise PermissionDenied
    return render(request, "navigation/tasks.html", _task_list_context(request, user))


def _form_refused(
    request: HttpRequest,
    user: Any,
    task: FollowUpTask,
    values: dict[str, str],
    errors: dict[str, Any],
) -> HttpResponse:
    """The task list again, this task's form with what was typed and the errors by field: a
    400 that wrote nothing."""
    by_field = {str(k): [str(m) for m in v] for k, v in errors.items()}
    problems = "; ".join(f"{FIELD_LABELS.get(k, k)}: {' '.join(v)}" for k, v in by_field.items())
    messages.error(request, _("Not logged: %(problems)s") % {"problems": problems})
    state = forms.AttemptFormState(values=values, errors=by_field)
    context = _task_list_context(request, user, form_task=task.pk, form=state)
    return render(request, "navigation/tasks.html", context, status=400)


@login_required
@require_POST
def attempt_create_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """The attempt form: the API's validation and the service. An outcome that closes the case
    is recorded only once confirmed (`confirm`); until then the page says what will happen."""
    user = acting_user(request)
    if not user.has_perm("navigation.add_contactattempt"):
        raise PermissionDenied
    task = task_for_attempt(user=user, task_id=task_id)
    if not services.can_work_task(user, task):
        messages.error(request, _("Only the assigned pair or a supervisor can log this attempt."))
        return redirect("tasks")
    values = forms.form_values(request.POST)
    data = {k: v for k, v in values.items() if v != ""}
    if "occurred_at" in data:
        data["occurred_at"] = forms.local_input_as_aware(data["occurred_at"])
    else:
        data["occurred_at"] = timezone.now().isoformat()
    form = AttemptInput(data=data)
    if not form.is_valid():
        errors = dict(form.errors)
        if "outcome" in errors and values["outcome"] in ContactAttempt.Outcome.values:
            # The serializer's sentence names the outcome by its code; the page, by its label.
            label = ContactAttempt.Outcome(values["outcome"]).label
            errors["outcome"] = [
                str(m).replace(f"'{values['outcome']}'", f"'{label}'") for m in errors["outcome"]
            ]
        return _form_refused(request, user, task, values, errors)
    attempt = form.validated_data
    closes = forms.closing_outcome(task, method=attempt["method"], outcome=attempt["outcome"])
    if closes is not None and request.POST.get("confirm") != "yes":
        return _confirm_page(request, task, values, attempt, closes)
    try:
        result = services.attempt_record(actor=user, task=task, **attempt)
    except TransitionError as exc:
        messages.error(request, str(exc))
        return redirect("tasks")
    except services.AttemptInvalid as exc:
        return _form_refused(request, user, task, values, exc.errors)
    outcome = ContactAttempt.Outcome(result.attempt.outcome).label
    if result.next_task is not None:
        nxt = result.next_task
        when = date_format(timezone.localtime(nxt.work_by), "SHORT_DATETIME_FORMAT")
        messages.success(
            request,
            _("Logged: %(outcome)s. Next: %(task)s by %(when)s.")
            % {"outcome": outcome, "task": nxt.get_kind_display().lower(), "when": when},
        )
        return redirect(f"/tasks/#task-{nxt.pk}")
    if result.case_closed:
        messages.success(
            request,
            _("Logged: %(outcome)s. Case %(number)s is closed.")
            % {"outcome": outcome, "number": task.case.number},
        )
        return redirect("tasks")
    messages.success(request, _("Logged: %(outcome)s. Follow-up complete.") % {"outcome": outcome})
    if result.attempt.outcome == ContactAttempt.Outcome.REACHED:
        request.session[SESSION_NEXT_STEPS] = {
            "case_id": task.case_id,
            "number": task.case.number,
        }
        return redirect("/tasks/#next-steps")
    return redirect("tasks")


def _confirm_page(
    request: HttpRequest,
    task: FollowUpTask,
    values: dict[str, str],
    attempt: dict[str, Any],
    closes: str,
) -> HttpResponse:
    """Asks before an outcome that closes the case: what will happen, what would be recorded,
    and the same fields again with `confirm`."""
    case_services.access_log_write(
        user=request.user,
        action="view",
        object_type="task",
        object_ids=[task.pk],
        case_id=task.case_id,
        client_address=client_address(request),
        request_id=getattr(request, "request_id", ""),
        path=request.path,
    )
    contact = None
    if attempt.get("contact"):
        contact = Contact.objects.filter(pk=attempt["contact"]).first()
    context = {
        "task": task,
        "warning": forms.closing_warning(task.case, closes),
        # The time as first resolved, so that confirming later records the same moment.
        "hidden": {
            **{k: v for k, v in values.items() if v != ""},
            "occurred_at": attempt["occurred_at"].isoformat(),
        },
        "method": ContactAttempt.Method(attempt["method"]).label,
        "outcome": ContactAttempt.Outcome(attempt["outcome"]).label,
        "occurred_at": attempt["occurred_at"],
        "contact": contact,
        "notes": attempt.get("notes", ""),
        "duration_minutes": attempt.get("duration_minutes"),
    }
    return render(request, "navigation/attempt_confirm.html", context)


@login_required
def open_cases_page(request: HttpRequest) -> HttpResponse:
    """The person's open cases (a supervisor's: every open case)."""
    user = acting_user(request)
    if not user.has_perm("heart_cases.view_case"):
        raise PermissionDenied
    cases = selectors.open_cases_for_home(user)
    _log_list(request, "case", [case["id"] for case in cases])
    return render(request, "navigation/home.html", {"cases": cases, "role": role_of(user)})


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if request.method == "POST":
        for notification in Notification.objects.filter(recipient=user, read_at__isnull=True):
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
        return redirect("notifications")
    rows = list(
        Notification.objects.filter(recipient=user)
        .select_related("notice__task")
        .order_by("-created_at", "-id")[:100]
    )
    # Notifications name the neighbor of their case: one access-log entry per case shown.
    shown: dict[int | None, list[int]] = {}
    for row in rows:
        notice = row.notice
        case_id = notice.case_id or (notice.task.case_id if notice.task else None)
        if case_id is not None:
            shown.setdefault(case_id, []).append(row.pk)
    case_services.access_log_write_by_case(
        user=user,
        action="list",
        object_type="notification",
        ids_by_case=shown,
        client_address=client_address(request),
        request_id=getattr(request, "request_id", ""),
        path=request.path,
    )
    return render(request, "navigation/notifications.html", {"notifications": rows})


@login_required
@require_POST
def case_assign_page(request: HttpRequest, case_id: int) -> HttpResponse:
    user = acting_user(request)
    if not user.has_perm("heart_cases.assign_case"):
        raise PermissionDenied
    case = case_selectors.case_get_for_user(user=user, case_id=case_id)
    form = CaseAssignInput(data=request.POST.dict())
    pair = None
    if form.is_valid():
        pair = Pair.objects.filter(pk=form.validated_data["pair"]).first()
    if pair is None:
        messages.error(request, _("Choose a pair."))
        return redirect("case", case_id=case.pk)
    try:
        services.case_reassign(
            actor=user,
            case=case,
            pair=pair,
            reason=form.validated_data.get("reason") or "no reason given",
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Case %(number)s now belongs to %(pair)s.") % {"number": case.number, "pair": pair},
        )
    return redirect("case", case_id=case.pk)
