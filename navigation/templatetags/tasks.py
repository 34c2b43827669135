from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, minutes = divmod(minutes, 60 * 24)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.simple_tag
def time_left(moment: datetime, now: datetime) -> str:
    """'3 h 20 min left' or 'late by 1 h 5 min'."""
    seconds = (moment - now).total_seconds()
    if seconds >= 0:
        return f"{_span(seconds)} left"
    return f"late by {_span(seconds)}"
