"""`python manage.py monthly_report 2026-10 --out FILE.csv`: the month's de-identified metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from heart_cases import services as case_services
from metrics import report, selectors

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class Command(BaseCommand):
    help = (
        "Write the monthly metrics report as CSV (de-identified: no names, phones or dates of "
        "birth; counts under 5 written <5). The export is recorded in the access log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="The month as YYYY-MM, e.g. 2026-10.")
        parser.add_argument("--out", help="File to write; standard output when left out.")

    def handle(self, *args: Any, **options: Any) -> None:
        match = MONTH.match(options["month"])
        if match is None:
            raise CommandError(
                f"Give the month as YYYY-MM, e.g. 2026-10 (not {options['month']!r})."
            )
        year, month = int(match.group(1)), int(match.group(2))
        try:
            content = report.monthly_report_csv(year=year, month=month)
        except selectors.PeriodInvalid as exc:
            raise CommandError(" ".join(exc.errors["month"])) from exc
        out = options.get("out")
        if out:
            path = Path(out)
            try:
                path.write_text(content, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {path}: {exc.strerror}.") from exc
        else:
            self.stdout.write(content, ending="")
        case_services.access_log_write(
            user=None,
            action="export",
            object_type="monthly_report",
            object_ids=[],
            path=f"manage.py monthly_report {options['month']}" + (f" --out {out}" if out else ""),
        )
        if out:
            self.stderr.write(f"Wrote the {year:04d}-{month:02d} report to {out}.")
