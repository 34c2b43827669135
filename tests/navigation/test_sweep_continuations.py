"""A sweep's continuation runs only the parts whose batch was full (issue 19): with 100,000
reminders due, the look for unassigned cases must not run again with each of 200 batches, and a
part left out of a continuation still runs at the next beat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from heart_cases.actors import system_actor
from navigation import sweeps, tasks
from navigation.models import FollowUpTask, Notice, PairAssignment
from navigation.services import case_assign_auto

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks, "enqueue_now", lambda task, *args: calls.append((task, *args)))
    return calls


def test_a_full_batch_of_reminders_queues_continuations_of_the_reminders_alone(
    make_pair, open_case, queued, monkeypatch, settings
):
    settings.HEART_SWEEP_FANOUT = 2
    monkeypatch.setattr(sweeps, "BATCH", 2)
    make_pair("a")
    now = timezone.now()
    for _ in range(3):
        result = open_case(responded_at=now - timedelta(hours=47, minutes=30))
        case_assign_auto(actor=system_actor("test"), case=result.case)

    tasks.sweep_follow_ups()  # as beat queues it: every part

    assert Notice.objects.filter(kind=Notice.Kind.REMINDER).count() == 2
    assert queued == [(tasks.sweep_follow_ups, ["reminders"])] * 2


def test_a_continuation_leaves_the_other_parts_to_the_next_beat(make_pair, open_case, queued):
    make_pair("a")
    result = open_case(responded_at=timezone.now() - timedelta(hours=1))
    PairAssignment.objects.filter(case=result.case).delete()  # as if assignment was lost

    tasks.sweep_follow_ups(["reminders"])
    assert not PairAssignment.objects.filter(case=result.case).exists()
    assert queued == []

    tasks.sweep_follow_ups()  # the next beat
    assert PairAssignment.objects.filter(case=result.case, ended_at__isnull=True).exists()


def test_unknown_parts_from_a_message_fall_back_to_every_part(make_pair, open_case, queued):
    make_pair("a")
    result = open_case(responded_at=timezone.now() - timedelta(hours=1))
    PairAssignment.objects.filter(case=result.case).delete()
    tasks.sweep_follow_ups(["no-such-part"])
    assert PairAssignment.objects.filter(case=result.case, ended_at__isnull=True).exists()
    assert FollowUpTask.objects.filter(case=result.case).exists()
