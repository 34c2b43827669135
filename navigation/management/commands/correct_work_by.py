from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from heart_cases.actors import system_actor
from navigation.services import follow_ups_correct_work_by


class Command(BaseCommand):
    help = (
        "Once, after upgrading: recompute the work-by of open follow-ups whose 48 hours fell "
        "outside service hours (they were born overdue). Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        changed = follow_ups_correct_work_by(actor=system_actor("command.correct_work_by"))
        self.stdout.write(f"Corrected the work-by of {changed} open follow-up(s).")
