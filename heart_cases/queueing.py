"""Queue Celery work only after the transaction commits, and never let a broker outage fail
the request: the database is the source of truth and the periodic sweeps find whatever a lost
message left undone (DESIGN.md)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: int | str) -> None:
    """Queue `task(*args)` after commit. Arguments are ids, never personal data."""
    transaction.on_commit(lambda: enqueue_now(task, *args))


def enqueue_now(task: Task, *args: Any) -> bool:
    try:
        task.apply_async(args=args)
    except Exception:  # the broker is down or unreachable: the sweep will catch up
        logger.warning("Could not queue %s%s; the sweep will retry it.", task.name, args)
        return False
    return True
