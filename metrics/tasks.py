"""Celery tasks: thin and named."""

from __future__ import annotations

from celery import shared_task

from . import facts


@shared_task(name="metrics.refresh_facts", max_retries=0)
def refresh_facts() -> None:
    """Beat (optional, e.g. every minute): fold the changes into the metrics facts, so that a
    read after a quiet weekend has little left to do. Each read refreshes them anyway."""
    facts.refresh()
