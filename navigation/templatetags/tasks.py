from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.translation import gettext as _

from heart_cases.models import Case
from navigation.models import ContactAttempt, FollowUpTask

register = template.Library()


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, minutes = divmod(minutes, 60 * 24)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min") % {"minutes": minutes}


@register.simple_tag
def time_left(moment: datetime, now: datetime) -> str:
    """'3 h 20 min left' or 'late by 1 h 5 min'."""
    seconds = (moment - now).total_seconds()
    if seconds >= 0:
        return _("%(span)s left") % {"span": _span(seconds)}
    return _("late by %(span)s") % {"span": _span(seconds)}


@register.filter
def task_kind(code: str) -> str:
    """A follow-up's kind code ("retry_call") as the page says it."""
    return str(dict(FollowUpTask.Kind.choices).get(code, code))


@register.filter
def task_status(code: str) -> str:
    return str(dict(FollowUpTask.Status.choices).get(code, code))


@register.filter
def attempt_method(code: str) -> str:
    return str(dict(ContactAttempt.Method.choices).get(code, code))


@register.filter
def attempt_outcome(code: str) -> str:
    return str(dict(ContactAttempt.Outcome.choices).get(code, code))


@register.simple_tag
def case_outcomes() -> list[tuple[str, str]]:
    """The outcomes a case may be closed with, for the case page's close form."""
    return [(value, str(label)) for value, label in Case.Outcome.choices]
