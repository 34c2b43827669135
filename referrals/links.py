"""Signed links for providers without accounts: one referral, expiring, refused once it ends.

The link carries the referral's id and the provider's, signed with the site's key (Django's
`signing`, salted for this use) and time-stamped; nothing is stored, so a leaked link is only
good for one referral, for its provider, until it expires or the referral ends.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext

from . import conf
from .models import Referral

_SALT = "referrals.provider-link"


class LinkRefused(Exception):
    """The link cannot be used; `expired` tells a stale link from a forged or garbled one."""

    def __init__(self, message: str, *, expired: bool = False, ended: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
        self.ended = ended


def link_token(referral: Referral) -> str:
    return signing.dumps({"r": referral.pk, "p": referral.provider_id}, salt=_SALT)


def link_url(referral: Referral) -> str:
    path = reverse("provider-link", args=[link_token(referral)])
    return f"{settings.HEART_BASE_URL}{path}"


def referral_for_link(token: str) -> Referral:
    """The referral a link is for, or LinkRefused: forged, expired, or the referral ended."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=conf.link_max_age())
    except signing.SignatureExpired as exc:
        raise LinkRefused(gettext("This link has expired."), expired=True) from exc
    except signing.BadSignature as exc:
        raise LinkRefused(gettext("This link is not valid.")) from exc
    if not isinstance(payload, dict) or not all(
        isinstance(payload.get(key), int) for key in ("r", "p")
    ):
        raise LinkRefused(gettext("This link is not valid."))
    referral = (
        Referral.objects.select_related(
            "case__neighbor", "provider", "service", "requested_by", "consent"
        )
        .filter(pk=payload["r"], provider_id=payload["p"])
        .first()
    )
    if referral is None:
        raise LinkRefused(gettext("This link is not valid."))
    if not referral.is_open:
        raise LinkRefused(
            gettext("This referral has ended (%(status)s).")
            % {"status": referral.get_status_display().lower()},
            ended=True,
        )
    return referral
