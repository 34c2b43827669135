"""De-identify the neighbors past the retention period now (the beat does it nightly)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from heart_cases import retention


class Command(BaseCommand):
    help = (
        "De-identify every neighbor with nothing open and no activity for HEART_RETENTION_DAYS "
        "(names, alias, phones, birth date, addresses, narratives, notes, contacts; live and in "
        "the history). Safe to run again: erased records are not due."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the records due; change nothing."
        )
        parser.add_argument("--batch-size", type=int, default=None, help="Records a transaction.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        since = retention.cutoff(now)
        size = options["batch_size"] or retention.batch_size()
        if size < 1:
            self.stderr.write("--batch-size must be at least 1.")
            raise SystemExit(2)
        self.stdout.write(
            f"Retention (HEART_RETENTION_DAYS={retention.retention_days()}, "
            f"HEART_RETENTION_BATCH={size}): a neighbor with nothing open and no activity since "
            f"{since:%Y-%m-%d} is de-identified by the nightly sweep, resting "
            f"HEART_RETENTION_PAUSE={settings.HEART_RETENTION_PAUSE:g} times each batch's time."
        )
        if options["dry_run"]:
            due = sum(len(ids) for ids in retention.batches(since, size=size))
            self.stdout.write(f"{due} neighbor records are due; nothing was changed (--dry-run).")
            return
        erased = batches = 0
        for count in retention.erasing(now, size=size):
            erased += count
            batches += 1
            self.stdout.write(f"  batch {batches}: {erased} erased so far", ending="\r")
        self.stdout.write(f"\n{erased} neighbor records de-identified in {batches} batches.")
