"""Follow-ups whose 48 hours hold no service time are not born overdue (issue 18, DESIGN.md):
their work-by is the first moment of service after the encounter, the task and the metrics say
that the 48 hours fell outside service hours, and they are missed only once that first window
of service ends without a contact. Pilot (Mon–Fri 09:00–19:00, holidays off) and expanded
(every day 07:00–19:00, holidays worked) schedules, around a weekend and Thanksgiving."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from heart_cases.actors import system_actor
from metrics.selectors import period_check, program_metrics
from navigation import hours, sweeps
from navigation.models import FollowUpTask, Notice
from navigation.services import attempt_record, case_assign_auto
from tests.conftest import field_response_body

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


SATURDAY_7 = at(2026, 11, 21, 7, 0)
FRIDAY_17 = at(2026, 11, 20, 17, 0)
SUNDAY_7 = at(2026, 11, 22, 7, 0)
SATURDAY_AFTER_THANKSGIVING_7 = at(2026, 11, 28, 7, 0)

PILOT = [
    # encounter, work-by, outside service hours
    (SATURDAY_7, at(2026, 11, 23, 9, 0), True),
    (FRIDAY_17, at(2026, 11, 20, 19, 0), False),
    (SUNDAY_7, at(2026, 11, 23, 19, 0), False),
    # Thanksgiving (Thu 26) and the day after (Fri 27, a NC holiday) are off: the Monday after.
    (SATURDAY_AFTER_THANKSGIVING_7, at(2026, 11, 30, 9, 0), True),
]
EXPANDED = [
    (SATURDAY_7, at(2026, 11, 23, 7, 0), False),
    (FRIDAY_17, at(2026, 11, 22, 17, 0), False),
    (SUNDAY_7, at(2026, 11, 24, 7, 0), False),
    (SATURDAY_AFTER_THANKSGIVING_7, at(2026, 11, 30, 7, 0), False),
]


@pytest.mark.parametrize(("encounter", "work_by", "outside"), PILOT)
def test_the_pilot_schedule(encounter, work_by, outside):
    result = hours.task_work_by(encounter, encounter + timedelta(hours=48), hours.active_hours())
    assert (result.at, result.outside_service_hours) == (work_by, outside)
    assert result.at >= encounter  # never before the encounter: not born overdue
    if outside:
        assert result.first_window_ends == work_by.replace(hour=19)
    else:
        assert result.first_window_ends is None


@pytest.mark.parametrize(("encounter", "work_by", "outside"), EXPANDED)
def test_the_expanded_schedule_has_none_outside(encounter, work_by, outside, expanded_hours):
    result = hours.task_work_by(encounter, encounter + timedelta(hours=48), hours.active_hours())
    assert (result.at, result.outside_service_hours) == (work_by, outside)


def post_encounter(api, responded_at, n=1):
    body = field_response_body(
        incident_number=f"W-{n}",
        responded_at=responded_at.isoformat(),
        cleared_at=(responded_at + timedelta(minutes=30)).isoformat(),
        neighbor={"first_name": f"Weekend{n}", "phone": f"+1 919 555 07{n:02d}"},
    )
    with time_machine.travel(responded_at + timedelta(minutes=45), tick=False):
        response = api.post("/api/v1/field-responses/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def weekend(responder, supervisor, make_pair, make_staff):
    """A Saturday 07:00 encounter and a Friday 17:00 one under the pilot schedule, with a pair."""
    make_staff("boss", "supervisor", email="boss@example.org")
    pair = make_pair("a")
    _, cad = responder
    saturday = post_encounter(cad, SATURDAY_7, 1)
    friday = post_encounter(cad, FRIDAY_17, 2)
    for made in (saturday, friday):
        task = FollowUpTask.objects.get(pk=made["follow_up"]["id"])
        with time_machine.travel(SATURDAY_7 + timedelta(hours=1), tick=False):
            case_assign_auto(actor=system_actor("test"), case=task.case)
    return saturday, friday, pair


def test_intake_says_the_48_hours_fell_outside_service_hours(weekend):
    saturday, friday, _ = weekend
    assert saturday["follow_up"]["outside_service_hours"] is True
    assert saturday["follow_up"]["work_by"] == "2026-11-23T09:00:00-05:00"
    assert saturday["follow_up"]["deadline"] == "2026-11-23T07:00:00-05:00"  # the true 48 h
    assert friday["follow_up"]["outside_service_hours"] is False


def test_the_task_is_not_overdue_over_the_weekend_and_the_list_says_why(weekend, client):
    saturday, friday, pair = weekend
    client.force_login(pair.clinician)
    with time_machine.travel(at(2026, 11, 22, 12, 0), tick=False):
        page = client.get("/tasks/").content.decode()
        overdue = client.get("/api/v1/tasks/?view=overdue").json()["results"]
        upcoming = client.get("/api/v1/tasks/?view=upcoming").json()["results"]
        case_page = client.get(f"/cases/{saturday['case']['id']}/").content.decode()
    # Friday's follow-up was due Friday 19:00 and is overdue; Saturday's is not.
    assert [t["id"] for t in overdue] == [friday["follow_up"]["id"]]
    [mine] = [t for t in upcoming if t["id"] == saturday["follow_up"]["id"]]
    assert mine["outside_service_hours"] is True
    row = page.split(f'id="task-{saturday["follow_up"]["id"]}"')[1].split("</tr>")[0]
    assert "48 hours fell outside service hours" in row
    assert "48 hours fell outside service hours" in case_page
    friday_row = page.split(f'id="task-{friday["follow_up"]["id"]}"')[1].split("</tr>")[0]
    assert "outside service hours" not in friday_row


def run_sweep(when):
    with time_machine.travel(when, tick=False):
        sweeps.sweep(now=when)


def test_it_is_missed_only_when_the_first_service_window_ends_without_contact(weekend):
    saturday, _, _ = weekend
    task_id = saturday["follow_up"]["id"]
    run_sweep(at(2026, 11, 23, 7, 30))  # the 48 hours are up, nobody has been on duty
    run_sweep(at(2026, 11, 23, 18, 59))
    assert FollowUpTask.objects.get(pk=task_id).status == "pending"
    assert not Notice.objects.filter(kind="missed", task_id=task_id).exists()
    run_sweep(at(2026, 11, 23, 19, 1))
    task = FollowUpTask.objects.get(pk=task_id)
    assert task.status == "missed"
    assert Notice.objects.filter(kind="missed", task_id=task_id).count() == 1
    last = task.history.order_by("history_id").last()
    assert "first service window" in last.history_change_reason


def test_the_metrics_count_them_and_keep_the_true_48_hours(weekend, supervisor):
    saturday, _, pair = weekend
    task = FollowUpTask.objects.get(pk=saturday["follow_up"]["id"])
    monday_10 = at(2026, 11, 23, 10, 0)
    with time_machine.travel(monday_10, tick=False):
        attempt_record(
            actor=pair.clinician,
            task=task,
            method="phone",
            outcome="reached",
            occurred_at=monday_10,
            duration_minutes=10,
            notes="",
        )
    with time_machine.travel(at(2026, 11, 30, 12, 0), tick=False):
        period = period_check(at(2026, 11, 16).date(), at(2026, 11, 29).date())
        follow_ups = program_metrics(period=period)["follow_ups"]
        _, api = supervisor
        via_api = api.get("/api/v1/metrics/?start=2026-11-16&end=2026-11-29").json()
    assert follow_ups["due"] == 2
    assert follow_ups["outside_service_hours"] == 1
    # Reached Monday 10:00, three hours after the true 48-hour deadline: not met within 48 h,
    # met by the first service window.
    assert follow_ups["met_within_48h"] == 0
    assert follow_ups["met_by_first_service_window"] == 1
    assert follow_ups["first_service_window_rate"] == 0.5
    assert via_api["follow_ups"]["outside_service_hours"] == 1


def test_steps_after_an_unanswered_call_follow_the_same_rule(weekend):
    _, friday, pair = weekend
    task = FollowUpTask.objects.get(pk=friday["follow_up"]["id"])
    friday_1830 = at(2026, 11, 20, 18, 30)
    with time_machine.travel(friday_1830, tick=False):
        result = attempt_record(
            actor=pair.clinician,
            task=task,
            method="phone",
            outcome="no_answer",
            occurred_at=friday_1830,
            duration_minutes=1,
            notes="",
        )
    retry = result.next_task
    assert retry is not None
    assert retry.work_by >= friday_1830
    assert retry.outside_service_hours is False


def test_existing_open_follow_ups_are_corrected_once_in_history(weekend):
    saturday, friday, _ = weekend
    # As the old rule wrote it: the Friday 19:00 before the encounter, no flag.
    FollowUpTask.objects.filter(pk=saturday["follow_up"]["id"]).update(
        work_by=at(2026, 11, 20, 19, 0), outside_service_hours=False, missed_after=None
    )
    friday_before = FollowUpTask.objects.get(pk=friday["follow_up"]["id"]).work_by
    out = StringIO()
    call_command("correct_work_by", stdout=out)
    assert "Corrected the work-by of 1 open follow-up(s)." in out.getvalue()
    task = FollowUpTask.objects.get(pk=saturday["follow_up"]["id"])
    assert task.work_by == at(2026, 11, 23, 9, 0)
    assert task.outside_service_hours is True
    assert task.missed_after == at(2026, 11, 23, 19, 0)
    last = task.history.order_by("history_id").last()
    assert last.history_user.username == "system:command.correct_work_by"
    assert "outside service hours" in last.history_change_reason
    assert FollowUpTask.objects.get(pk=friday["follow_up"]["id"]).work_by == friday_before
    again = StringIO()
    call_command("correct_work_by", stdout=again)
    assert "Corrected the work-by of 0 open follow-up(s)." in again.getvalue()


def test_rows_written_without_the_new_field_are_not_outside_service_hours(weekend):
    """A worker still running the code from before the field (a rolling deploy), or a bulk SQL
    load such as `make bench`'s, writes tasks without it: the database default answers."""
    from django.db import connection

    _, friday, _ = weekend
    task = FollowUpTask.objects.get(pk=friday["follow_up"]["id"])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO navigation_followuptask (kind, status, deadline, work_by, created_at, "
            "case_id) VALUES ('follow_up', 'pending', %s, %s, %s, %s) RETURNING id",
            [task.deadline, task.work_by, task.created_at, task.case_id],
        )
        (new_id,) = cursor.fetchone()
    assert FollowUpTask.objects.get(pk=new_id).outside_service_hours is False
