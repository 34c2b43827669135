"""What referrals contributes to the core: binding provider staff to their organization."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management.base import CommandError

from heart_cases import hooks
from heart_cases.actors import stamp

from .models import Provider, ProviderMembership


def bind_staff_to_provider(user: User, slug: str) -> None:
    provider = Provider.objects.filter(slug=slug).first()
    if provider is None:
        known = ", ".join(Provider.objects.order_by("slug").values_list("slug", flat=True))
        raise CommandError(f"No provider with slug {slug!r}. Known: {known or 'none yet'}.")
    membership = ProviderMembership.objects.filter(user=user).first() or ProviderMembership(
        user=user
    )
    membership.provider = provider
    stamp(membership, actor=user, reason=f"Staff of {provider.name}").save()


def register() -> None:
    hooks.register_provider_binder(bind_staff_to_provider)
