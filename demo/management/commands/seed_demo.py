"""`manage.py seed_demo`: load the demo city (demo/city.py) into an empty database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.city import DemoCity


class Command(BaseCommand):
    help = (
        "Load the demo city (staff, pairs, providers, a few weeks of field responses, and "
        "contacts, notes, possible duplicates and a police referral)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if field responses exist."
        )
        parser.add_argument("--responses", type=int, default=60)
        parser.add_argument("--days", type=int, default=21)

    def handle(self, *args: Any, **options: Any) -> None:
        DemoCity(self.stdout.write).load(
            responses=options["responses"], days=options["days"], if_empty=options["if_empty"]
        )
