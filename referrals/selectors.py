"""Reads for the directory, referrals, the provider portal and the case page, and the access
helpers: staff see every referral; provider staff see only their organization's, and only what
the handoff needs; everyone else sees none. An object a caller may not see is Http404."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import translation

from heart_cases.models import Case

from . import disclosure
from .models import Consent, Provider, ProviderMembership, Referral, Service, ServiceLanguage

VIEW_REFERRAL = "referrals.view_referral"
RESPOND_REFERRAL = "referrals.respond_referral"


# --- who sees what -------------------------------------------------------------------------


def sees_all_referrals(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(VIEW_REFERRAL))


def membership_of(user: User | AnonymousUser) -> ProviderMembership | None:
    if not user.is_authenticated or not user.has_perm(RESPOND_REFERRAL):
        return None
    return ProviderMembership.objects.select_related("provider").filter(user_id=user.pk).first()


def _with_relations(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    return referrals.select_related(
        "case__neighbor",
        "provider",
        "service",
        "consent__obtained_by",
        "requested_by",
        "status_changed_by",
    )


def referrals_visible_to(user: User | AnonymousUser) -> QuerySet[Referral]:
    if sees_all_referrals(user):
        return _with_relations(Referral.objects.all())
    membership = membership_of(user)
    if membership is None:
        return Referral.objects.none()
    return _with_relations(Referral.objects.filter(provider_id=membership.provider_id))


def referrals_answerable_by(user: User | AnonymousUser) -> QuerySet[Referral]:
    """What a person may answer as provider staff: their own organization's referrals only
    (a supervisor sees every referral but answers none for a provider)."""
    membership = membership_of(user)
    if membership is None:
        return Referral.objects.none()
    return _with_relations(Referral.objects.filter(provider_id=membership.provider_id))


def _pk(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


def referral_get_for_user(*, user: User | AnonymousUser, referral_id: int | str) -> Referral:
    referral = referrals_visible_to(user).filter(pk=_pk(referral_id)).first()
    if referral is None:
        raise Http404
    return referral


def referral_get_to_answer(*, user: User | AnonymousUser, referral_id: int | str) -> Referral:
    referral = referrals_answerable_by(user).filter(pk=_pk(referral_id)).first()
    if referral is None:
        raise Http404
    return referral


def referral_list(
    *,
    user: User | AnonymousUser,
    status: str | None = None,
    case_id: int | None = None,
    provider_id: int | None = None,
) -> QuerySet[Referral]:
    referrals = referrals_visible_to(user)
    if status:
        referrals = referrals.filter(status=status)
    if case_id is not None:
        referrals = referrals.filter(case_id=case_id)
    if provider_id is not None:
        referrals = referrals.filter(provider_id=provider_id)
    return referrals


def consent_get_for_user(*, user: User | AnonymousUser, consent_id: int | str) -> Consent:
    if not sees_all_referrals(user):
        raise Http404
    consent = Consent.objects.select_related("provider", "case").filter(pk=_pk(consent_id)).first()
    if consent is None:
        raise Http404
    return consent


# --- the directory -------------------------------------------------------------------------


def provider_directory(
    *, need: str | None = None, language: str | None = None, accepting: bool | None = None
) -> QuerySet[Provider]:
    """Providers with a service for the need in the language (both on the same service); the
    prefetched `matching_services` hold only the services that match."""
    services = Service.objects.all()
    if need:
        services = services.filter(category=need)
    if language:
        services = services.filter(languages__code=language)
    if accepting is not None:
        services = services.filter(accepting_referrals=accepting)
    services = services.distinct().order_by("name", "id")
    providers = Provider.objects.all()
    if accepting is not None:
        providers = providers.filter(accepting_referrals=accepting)
    if need or language or accepting is not None:
        providers = providers.filter(pk__in=services.values("provider_id"))
    return providers.prefetch_related(
        Prefetch(
            "services",
            queryset=services.prefetch_related(
                Prefetch("languages", queryset=ServiceLanguage.objects.order_by("code"))
            ),
            to_attr="matching_services",
        ),
        "locations",
    )


def service_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.pk,
        "name": service.name,
        "category": service.category,
        "languages": [language.code for language in service.languages.all()],
        "accepting_referrals": service.accepting_referrals,
        "description": service.description,
        "hours": service.hours,
        "phone": service.phone,
        "email": service.email,
    }


def provider_json(provider: Provider) -> dict[str, Any]:
    services = getattr(provider, "matching_services", None)
    if services is None:
        services = list(provider.services.order_by("name", "id"))
    return {
        "id": provider.pk,
        "slug": provider.slug,
        "name": provider.name,
        "accepting_referrals": provider.accepting_referrals,
        "description": provider.description,
        "phone": provider.phone,
        "website": provider.website,
        "services": [service_json(s) for s in services],
        "locations": [
            {
                "id": location.pk,
                "name": location.name,
                "address": location.address,
                "latitude": location.latitude,
                "longitude": location.longitude,
                "phone": location.phone,
            }
            for location in provider.locations.all()
        ],
    }


# --- referrals as JSON ---------------------------------------------------------------------


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
    }


def navigator_contact(referral: Referral) -> dict[str, str]:
    """Who at the program the provider can call back: the navigator who made the referral."""
    user = referral.requested_by
    return {"name": user.get_full_name() or user.get_username(), "email": user.email}


def _status_reason(referral: Referral) -> str | None:
    return referral.status_reason or None


def referral_json(
    referral: Referral, *, timeline: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What staff see."""
    neighbor = referral.case.neighbor
    consent = referral.consent
    body: dict[str, Any] = {
        "id": referral.pk,
        "status": referral.status,
        "business_status": referral.business_status,
        "status_reason": _status_reason(referral),
        "status_note": referral.status_note,
        "case": {"id": referral.case_id, "number": referral.case.number},
        "neighbor": {
            "id": neighbor.pk,
            "display_name": neighbor.display_name,
            "phone": str(neighbor.phone) if neighbor.phone else "",
            "language": neighbor.language,
        },
        "provider": {
            "id": referral.provider_id,
            "slug": referral.provider.slug,
            "name": referral.provider.name,
        },
        "service": {
            "id": referral.service_id,
            "name": referral.service.name,
            "category": referral.service.category,
        },
        "reason": referral.reason,
        "consent": {
            "id": consent.pk,
            "obtained": True,
            "method": consent.method,
            "obtained_at": consent.obtained_at,
            "obtained_by": _person(consent.obtained_by),
            "withdrawn_at": consent.withdrawn_at,
            "purpose": consent.purpose,
            "scope": consent.scope,
            "expires_at": consent.expires_at,
            "active": consent.active,
        },
        "part2": referral.is_part2,
        "requested_at": referral.requested_at,
        "requested_by": _person(referral.requested_by),
        "acknowledged_at": referral.acknowledged_at,
        "status_changed_at": referral.status_changed_at,
        "status_changed_by": _person(referral.status_changed_by),
        "handoff_at": referral.handoff_at,
        "ended_at": referral.ended_at,
        "chase_at": referral.chase_at,
        "expire_at": referral.expire_at,
        "chased_at": referral.chased_at,
        "navigator": navigator_contact(referral),
    }
    if timeline is not None:
        body["timeline"] = timeline
    return body


def referral_json_for_provider(
    referral: Referral, *, timeline: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What provider staff see: only what the handoff needs (API.md), and of the neighbor only
    what the consent covers now (referrals.disclosure)."""
    shared = disclosure.provider_view(referral)
    language = translation.get_language()
    body: dict[str, Any] = {
        "id": referral.pk,
        "status": referral.status,
        "business_status": referral.business_status,
        "status_reason": _status_reason(referral),
        "provider": {
            "id": referral.provider_id,
            "slug": referral.provider.slug,
            "name": referral.provider.name,
        },
        "service": {
            "id": referral.service_id,
            "name": referral.service.name,
            "category": referral.service.category,
        },
        "reason": shared.reason,
        "neighbor": {
            "name": shared.name,
            "phone": shared.phone,
            "language": shared.language,
            "withheld": shared.withheld,
        },
        "part2_notice": disclosure.part2_notice(referral, language) or None,
        "navigator": navigator_contact(referral),
        "requested_at": referral.requested_at,
        "acknowledged_at": referral.acknowledged_at,
        "status_changed_at": referral.status_changed_at,
        "handoff_at": referral.handoff_at,
        "ended_at": referral.ended_at,
    }
    if timeline is not None:
        body["timeline"] = [
            {k: entry[k] for k in ("at", "status", "business_status")} for entry in timeline
        ]
    return body


def referral_json_for(
    user: User | AnonymousUser, referral: Referral, *, with_timeline: bool = False
) -> dict[str, Any]:
    timeline = referral_timelines([referral]).get(referral.pk, []) if with_timeline else None
    if sees_all_referrals(user):
        return referral_json(referral, timeline=timeline)
    return referral_json_for_provider(referral, timeline=timeline)


def referral_timelines(referrals: Iterable[Referral]) -> dict[int, list[dict[str, Any]]]:
    """Each referral's status steps, oldest first, from its history: one query for all."""
    ids = [r.pk for r in referrals]
    if not ids:
        return {}
    rows = (
        Referral.history.filter(id__in=ids)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    timelines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    last: dict[int, tuple[str, str]] = {}
    for row in rows:
        state = (row.status, row.business_status)
        if last.get(row.id) == state:
            continue
        last[row.id] = state
        user = row.history_user
        timelines[row.id].append(
            {
                "at": row.history_date,
                "status": row.status,
                "business_status": row.business_status,
                "actor": (user.get_full_name() or user.get_username()) if user else None,
                "reason": row.history_change_reason or "",
            }
        )
    return dict(timelines)


def case_referrals(case: Case) -> list[dict[str, Any]]:
    """The case's referrals with their timelines (the case section of GET /cases/{id}/)."""
    referrals = list(_with_relations(Referral.objects.filter(case=case)).order_by("id"))
    timelines = referral_timelines(referrals)
    return [referral_json(r, timeline=timelines.get(r.pk, [])) for r in referrals]


# --- the provider inbox --------------------------------------------------------------------

INBOX_CLOSED_LIMIT = 50
INBOX_OPEN_LIMIT = 500


def provider_inbox(provider: Provider) -> dict[str, list[Referral]]:
    """A provider's referrals by what they need from it: new, accepted (or waitlisted), in
    progress, and the most recent closed ones. Two queries whatever the volume."""
    referrals = _with_relations(Referral.objects.filter(provider=provider))
    open_rows = list(
        referrals.filter(status__in=Referral.OPEN_STATUSES).order_by("requested_at", "id")[
            :INBOX_OPEN_LIMIT
        ]
    )
    closed = list(
        referrals.exclude(status__in=Referral.OPEN_STATUSES).order_by("-status_changed_at", "-id")[
            :INBOX_CLOSED_LIMIT
        ]
    )
    S = Referral.Status
    return {
        "new": [r for r in open_rows if r.status == S.REQUESTED],
        "accepted": [r for r in open_rows if r.status in (S.ACCEPTED, S.ON_HOLD)],
        "in_progress": [r for r in open_rows if r.status == S.IN_PROGRESS],
        "closed": closed,
    }
