"""Service hours are configuration: the pilot and the expanded schedule ship, switchable."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from navigation import hours
from navigation.models import ServiceSchedule

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_both_schedules_ship_and_the_pilot_is_active():
    names = dict(ServiceSchedule.objects.values_list("name", "active"))
    assert names == {"Pilot: weekdays 09:00–19:00": True, "Expanded: every day 07:00–19:00": False}


@pytest.mark.parametrize(
    ("deadline", "pilot", "expanded"),
    [
        # Inside hours: the deadline itself.
        (at(2026, 11, 20, 14, 5), at(2026, 11, 20, 14, 5), at(2026, 11, 20, 14, 5)),
        # Sunday evening: the pilot's last moment is Friday 19:00; expanded works Sunday.
        (at(2026, 11, 22, 20, 0), at(2026, 11, 20, 19, 0), at(2026, 11, 22, 19, 0)),
        # Before opening on Tuesday: Monday's close (pilot) — expanded too (opens 07:00).
        (at(2026, 11, 24, 6, 30), at(2026, 11, 23, 19, 0), at(2026, 11, 23, 19, 0)),
        # Friday after Thanksgiving 10:00 (a NC holiday, and Thanksgiving before it): the
        # pilot falls back to Wednesday; expanded works holidays.
        (at(2026, 11, 27, 10, 0), at(2026, 11, 25, 19, 0), at(2026, 11, 27, 10, 0)),
    ],
)
def test_work_by_is_the_last_moment_in_hours_before_the_deadline(
    deadline, pilot, expanded, expanded_hours
):
    expanded_schedule = hours.active_hours()
    assert hours.work_by(deadline, expanded_schedule) == expanded
    ServiceSchedule.objects.update(active=False)
    ServiceSchedule.objects.filter(name__startswith="Pilot").update(active=True)
    assert hours.work_by(deadline, hours.active_hours()) == pilot


def test_work_by_keeps_the_wall_clock_across_daylight_saving():
    # 2026-11-01 02:00 EDT -> EST. A deadline Monday 2 Nov 08:00 EST: Friday 30 Oct 19:00 EDT.
    result = hours.work_by(at(2026, 11, 2, 8, 0), hours.active_hours())
    assert result == at(2026, 10, 30, 19, 0)
    assert result.utcoffset() == timedelta(hours=-4)


def test_four_service_hours_later_skips_the_night_and_the_weekend():
    pilot = hours.active_hours()
    assert hours.add_service_hours(at(2026, 11, 20, 17, 0), timedelta(hours=4), pilot) == at(
        2026, 11, 23, 11, 0
    )
    assert hours.add_service_hours(at(2026, 11, 23, 9, 0), timedelta(hours=4), pilot) == at(
        2026, 11, 23, 13, 0
    )
    assert hours.service_time_between(
        at(2026, 11, 20, 18, 0), at(2026, 11, 23, 10, 0), pilot
    ) == timedelta(hours=2)


def test_intake_uses_the_active_schedule_for_work_by(responder, body):
    _, client = responder
    payload = body(responded_at="2026-11-20T20:00:00-05:00", cleared_at=None)  # Friday night
    import time_machine

    with time_machine.travel(at(2026, 11, 20, 21, 0)):
        data = client.post("/api/v1/field-responses/", payload, format="json").json()
    assert data["follow_up"]["deadline"] == "2026-11-22T20:00:00-05:00"
    # No service time between Friday 20:00 and Sunday 20:00: Monday's opening, flagged
    # (issue 18; it used to be the Friday 19:00 before the encounter, born overdue).
    assert data["follow_up"]["work_by"] == "2026-11-23T09:00:00-05:00"
    assert data["follow_up"]["outside_service_hours"] is True


def test_the_schedule_is_switched_by_a_command_not_code():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("service_hours", "--use", "expanded", stdout=out)
    assert ServiceSchedule.objects.get(active=True).name.startswith("Expanded")
    assert "* Expanded" in out.getvalue()
    assert hours.work_by(at(2026, 11, 22, 20, 0), hours.active_hours()) == at(2026, 11, 22, 19, 0)
    history = ServiceSchedule.history.filter(name__startswith="Expanded").latest("history_id")
    assert history.history_user.username == "system:command.service_hours"


def test_the_active_schedule_is_read_whole_in_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        pilot = hours.active_hours()
    assert str(pilot.zone) == "America/New_York"
    assert pilot.works_holidays is False
    assert sorted(pilot.windows) == [0, 1, 2, 3, 4]
    assert [(o.hour, c.hour) for o, c in pilot.windows[0]] == [(9, 19)]


def test_a_schedule_with_a_split_day_keeps_its_windows_in_order():
    from datetime import time

    schedule = ServiceSchedule.objects.get(active=True)
    schedule.windows.filter(weekday=0).delete()
    schedule.windows.create(weekday=0, opens=time(14, 0), closes=time(19, 0))
    schedule.windows.create(weekday=0, opens=time(9, 0), closes=time(12, 0))
    monday = hours.active_hours().windows[0]
    assert monday == [(time(9, 0), time(12, 0)), (time(14, 0), time(19, 0))]
    # Monday 13:00 is between the windows: work by the morning's close.
    assert hours.work_by(at(2026, 11, 23, 13, 0), hours.active_hours()) == at(2026, 11, 23, 12, 0)


def test_an_active_schedule_without_windows_never_works_and_no_schedule_always_does():
    schedule = ServiceSchedule.objects.get(active=True)
    schedule.windows.all().delete()
    closed = hours.active_hours()
    assert closed.windows == {}
    deadline = at(2026, 11, 23, 13, 0)
    assert hours.work_by(deadline, closed) == deadline
    assert hours.next_window_start(deadline, closed) == deadline
    ServiceSchedule.objects.update(active=False)
    always = hours.active_hours()
    assert set(always.windows) == set(range(7))
    assert hours.work_by(deadline, always) == deadline
