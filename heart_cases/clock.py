"""The range of times the system accepts for something that happened (API.md, Additions of
2026-12): nothing before the programs began (HEART_EARLIEST_RECORD), nothing further ahead of the
server's clock than a tablet's clock may drift (HEART_CLOCK_SKEW_MINUTES).

A field encounter dated in year 1 would otherwise open a follow-up due in year 1, missed at once,
with supervisors told; an attempt dated 1900 would mark a follow-up done.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext


def earliest_record() -> dt.datetime:
    """Midnight at the start of HEART_EARLIEST_RECORD, in the program's time zone."""
    return _midnight(settings.HEART_EARLIEST_RECORD, settings.TIME_ZONE)


@lru_cache(maxsize=8)
def _midnight(day: dt.date, zone: str) -> dt.datetime:
    # Asked for every time a request gives (five a call in an eligible-call batch of 1,000);
    # keyed by the settings, so a test that overrides them gets its own.
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(zone))


def latest_acceptable(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) + dt.timedelta(minutes=settings.HEART_CLOCK_SKEW_MINUTES)


def time_out_of_range(value: dt.datetime, *, now: dt.datetime | None = None) -> str | None:
    """Why `value` cannot be the time of something recorded here, or None if it can."""
    if value < earliest_record():
        return gettext(
            "This is before %(earliest)s, the earliest date this system records; check the year."
        ) % {"earliest": settings.HEART_EARLIEST_RECORD.isoformat()}
    if value > latest_acceptable(now):
        return gettext(
            "This is more than %(minutes)s minutes ahead of the server's clock; check the time "
            "and the UTC offset."
        ) % {"minutes": settings.HEART_CLOCK_SKEW_MINUTES}
    return None
