"""What referrals contributes to the core: binding provider staff to their organization, the
referrals on a case, their history in the case's timeline, and what closing a case does to
open referrals."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management.base import CommandError

from heart_cases import hooks
from heart_cases.actors import stamp

from .models import Consent, Provider, ProviderMembership, Referral


def bind_staff_to_provider(user: User, slug: str, actor: User) -> None:
    provider = Provider.objects.filter(slug=slug).first()
    if provider is None:
        known = ", ".join(Provider.objects.order_by("slug").values_list("slug", flat=True))
        raise CommandError(f"No provider with slug {slug!r}. Known: {known or 'none yet'}.")
    membership = ProviderMembership.objects.filter(user=user).first() or ProviderMembership(
        user=user
    )
    membership.provider = provider
    stamp(membership, actor=actor, reason=f"Staff of {provider.name}").save()


def register() -> None:
    from . import selectors, services

    hooks.register_provider_binder(bind_staff_to_provider)
    hooks.register_case_section("referrals", selectors.case_referrals, empty=[])
    hooks.register_case_closed(services.referrals_cancel_for_closed_case)
    hooks.register_history_source(
        hooks.HistorySource(
            label=lambda row: f"referral #{row.id}",
            rows=lambda case: Referral.history.filter(case_id=case.pk),
        )
    )
    hooks.register_history_source(
        hooks.HistorySource(
            label=lambda row: f"consent #{row.id} to share",
            rows=lambda case: Consent.history.filter(case_id=case.pk),
        )
    )
