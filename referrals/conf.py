"""The referral loop's clocks. Settings may override them (they are configuration, not code);
the defaults are the program's rules (API.md)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def chase_after_business_days() -> int:
    return int(getattr(settings, "HEART_REFERRAL_CHASE_BUSINESS_DAYS", 2))


def expire_after_business_days() -> int:
    return int(getattr(settings, "HEART_REFERRAL_EXPIRE_BUSINESS_DAYS", 5))


def link_max_age() -> timedelta:
    return timedelta(days=int(getattr(settings, "HEART_REFERRAL_LINK_DAYS", 14)))


# Work the sweep takes in one transaction; a full batch re-enqueues the sweep at once.
SWEEP_BATCH = 500
# An email queued this long ago and still not sent lost its message: the sweep queues it again,
# waiting twice as long after each try (capped), so a broker down for hours loses nothing.
EMAIL_RETRY_AFTER = timedelta(minutes=2)
EMAIL_RETRY_MAX_WAIT = timedelta(hours=2)
EMAIL_MAX_ATTEMPTS = 30
