"""Reads for navigation pages and the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from heart_cases.models import Case

from .models import ContactAttempt, FollowUpTask, Pair, PairAssignment


def person_json(user: User) -> dict[str, Any]:
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return {"id": user.pk, "username": user.get_username(), "name": full or user.get_username()}


def pair_json(pair: Pair | None) -> dict[str, Any] | None:
    if pair is None:
        return None
    return {"id": pair.pk, "clinician": person_json(pair.clinician), "peer": person_json(pair.peer)}


def case_current_pair(case: Case) -> Pair | None:
    assignment = (
        PairAssignment.objects.select_related("pair__clinician", "pair__peer")
        .filter(case=case, ended_at__isnull=True)
        .first()
    )
    return assignment.pair if assignment else None


def follow_up_json(task: FollowUpTask) -> dict[str, Any]:
    return {
        "id": task.pk,
        "kind": task.kind,
        "status": task.status,
        "deadline": task.deadline,
        "work_by": task.work_by,
        "outside_service_hours": task.outside_service_hours,
        "pair": task.pair_id,
        "completed_at": task.completed_at,
    }


def case_follow_ups(case: Case) -> list[dict[str, Any]]:
    return [follow_up_json(t) for t in FollowUpTask.objects.filter(case=case).order_by("id")]


def case_attempts(case: Case) -> list[dict[str, Any]]:
    """Every contact attempt on the case, oldest first: who, how, what came of it, the notes."""
    attempts = ContactAttempt.objects.filter(case=case).select_related("made_by")
    return [
        {
            "id": attempt.pk,
            "task": attempt.task_id,
            "method": attempt.method,
            "outcome": attempt.outcome,
            "occurred_at": attempt.occurred_at,
            "duration_minutes": attempt.duration_minutes,
            "notes": attempt.notes,
            "made_by": attempt.made_by.get_username(),
            "contact": attempt.contact_id,
        }
        for attempt in attempts.order_by("occurred_at", "id")
    ]


def pairs_of_user(user: User) -> QuerySet[Pair]:
    return Pair.objects.filter(Q(clinician=user) | Q(peer=user), active=True)


def cases_of_pair(queryset: QuerySet[Case], pair_id: str) -> QuerySet[Case]:
    return queryset.filter(
        pair_assignments__pair_id=pair_id, pair_assignments__ended_at__isnull=True
    )


HOME_CASE_LIMIT = 200


def open_cases_for_home(user: User) -> list[dict[str, Any]]:
    """Open cases the person works: their pairs' cases; everything for who sees all tasks.

    One query whatever the number of cases (the page must stay fast with a year of history).
    """
    cases = Case.objects.filter(status=Case.Status.OPEN)
    if not user.has_perm("heart_cases.view_case"):
        return []
    if not user.has_perm("navigation.view_all_tasks"):
        cases = cases.filter(
            pair_assignments__ended_at__isnull=True,
            pair_assignments__pair__in=pairs_of_user(user),
        )
    rows = cases.select_related("neighbor").order_by("opened_at", "id")[:HOME_CASE_LIMIT]
    return [
        {
            "id": case.pk,
            "number": case.number,
            "opened_at": case.opened_at,
            "neighbor": case.neighbor.display_name,
            "phone": str(case.neighbor.phone) if case.neighbor.phone else "",
            "language": case.neighbor.language,
        }
        for case in rows
    ]


def supervisors() -> list[User]:
    return list(
        User.objects.filter(groups__name="supervisor", is_active=True).select_related(
            "staff_profile"
        )
    )


def case_navigators(case: Case) -> list[User]:
    """Who to tell about a case: its current pair, or the supervisors when it has none."""
    pair = case_current_pair(case)
    if pair is None:
        return supervisors()
    return [pair.clinician, pair.peer]


# --- the task list ------------------------------------------------------------------------


def open_tasks() -> QuerySet[FollowUpTask]:
    """Tasks still owed and not replaced by a later step: what belongs on a list."""
    owed = Q(status=FollowUpTask.Status.PENDING) | Q(
        status=FollowUpTask.Status.MISSED, resolved_at__isnull=True
    )
    return FollowUpTask.objects.filter(owed, next_task__isnull=True, case__status=Case.Status.OPEN)


def with_last_attempt(tasks: QuerySet[FollowUpTask]) -> QuerySet[FollowUpTask]:
    """The latest attempt on the case, as three columns: one query whatever the list's size."""
    latest = ContactAttempt.objects.filter(case_id=OuterRef("case_id")).order_by(
        "-occurred_at", "-id"
    )
    return tasks.annotate(
        last_attempt_at=Subquery(latest.values("occurred_at")[:1]),
        last_attempt_method=Subquery(latest.values("method")[:1]),
        last_attempt_outcome=Subquery(latest.values("outcome")[:1]),
    )


def task_list(
    *, user: User, view: str | None = None, mine: bool = False, now: datetime | None = None
) -> QuerySet[FollowUpTask]:
    """Open tasks ordered by work-by. `view`: overdue (work-by passed), today (the rest of
    today in the program's time zone), upcoming (after today)."""
    now = now or timezone.now()
    tasks = open_tasks()
    if mine or not user.has_perm("navigation.view_all_tasks"):
        tasks = tasks.filter(pair__in=pairs_of_user(user))
    end_of_today = _end_of_day(now)
    if view == "overdue":
        tasks = tasks.filter(work_by__lt=now)
    elif view == "today":
        tasks = tasks.filter(work_by__gte=now, work_by__lt=end_of_today)
    elif view == "upcoming":
        tasks = tasks.filter(work_by__gte=end_of_today)
    return tasks.select_related("case__neighbor__linked_to", "pair").order_by("work_by", "id")


def _end_of_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def task_json(task: FollowUpTask) -> dict[str, Any]:
    # A record a supervisor linked to another shows as the person it is linked to (issue 13).
    neighbor = task.case.neighbor.linked_to or task.case.neighbor
    return {
        "id": task.pk,
        "case": task.case_id,
        "case_number": task.case.number,
        "kind": task.kind,
        "status": task.status,
        "deadline": task.deadline,
        "work_by": task.work_by,
        "outside_service_hours": task.outside_service_hours,
        "due_at": task.due_at,
        "pair": task.pair_id,
        "neighbor": {
            "id": neighbor.pk,
            "display_name": neighbor.display_name,
            "phone": str(neighbor.phone) if neighbor.phone else "",
            "language": neighbor.language,
        },
    }


def task_page_groups(*, user: User, now: datetime) -> dict[str, Any]:
    """The daily task list: overdue, today, upcoming; for who sees all, also the unassigned
    and counts per pair. A fixed number of queries whatever the number of tasks."""
    sees_all = user.has_perm("navigation.view_all_tasks")
    tasks = list(
        with_last_attempt(task_list(user=user, now=now)).select_related(
            "pair__clinician", "pair__peer"
        )
    )
    end_of_today = _end_of_day(now)
    groups: dict[str, list[FollowUpTask]] = {"overdue": [], "today": [], "upcoming": []}
    for task in tasks:
        if task.case.neighbor.linked_to is not None:
            # The page shows a linked record as the person it is linked to (issue 13).
            task.case.neighbor = task.case.neighbor.linked_to
        if task.work_by < now:
            groups["overdue"].append(task)
        elif task.work_by < end_of_today:
            groups["today"].append(task)
        else:
            groups["upcoming"].append(task)
    per_pair: dict[Any, int] = {}
    unassigned = []
    if sees_all:
        for task in tasks:
            if task.pair is None:
                unassigned.append(task)
            else:
                per_pair[task.pair] = per_pair.get(task.pair, 0) + 1
    return {
        "groups": groups,
        "unassigned": unassigned,
        "per_pair": sorted(per_pair.items(), key=lambda item: item[0].pk),
        "sees_all": sees_all,
        "total": len(tasks),
    }
