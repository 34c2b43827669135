"""Celery tasks of this app: thin, named, safe to run twice."""

from __future__ import annotations

import time

from celery import shared_task
from django.utils import timezone

from . import retention
from .queueing import enqueue_now

# A run stops taking batches after this long and queues its own continuation, well inside the
# task time limit (settings.CELERY_TASK_SOFT_TIME_LIMIT): each batch it finished is committed.
RUN_SECONDS = 150.0


@shared_task(name="heart_cases.retention_sweep", max_retries=0)
def retention_sweep() -> int:
    """Beat, daily: de-identify the neighbors past the retention period, a batch at a time."""
    started = time.monotonic()
    erased = 0
    for count in retention.erasing(timezone.now()):
        erased += count
        if time.monotonic() - started > RUN_SECONDS:
            enqueue_now(retention_sweep)
            break
    return erased
