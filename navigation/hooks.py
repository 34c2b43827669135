"""What navigation contributes to the core: follow-ups at intake, the pair on a case, and its
part of the case history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet

from heart_cases import hooks
from heart_cases.models import Case

from . import selectors, services
from .models import ContactAttempt, FollowUpTask, Pair, PairAssignment


def case_page_context(*, case: Case, user: User) -> dict[str, Any]:
    attempts = ContactAttempt.objects.filter(case=case).select_related("made_by")
    pairs = (
        Pair.objects.filter(active=True).select_related("clinician", "peer").order_by("id")
        if user.has_perm("heart_cases.assign_case")
        else Pair.objects.none()
    )
    return {"attempts": list(attempts.order_by("occurred_at", "id")), "pairs": list(pairs)}


def pair_access(user: User, cases: QuerySet[Case]) -> bool:
    """Whether one of `cases` is open to the navigator without a reason: a pair they are or
    were on (an inactive pair too) was ever assigned it, or it is open and has no pair yet
    (waiting cases are anyone's to pick up). One query."""
    theirs = PairAssignment.objects.filter(case=OuterRef("pk")).filter(
        Q(pair__clinician=user) | Q(pair__peer=user)
    )
    has_pair = PairAssignment.objects.filter(case=OuterRef("pk"), ended_at__isnull=True)
    waiting = Q(status=Case.Status.OPEN) & ~Q(Exists(has_pair))
    return cases.filter(Q(Exists(theirs)) | waiting).exists()


def register() -> None:
    hooks.register_follow_up_scheduler(services.FollowUpScheduler())
    hooks.register_case_section(
        "pair", lambda case: selectors.pair_json(selectors.case_current_pair(case)), empty=None
    )
    hooks.register_case_section("follow_ups", selectors.case_follow_ups, empty=[])
    hooks.register_case_section("attempts", selectors.case_attempts, empty=[])
    hooks.register_case_filter("pair", selectors.cases_of_pair)
    hooks.register_case_closed(services.tasks_cancel_for_closed_case)
    hooks.register_case_page_context(case_page_context)
    hooks.register_pair_access(pair_access)
    hooks.register_history_source(
        hooks.HistorySource(
            label=lambda row: f"contact attempt #{row.id}",
            rows=lambda case: ContactAttempt.history.filter(case_id=case.pk),
        )
    )
    hooks.register_history_source(
        hooks.HistorySource(
            label=lambda row: f"{FollowUpTask.Kind(row.kind).label.lower()} #{row.id}",
            rows=lambda case: FollowUpTask.history.filter(case_id=case.pk),
        )
    )
    hooks.register_history_source(
        hooks.HistorySource(
            label=lambda row: f"pair assignment (pair {row.pair_id})",
            rows=lambda case: PairAssignment.history.filter(case_id=case.pk),
        )
    )
