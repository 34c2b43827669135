"""What navigation contributes to the core: follow-ups at intake, the pair on a case, and its
part of the case history."""

from __future__ import annotations

from heart_cases import hooks

from . import selectors, services
from .models import FollowUpTask, PairAssignment


def register() -> None:
    hooks.register_follow_up_scheduler(services.FollowUpScheduler())
    hooks.register_case_section(
        "pair", lambda case: selectors.pair_json(selectors.case_current_pair(case)), empty=None
    )
    hooks.register_case_section("follow_ups", selectors.case_follow_ups, empty=[])
    hooks.register_case_filter("pair", selectors.cases_of_pair)
    hooks.register_case_closed(services.tasks_cancel_for_closed_case)
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
