from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class CallsConfig(AppConfig):
    """Eligible calls: the CAD's view of demand (API.md "Eligible calls"), EIDO, service areas."""

    name = "calls"
    verbose_name = "Eligible calls"

    def ready(self) -> None:
        # Imported here, once the apps are loaded: calls.areas reads the Program choices.
        from calls.areas import service_areas_check

        checks.register(service_areas_check)
