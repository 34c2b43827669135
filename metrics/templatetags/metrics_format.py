"""How the dashboard writes its numbers: counts with thousands separators, rates as percents,
and a dash where there is nothing to divide by."""

from __future__ import annotations

from django import template

register = template.Library()

NOTHING = "—"


@register.filter
def percent(rate: float | None) -> str:
    if rate is None:
        return NOTHING
    return f"{rate:.1%}"


@register.filter
def count(value: int | None) -> str:
    if value is None:
        return NOTHING
    return f"{value:,}"


@register.filter
def hours(value: float | None) -> str:
    if value is None:
        return NOTHING
    return f"{value:.1f} h"


@register.filter
def minutes(value: float | None) -> str:
    if value is None:
        return NOTHING
    return f"{value:.0f} min" if value == int(value) else f"{value:.1f} min"
