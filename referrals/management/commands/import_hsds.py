"""`python manage.py import_hsds PATH`: load Open Referral HSDS 3.0 data into the provider
directory (see referrals.hsds): a data package (a folder of CSVs), or a JSON file holding one
service or organization object, a list of them, or an HSDS API page of them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from heart_cases.actors import system_actor
from referrals.hsds import (
    PROGRESS_MIN_ROWS,
    Importer,
    ImportReport,
    JsonImporter,
    PackageError,
    is_json_file,
)


class _DryRun(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Import Open Referral HSDS 3.0 data into the directory: a data package (a folder of "
        "CSVs) or a JSON file of services or organizations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", help="The package folder (or its datapackage.json), or an HSDS JSON file."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Read and report, but change nothing."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        actor = system_actor("referrals.import_hsds")
        if is_json_file(path):
            report = self._json(path, actor, options)
        else:
            report = self._package(path, actor, options)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
        for line in report.summary():
            self.stdout.write(line)

    def _package(self, path: Path, actor: Any, options: dict[str, Any]) -> ImportReport:
        try:
            importer = Importer(path, actor=actor)
        except PackageError as exc:
            raise CommandError(str(exc)) from exc
        tables = importer.total_rows()
        total = sum(len(rows) for rows in tables.values())
        show = not options["no_progress"] and total >= PROGRESS_MIN_ROWS and sys.stderr.isatty()
        with tqdm(total=total, unit="rows", disable=not show, file=sys.stderr) as bar:
            importer.progress = bar.update
            try:
                with transaction.atomic():
                    report = importer.run(tables)
                    if options["dry_run"]:
                        raise _DryRun
            except _DryRun:
                report = importer.report
        return report

    def _json(self, path: Path, actor: Any, options: dict[str, Any]) -> ImportReport:
        try:
            importer = JsonImporter(path, actor=actor)
        except PackageError as exc:
            raise CommandError(str(exc)) from exc
        total = len(importer.objects())
        show = not options["no_progress"] and total >= PROGRESS_MIN_ROWS and sys.stderr.isatty()
        with tqdm(total=total, unit="objects", disable=not show, file=sys.stderr) as bar:
            importer.progress = bar.update
            try:
                with transaction.atomic():
                    report = importer.run()
                    if options["dry_run"]:
                        raise _DryRun
            except _DryRun:
                report = importer.report
        return report
