"""Small template helpers for the referral pages."""

from __future__ import annotations

from typing import Any

from django import template

from referrals.models import Consent, ReasonCode, Referral

register = template.Library()


@register.filter
def with_status(referrals: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    """The referrals (as the case section renders them) that have this status."""
    return [r for r in referrals or [] if r.get("status") == status]


@register.filter
def scope_labels(scope: list[str]) -> str:
    """What a consent covers, in words: "Name and phone, The reason for the referral"."""
    labels = dict(Consent.Scope.choices)
    return ", ".join(str(labels.get(part, part)) for part in scope or [])


@register.filter
def consent_method_label(method: str) -> str:
    return str(dict(Consent.Method.choices).get(method, method))


@register.filter
def referral_status(code: str) -> str:
    """A referral's status code ("on-hold") as the page says it ("Waitlisted")."""
    return str(dict(Referral.Status.choices).get(code, code))


@register.filter
def business_status(code: str) -> str:
    return str(dict(Referral.BusinessStatus.choices).get(code, code))


@register.filter
def reason_code(code: str) -> str:
    return str(dict(ReasonCode.choices).get(code, code))
