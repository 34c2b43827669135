"""Small template helpers for the referral pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def with_status(referrals: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    """The referrals (as the case section renders them) that have this status."""
    return [r for r in referrals or [] if r.get("status") == status]
