"""Who did it: every history row names a person or a named system actor, never nobody."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

SYSTEM_PREFIX = "system:"


def system_actor(name: str) -> User:
    """The user that stands for a system task, e.g. `system:navigation.sweep_follow_ups`.

    Such users cannot log in: they exist so that history names the task that acted.
    """
    username = f"{SYSTEM_PREFIX}{name}"[:150]
    user, created = User.objects.get_or_create(username=username, defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def is_system_actor(user: User | None) -> bool:
    return bool(user is not None and user.get_username().startswith(SYSTEM_PREFIX))


def stamp(instance: Any, *, actor: User, reason: str) -> Any:
    """Name the actor and the reason on the history row the next save() writes."""
    instance._history_user = actor
    instance._change_reason = reason[:2000]
    return instance


def acting_user(request: Any) -> User:
    """The authenticated person behind a request (views and APIs that require a login)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied(gettext("This needs a logged-in user."))
    return user
