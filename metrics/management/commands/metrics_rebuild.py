"""`python manage.py metrics_rebuild`: recompute the metrics facts from the source tables.

Never needed for correctness (each metrics read folds in what changed, and rebuilds by itself
when the time zone or a definition changed); useful after a bulk load that bypassed the
triggers, or to pay a first build's cost ahead of the first reader.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from metrics import facts
from metrics.models import FollowUpFact, ResponseFact


class Command(BaseCommand):
    help = "Recompute the metrics facts (one row per field response and per follow-up)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        facts.rebuild()
        self.stdout.write(
            f"Rebuilt {ResponseFact.objects.count():,} field response facts and "
            f"{FollowUpFact.objects.count():,} follow-up facts in "
            f"{time.monotonic() - started:.1f} s."
        )
