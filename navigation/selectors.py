"""Reads for navigation pages and the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from heart_cases.models import Case

from .models import FollowUpTask, Pair, PairAssignment


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
        "pair": task.pair_id,
        "completed_at": task.completed_at,
    }


def case_follow_ups(case: Case) -> list[dict[str, Any]]:
    return [follow_up_json(t) for t in FollowUpTask.objects.filter(case=case).order_by("id")]


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
