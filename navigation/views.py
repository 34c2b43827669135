"""Pages for care navigators: the daily task list, notifications, open cases."""

from __future__ import annotations

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
from heart_cases.roles import role_of
from heart_cases.services import TransitionError

from . import selectors, services
from .api import AttemptInput, CaseAssignInput, task_for_attempt
from .models import ContactAttempt, Notification, Pair

# The attempt form's fields, as an error names them.
FIELD_LABELS = {
    "method": gettext_lazy("Method"),
    "outcome": gettext_lazy("Outcome"),
    "duration_minutes": gettext_lazy("Minutes"),
    "notes": gettext_lazy("Notes"),
    "occurred_at": gettext_lazy("When"),
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


@login_required
def task_list_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not user.has_perm("navigation.view_followuptask"):
        raise PermissionDenied
    now = timezone.now()
    page = selectors.task_page_groups(user=user, now=now)
    ids = [t.pk for group in page["groups"].values() for t in group]
    _log_list(request, "task", ids)
    return render(
        request,
        "navigation/tasks.html",
        {
            **page,
            "now": now,
            "methods": ContactAttempt.Method.choices,
            "outcomes": ContactAttempt.Outcome.choices,
            "role": role_of(user),
        },
    )


@login_required
@require_POST
def attempt_create_page(request: HttpRequest, task_id: int) -> HttpResponse:
    user = acting_user(request)
    if not user.has_perm("navigation.add_contactattempt"):
        raise PermissionDenied
    task = task_for_attempt(user=user, task_id=task_id)
    if not services.can_work_task(user, task):
        messages.error(request, _("Only the assigned pair or a supervisor can log this attempt."))
        return redirect("tasks")
    data = request.POST.dict()
    data.setdefault("occurred_at", timezone.now().isoformat())
    if not data.get("duration_minutes"):
        data.pop("duration_minutes", None)
    form = AttemptInput(data=data)
    if not form.is_valid():
        problems = "; ".join(
            f"{FIELD_LABELS.get(k, k)}: {' '.join(map(str, v))}" for k, v in form.errors.items()
        )
        messages.error(request, _("Not logged: %(problems)s") % {"problems": problems})
        return redirect(f"/tasks/#task-{task.pk}")
    try:
        result = services.attempt_record(actor=user, task=task, **form.validated_data)
    except TransitionError as exc:
        messages.error(request, str(exc))
        return redirect("tasks")
    except services.AttemptInvalid as exc:
        problems = "; ".join(
            f"{FIELD_LABELS.get(k, k)}: {' '.join(map(str, v))}" for k, v in exc.errors.items()
        )
        messages.error(request, _("Not logged: %(problems)s") % {"problems": problems})
        return redirect(f"/tasks/#task-{task.pk}")
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
    else:
        messages.success(
            request, _("Logged: %(outcome)s. Follow-up complete.") % {"outcome": outcome}
        )
    return redirect("tasks")


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
