"""Care-navigation operations: pairs, follow-up tasks."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from heart_cases.actors import stamp
from heart_cases.hooks import FollowUpRef
from heart_cases.models import Case, FieldResponse
from heart_cases.services import follow_up_deadline

from . import hours
from .models import FollowUpTask, Pair, PairAssignment


def task_create(
    *,
    actor: User,
    case: Case,
    kind: str,
    deadline: datetime,
    reason: str,
    field_response: FieldResponse | None = None,
    pair: Pair | None = None,
) -> FollowUpTask:
    """A task on the case's pair's list. Its work-by time is the last moment inside service
    hours at or before its deadline; it goes to the case's current pair if there is one."""
    if pair is None:
        current = PairAssignment.objects.filter(case=case, ended_at__isnull=True).first()
        pair = current.pair if current else None
    task = stamp(
        FollowUpTask(
            case=case,
            field_response=field_response,
            kind=kind,
            deadline=deadline,
            work_by=hours.work_by(deadline, hours.active_hours()),
            pair=pair,
        ),
        actor=actor,
        reason=reason,
    )
    task.save()
    return task


def follow_up_schedule(*, actor: User, case: Case, field_response: FieldResponse) -> FollowUpTask:
    """The 48-hour follow-up for a field response: a row with its deadline, swept by beat
    (DESIGN.md: never a 48-hour Celery countdown). One per consented field response, so each
    encounter's clock is kept and counted."""
    return task_create(
        actor=actor,
        case=case,
        kind=FollowUpTask.Kind.FOLLOW_UP,
        deadline=follow_up_deadline(field_response.responded_at),
        field_response=field_response,
        reason=f"48-hour follow-up for {field_response}",
    )


def tasks_cancel_for_closed_case(*, actor: User, case: Case, reason: str) -> None:
    now = timezone.now()
    for task in FollowUpTask.objects.select_for_update().filter(
        case=case, status=FollowUpTask.Status.PENDING
    ):
        task.status = FollowUpTask.Status.CANCELLED
        task.completed_at = now
        stamp(task, actor=actor, reason=reason).save()


class FollowUpScheduler:
    """Registered with heart_cases.hooks so intake can create follow-ups without importing us."""

    def schedule(
        self, *, actor: User, case: Case, field_response: FieldResponse
    ) -> FollowUpRef | None:
        task = follow_up_schedule(actor=actor, case=case, field_response=field_response)
        return FollowUpRef(id=task.pk, deadline=task.deadline, work_by=task.work_by)

    def for_field_response(self, *, field_response: FieldResponse) -> FollowUpRef | None:
        task = (
            FollowUpTask.objects.filter(
                field_response=field_response, kind=FollowUpTask.Kind.FOLLOW_UP
            )
            .order_by("id")
            .first()
        )
        if task is None:
            return None
        return FollowUpRef(id=task.pk, deadline=task.deadline, work_by=task.work_by)


@transaction.atomic
def pair_create(*, actor: User, clinician: User, peer: User) -> Pair:
    existing = Pair.objects.filter(clinician=clinician, peer=peer, active=True).first()
    if existing is not None:
        return existing
    pair = stamp(Pair(clinician=clinician, peer=peer), actor=actor, reason="Pair formed")
    pair.save()
    return pair


@transaction.atomic
def pair_assign(*, actor: User, case: Case, pair: Pair, reason: str) -> PairAssignment:
    """Make `pair` the owner of the case and of its pending tasks; the earlier assignment ends
    (kept in history, and for continuity when the neighbor returns)."""
    now = timezone.now()
    current = PairAssignment.objects.select_for_update().filter(case=case, ended_at__isnull=True)
    for assignment in current:
        if assignment.pair_id == pair.pk:
            return assignment
        assignment.ended_at = now
        stamp(assignment, actor=actor, reason=reason).save()
    assignment = stamp(
        PairAssignment(case=case, pair=pair, assigned_at=now, reason=reason),
        actor=actor,
        reason=reason,
    )
    assignment.save()
    for task in FollowUpTask.objects.select_for_update().filter(
        case=case, status=FollowUpTask.Status.PENDING
    ):
        task.pair = pair
        stamp(task, actor=actor, reason=reason).save()
    return assignment
