"""Celery tasks: thin and named."""

from __future__ import annotations

from celery import shared_task

from . import facts


@shared_task(name="metrics.refresh_facts", max_retries=0)
def refresh_facts() -> None:
    """Beat, every minute: fold the changes into the metrics facts. On one database a read
    also folds first (the numbers are live); on a read replica, or with
    HEART_METRICS_REFRESH_ON_READ off, this is what keeps them current."""
    facts.refresh()
