"""The answer to a login that django-axes has locked out (its AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

import math
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """axes' own lockout page and status, with Retry-After: the seconds until the cool-off ends.

    axes takes the signature as is (it retries with two arguments on a TypeError).
    """
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(
        request,
        settings.AXES_LOCKOUT_TEMPLATE,
        {"lockout_minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    seconds = seconds_until_unlocked(request, credentials)
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


def seconds_until_unlocked(request: HttpRequest, credentials: dict[str, Any] | None) -> int | None:
    """axes counts the failures newer than the cool-off; each counted row carries the time of its
    latest failure, so the lock lifts a cool-off after the latest one (a failure while locked out
    starts the cool-off again). None when the lock does not lift by itself."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return None
    handler = AxesProxyHandler.get_implementation()
    latest = [
        attempts.aggregate(latest=Max("attempt_time"))["latest"]
        for attempts in handler.get_user_attempts(request, credentials)
    ]
    last_failure = max((time for time in latest if time is not None), default=timezone.now())
    remaining = (last_failure + cool_off - timezone.now()).total_seconds()
    return max(1, math.ceil(remaining))
