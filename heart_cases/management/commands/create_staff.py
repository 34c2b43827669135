from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from heart_cases.actors import system_actor
from heart_cases.roles import Role
from heart_cases.staff import StaffError, staff_create_or_update


class Command(BaseCommand):
    help = "Create or update a staff member; prints the new API token on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--provider", help="Provider slug (provider role only).")
        parser.add_argument("--languages", default="en", help="Comma-separated, e.g. en,es.")
        parser.add_argument("--password")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--service",
            action="store_true",
            help="A service account (e.g. the CAD integration): its token lives longer.",
        )
        parser.add_argument(
            "--revoke-tokens",
            action="store_true",
            help="Revoke every earlier token of the account first (a lost device, a leaked token).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        languages = [code.strip() for code in options["languages"].split(",") if code.strip()]
        try:
            result = staff_create_or_update(
                username=options["username"],
                role=options["role"],
                languages=languages,
                password=options["password"],
                provider_slug=options["provider"],
                service_account=options["service"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
                revoke_tokens=options["revoke_tokens"],
                actor=system_actor("command.create_staff"),
            )
        except StaffError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if result.created else "Updated"
        self.stderr.write(f"{verb} {options['role']} {result.user.get_username()}.")
        if options["revoke_tokens"]:
            self.stderr.write(f"Revoked {result.revoked_tokens} earlier token(s).")
        self.stdout.write(result.token)
