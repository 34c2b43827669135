"""Beat stopped for 30 minutes, then two beats at once: every overdue follow-up escalated
once, none twice. And 50 identical intakes at once still make one case."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections

from heart_cases.actors import system_actor
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation import sweeps
from navigation.models import FollowUpTask, Notice, Notification
from navigation.services import case_assign_auto
from tests.concurrency import run_together
from tests.heart_cases.test_intake_concurrency import (
    test_fifty_identical_posts_at_once_make_one_case as fifty_identical_posts_make_one_case,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs SKIP LOCKED"),
]
NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


def test_beat_stopped_for_thirty_minutes_then_two_beats_escalate_each_follow_up_once(
    make_pair, make_staff
):

    make_staff("boss", "supervisor")
    make_staff("boss2", "supervisor")
    responder, _token = make_staff("cad", "responder")
    make_pair("a", capacity=200)
    # 60 follow-ups whose deadlines fall one every 30 s across the half hour beat is down.
    with time_machine.travel(MONDAY_10, tick=False):
        for i in range(60):
            result = field_response_record(
                actor=responder,
                data=FieldResponseInput(
                    incident_number=f"B-{i}",
                    unit="CRT-1",
                    program="CRT",
                    call_type="Trespass",
                    responded_at=MONDAY_10 - timedelta(hours=48) + timedelta(seconds=30 * i),
                    follow_up_consent=True,
                    neighbor=NeighborInput(first_name=f"B{i}", phone=f"+1919556{i:04d}"),
                ),
            )
            case_assign_auto(actor=system_actor("t"), case=result.case)
    with time_machine.travel(MONDAY_10 - timedelta(minutes=1), tick=False):
        sweeps.sweep(now=MONDAY_10 - timedelta(minutes=1))  # the last beat before it stopped
    assert not Notice.objects.filter(kind="missed").exists()
    connections.close_all()

    restarted = MONDAY_10 + timedelta(minutes=31)

    def beat():
        with time_machine.travel(restarted, tick=False):
            for _ in range(3):
                sweeps.sweep_missed(actor=system_actor(sweeps.SWEEP_NAME), now=restarted, batch=11)

    run_together(beat)
    sweeps.sweep(now=restarted)  # whatever the batches left
    assert FollowUpTask.objects.filter(status="missed").count() == 60
    assert Notice.objects.filter(kind="missed").count() == 60
    # Each escalation reached each supervisor exactly once.
    assert Notification.objects.filter(notice__kind="missed").count() == 120


def test_fifty_concurrent_identical_intakes_make_one_case(make_staff, body):
    fifty_identical_posts_make_one_case(make_staff, body)
