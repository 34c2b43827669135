from __future__ import annotations

from django.apps import AppConfig


class NavigationConfig(AppConfig):
    name = "navigation"
    verbose_name = "Care navigation"

    def ready(self) -> None:
        from . import hooks

        hooks.register()
