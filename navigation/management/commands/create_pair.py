from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from heart_cases.actors import system_actor
from heart_cases.roles import Role, role_of
from navigation.services import pair_create


class Command(BaseCommand):
    help = "Form a clinician–peer pair; prints the pair id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("clinician")
        parser.add_argument("peer")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        people = {}
        for field, role in (("clinician", Role.CLINICIAN), ("peer", Role.PEER)):
            user = users.filter(username=options[field]).first()
            if user is None:
                raise CommandError(f"No staff member {options[field]!r}.")
            if role_of(user) != role:
                raise CommandError(f"{options[field]!r} is not a {role.label.lower()}.")
            people[field] = user
        pair = pair_create(
            actor=system_actor("command.create_pair"),
            clinician=people["clinician"],
            peer=people["peer"],
        )
        self.stdout.write(str(pair.pk))
