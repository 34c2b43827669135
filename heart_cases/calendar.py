"""The program's calendar: its time zone and holidays are configuration, never code.

Holidays come from the `holidays` package for HEART_HOLIDAY_COUNTRY / HEART_HOLIDAY_SUBDIV.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings


def program_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@lru_cache(maxsize=64)
def _holidays(country: str, subdiv: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdiv or None, years=year)


def is_holiday(day: date) -> bool:
    return day in _holidays(settings.HEART_HOLIDAY_COUNTRY, settings.HEART_HOLIDAY_SUBDIV, day.year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_business_days(moment: datetime, days: int) -> datetime:
    """The same local time `days` business days later (weekends and holidays skipped)."""
    local = moment.astimezone(program_zone())
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=program_zone())
