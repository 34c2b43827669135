"""Creating staff accounts and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from knox.models import AuthToken

from .actors import stamp, system_actor
from .hooks import registry
from .models import StaffProfile
from .roles import Role, ensure_role_groups


class StaffError(ValueError):
    pass


@dataclass
class StaffResult:
    user: User
    created: bool
    token: str
    revoked_tokens: int = 0


@transaction.atomic
def staff_create_or_update(
    *,
    username: str,
    role: str,
    languages: list[str],
    password: str | None = None,
    provider_slug: str | None = None,
    service_account: bool = False,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    revoke_tokens: bool = False,
    actor: User | None = None,
) -> StaffResult:
    """Create or update a staff member with exactly one role, and issue a fresh API token.

    `revoke_tokens` first deletes every earlier token of the account (a lost device, a leaked
    CAD token). History names `actor`, by default a system actor: never the account itself,
    which did not change itself.
    """
    if role not in Role.values:
        raise StaffError(f"Unknown role {role!r}; one of: {' '.join(Role.values)}.")
    if role == Role.PROVIDER and not provider_slug:
        raise StaffError("A provider staff member needs --provider SLUG.")
    if provider_slug and role != Role.PROVIDER:
        raise StaffError("--provider is only for the provider role.")
    if not Group.objects.filter(name=role).exists():
        ensure_role_groups()
    if actor is None:
        actor = system_actor("heart_cases.staff_create_or_update")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if first_name:
        user.first_name = first_name
    if last_name:
        user.last_name = last_name
    if email:
        user.email = email
    user.is_active = True
    user.is_staff = role == Role.ADMIN
    user.is_superuser = role == Role.ADMIN
    if password:
        user.set_password(password)
    elif created:
        user.set_unusable_password()
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    profile = StaffProfile.objects.filter(user=user).first() or StaffProfile(user=user)
    profile.languages = languages or ["en"]
    profile.is_service_account = service_account
    stamp(profile, actor=actor, reason=f"Staff account: {role}").save()
    if provider_slug:
        if registry.provider_binder is None:
            raise StaffError("Provider staff need the referrals app.")
        registry.provider_binder(user, provider_slug, actor)
    revoked = AuthToken.objects.filter(user=user).delete()[0] if revoke_tokens else 0
    ttl = settings.HEART_SERVICE_TOKEN_TTL if service_account else settings.HEART_TOKEN_TTL
    _, token = AuthToken.objects.create(user=user, expiry=ttl)
    return StaffResult(user=user, created=created, token=token, revoked_tokens=revoked)
