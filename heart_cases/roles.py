"""Roles are Django groups with permissions; code checks permissions, never group names.

The one exception is `role_of`, used to pick a person's landing page and to label them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Role(models.TextChoices):
    RESPONDER = "responder", gettext_lazy("Responder")
    CLINICIAN = "clinician", gettext_lazy("Clinician")
    PEER = "peer", gettext_lazy("Peer support specialist")
    SUPERVISOR = "supervisor", gettext_lazy("Supervisor")
    PROVIDER = "provider", gettext_lazy("Provider staff")
    ANALYST = "analyst", gettext_lazy("Analyst")
    ADMIN = "admin", gettext_lazy("Administrator")


_NAVIGATOR = [
    "heart_cases.view_case",
    "heart_cases.change_case",
    "heart_cases.view_neighbor",
    "heart_cases.add_contact",
    "heart_cases.view_fieldresponse",
    "navigation.view_followuptask",
    "navigation.add_contactattempt",
    "navigation.view_pair",
    "referrals.view_provider",
    "referrals.add_referral",
    "referrals.view_referral",
    "referrals.change_referral",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.RESPONDER: ["heart_cases.record_field_response", "referrals.view_provider"],
    Role.CLINICIAN: _NAVIGATOR,
    Role.PEER: _NAVIGATOR,
    Role.SUPERVISOR: [
        *_NAVIGATOR,
        "heart_cases.record_field_response",
        "heart_cases.assign_case",
        "heart_cases.view_accesslog",
        "heart_cases.view_possibleduplicate",
        "heart_cases.change_possibleduplicate",
        "heart_cases.view_metrics",
        "heart_cases.view_debrief",
        "heart_cases.change_debrief",
        "navigation.view_all_tasks",
    ],
    # API.md: the provider directory is open to any staff role.
    Role.PROVIDER: ["referrals.respond_referral", "referrals.view_provider"],
    Role.ANALYST: ["heart_cases.view_metrics", "referrals.view_provider"],
    Role.ADMIN: [],  # admins are superusers
}


def _permission(dotted: str) -> Permission | None:
    app_label, codename = dotted.split(".", 1)
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()


def ensure_role_groups() -> None:
    """Create one group per role with its permissions. Idempotent; run after every migrate."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [p for p in (_permission(name) for name in dotted_names) if p is not None]
        group.permissions.set(wanted)


def role_of(user: User | AnonymousUser) -> str | None:
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    names = {g.name for g in user.groups.all()}
    for role in Role:
        if role.value in names:
            return role.value
    return None
