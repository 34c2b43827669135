"""Service-hours arithmetic: the work-by time of a task, and 'N service hours later'.

The schedule is data (ServiceSchedule): the pilot's Mon–Fri 09:00–19:00 without holidays, or
the expanded every day 07:00–19:00 with holidays; switching is a change of the active row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from heart_cases.calendar import is_holiday

from .models import ServiceSchedule

# How far to look for a window before giving up (a schedule with no windows at all).
_HORIZON_DAYS = 60


@dataclass(frozen=True)
class Hours:
    zone: ZoneInfo
    works_holidays: bool
    windows: dict[int, list[tuple[time, time]]]  # weekday -> [(opens, closes)], sorted

    def day_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.works_holidays and is_holiday(day):
            return []
        return [
            (
                datetime.combine(day, opens, tzinfo=self.zone),
                datetime.combine(day, closes, tzinfo=self.zone),
            )
            for opens, closes in self.windows.get(day.weekday(), [])
        ]

    def windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = moment.astimezone(self.zone).date()
        for offset in range(_HORIZON_DAYS):
            for opens, closes in self.day_windows(day + timedelta(days=offset)):
                if closes > moment:
                    yield max(opens, moment), closes

    def windows_before(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = moment.astimezone(self.zone).date()
        for offset in range(_HORIZON_DAYS):
            for opens, closes in reversed(self.day_windows(day - timedelta(days=offset))):
                if opens <= moment:
                    yield opens, min(closes, moment)


def active_hours(program: str = "CN") -> Hours:
    """The program's active schedule (one per program, by constraint), read in one query: the
    schedule joined to its windows, or one row of nulls for a schedule without windows."""
    rows = list(
        ServiceSchedule.objects.filter(program=program, active=True)
        .order_by("windows__weekday", "windows__opens", "windows__closes")
        .values_list(
            "time_zone", "works_holidays", "windows__weekday", "windows__opens", "windows__closes"
        )
    )
    if not rows:
        # No schedule configured: treat every moment as working time rather than lose work.
        every_day = {day: [(time(0, 0), time(23, 59, 59, 999999))] for day in range(7)}
        return Hours(zone=ZoneInfo("America/New_York"), works_holidays=True, windows=every_day)
    windows: dict[int, list[tuple[time, time]]] = {}
    for _zone, _holidays, weekday, opens, closes in rows:
        if weekday is not None:
            windows.setdefault(weekday, []).append((opens, closes))
    zone, works_holidays = rows[0][0], rows[0][1]
    return Hours(zone=ZoneInfo(zone), works_holidays=works_holidays, windows=windows)


def work_by(deadline: datetime, hours: Hours) -> datetime:
    """The last moment inside service hours at or before the deadline (the deadline itself
    when no window precedes it within the horizon)."""
    for _opens, closes in hours.windows_before(deadline):
        return closes
    return deadline


@dataclass(frozen=True)
class WorkBy:
    """When a task is to be worked by. `outside_service_hours`: no service time lay between the
    task's start and its deadline (a Saturday-morning encounter under weekday-only navigation),
    so its work-by is the first moment of service after the start rather than a moment before
    the start; `first_window_ends` is then the end of that first window of service, until which
    the task is not yet missed."""

    at: datetime
    outside_service_hours: bool = False
    first_window_ends: datetime | None = None


def task_work_by(since: datetime, deadline: datetime, hours: Hours) -> WorkBy:
    """The one rule for a task's work-by (DESIGN.md): the last moment inside service hours at or
    before the deadline; when no service time lies between `since` (the field encounter, or
    the attempt that scheduled the step) and the deadline, the first moment of service after
    `since`, flagged as outside service hours."""
    if since >= deadline or service_time_between(since, deadline, hours) > timedelta(0):
        return WorkBy(at=work_by(deadline, hours))
    for opens, closes in hours.windows_from(since):
        return WorkBy(at=opens, outside_service_hours=True, first_window_ends=closes)
    return WorkBy(at=work_by(deadline, hours))  # no service at all within the horizon


def add_service_hours(start: datetime, amount: timedelta, hours: Hours) -> datetime:
    """The moment when `amount` of service time has passed after `start`."""
    remaining = amount
    for opens, closes in hours.windows_from(start):
        span = closes - opens
        if span >= remaining:
            return opens + remaining
        remaining -= span
    return start + amount


def next_window_start(moment: datetime, hours: Hours) -> datetime:
    for opens, _closes in hours.windows_from(moment):
        return opens
    return moment


def window_end(moment: datetime, hours: Hours) -> datetime:
    """The end of the window `moment` falls in (or of the next one)."""
    for _opens, closes in hours.windows_from(moment):
        return closes
    return moment


def service_time_between(start: datetime, end: datetime, hours: Hours) -> timedelta:
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in hours.windows_from(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total
