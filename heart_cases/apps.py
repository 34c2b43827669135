from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_role_groups(**kwargs: Any) -> None:
    from .roles import ensure_role_groups

    ensure_role_groups()


class HeartCasesConfig(AppConfig):
    name = "heart_cases"
    verbose_name = "Neighbor cases"

    def ready(self) -> None:
        post_migrate.connect(_ensure_role_groups, sender=self, dispatch_uid="heart_role_groups")
        from . import language  # noqa: F401  (its login signal keeps each person's language)
        from .notes import register as register_notes

        register_notes()
