"""Who did it: every history row names a person or a named system actor, never nobody."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext, gettext_lazy

SYSTEM_PREFIX = "system:"

# What a person reads for each system task that acts (history, notes, the access log): its plain
# name, never `system:navigation.sweep_follow_ups`. Keyed by the name given to system_actor().
SYSTEM_ACTOR_NAMES = {
    "seed_demo": gettext_lazy("Demo data"),
    "navigation.sweep_follow_ups": gettext_lazy("Follow-up sweep"),
    "navigation.assign_case": gettext_lazy("Automatic assignment"),
    "referrals.sweep_referrals": gettext_lazy("Referral sweep"),
    "retention_sweep": gettext_lazy("Retention sweep"),
    "referrals.import_hsds": gettext_lazy("Provider directory import"),
    "command.service_hours": gettext_lazy("Service hours setup"),
    "command.create_pair": gettext_lazy("Pair setup"),
    "command.correct_work_by": gettext_lazy("Work-by correction"),
    "command.create_staff": gettext_lazy("Staff account setup"),
    "heart_cases.staff_create_or_update": gettext_lazy("Staff account setup"),
    "command.import_eligible_calls": gettext_lazy("CAD export import"),
}
# Names that begin alike: a provider's signed link (`provider-link:<slug>`), the benchmarks.
SYSTEM_ACTOR_PREFIXES = {
    "provider-link:": gettext_lazy("Provider's signed link"),
    "bench.": gettext_lazy("Benchmark"),
}


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


def system_actor_name(username: str) -> str | None:
    """A system actor's plain name in the reader's language; None for a person's username."""
    if not username.startswith(SYSTEM_PREFIX):
        return None
    name = username.removeprefix(SYSTEM_PREFIX)
    if name in SYSTEM_ACTOR_NAMES:
        return str(SYSTEM_ACTOR_NAMES[name])
    for prefix, label in SYSTEM_ACTOR_PREFIXES.items():
        if name.startswith(prefix):
            return str(label)
    return gettext("Automatic task")


def actor_display_name(user: User | str | None) -> str:
    """Who acted, as people read it: a person's full name (else username), a system task's
    plain name; "—" for nobody. Takes a user or a username."""
    if user is None or user == "":
        return "—"
    username = user if isinstance(user, str) else user.get_username()
    system = system_actor_name(username)
    if system is not None:
        return system
    if isinstance(user, str):
        return user
    return user.get_full_name() or username


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
