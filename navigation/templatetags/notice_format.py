"""`when`: Django's `date` filter for the few format characters notices use, without its cost.

A sweep renders thousands of notices a minute, each with two or three dates; Django's date
formatting (a formatter object and a translation lookup per character) was most of that work.
`when` gives the same text (tests compare the two, in English and Spanish) and hands any other
format to Django's own filter.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django import template
from django.template.defaultfilters import date as django_date
from django.utils import translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR

register = template.Library()

SUPPORTED = frozenset("DMjHiYmd")
# Characters Django copies as they are (anything not a format character).
LITERAL = frozenset(" ,:-/().")


@lru_cache(maxsize=64)
def _tokens(fmt: str) -> tuple[str, ...] | None:
    """The format as format characters and literal runs; None if `when` cannot do it alone."""
    tokens: list[str] = []
    for char in fmt:
        if char in SUPPORTED:
            tokens.append(char)
        elif char in LITERAL:
            if tokens and tokens[-1][0] in LITERAL:
                tokens[-1] += char
            else:
                tokens.append(char)
        else:
            return None
    return tuple(tokens)


@lru_cache(maxsize=8)
def _names(language: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Day and month abbreviations in the active language, as Django's `D` and `M` give them."""
    days = tuple(str(WEEKDAYS_ABBR[day]) for day in range(7))
    months = ("", *(str(MONTHS_3[month]).title() for month in range(1, 13)))
    return days, months


@register.filter(expects_localtime=True, is_safe=False)
def when(value: datetime | None, fmt: str) -> str:
    if not isinstance(value, datetime):
        return django_date(value, fmt)
    tokens = _tokens(fmt)
    if tokens is None:
        return django_date(value, fmt)
    days, months = _names(translation.get_language())
    parts = []
    for part in tokens:
        if part == "D":
            parts.append(days[value.weekday()])
        elif part == "M":
            parts.append(months[value.month])
        elif part == "j":
            parts.append(str(value.day))
        elif part == "H":
            parts.append(f"{value.hour:02d}")
        elif part == "i":
            parts.append(f"{value.minute:02d}")
        elif part == "Y":
            parts.append(f"{value.year:04d}")
        elif part == "m":
            parts.append(f"{value.month:02d}")
        elif part == "d":
            parts.append(f"{value.day:02d}")
        else:
            parts.append(part)
    return "".join(parts)
