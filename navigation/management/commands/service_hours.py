from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from heart_cases.actors import stamp, system_actor
from navigation.models import ServiceSchedule


class Command(BaseCommand):
    help = "Show the navigation service schedules, or switch the active one (--use NAME)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--program", default="CN")
        parser.add_argument("--use", help="The schedule to make active (its name or a prefix).")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        schedules = ServiceSchedule.objects.filter(program=options["program"]).order_by("id")
        if options["use"]:
            wanted = [s for s in schedules if s.name.lower().startswith(options["use"].lower())]
            if len(wanted) != 1:
                names = ", ".join(repr(s.name) for s in schedules)
                raise CommandError(f"Name one schedule of: {names}.")
            actor = system_actor("command.service_hours")
            for schedule in schedules.select_for_update():
                if schedule.active and schedule.pk != wanted[0].pk:
                    schedule.active = False
                    stamp(schedule, actor=actor, reason="Switched schedules").save()
            chosen = ServiceSchedule.objects.get(pk=wanted[0].pk)
            chosen.active = True
            stamp(chosen, actor=actor, reason="Switched schedules").save()
        for schedule in ServiceSchedule.objects.filter(program=options["program"]).order_by("id"):
            windows = ", ".join(str(w) for w in schedule.windows.all())
            mark = "*" if schedule.active else " "
            holidays = "holidays worked" if schedule.works_holidays else "closed on holidays"
            self.stdout.write(
                f"{mark} {schedule.name} ({schedule.time_zone}; {holidays}): {windows}"
            )
