"""The Celery app (`celery -A heart_cases worker`). Configuration lives in settings.CELERY_*."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heart_cases.settings")

app = Celery("heart_cases")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """Database connections in a worker live as they do in a web process: Django closes one
    that has outlived CONN_MAX_AGE, or that an error left unusable, before and after each
    task, and checks the rest before their next use (CONN_HEALTH_CHECKS). Celery's own Django
    fixup would close every connection around every task (settings.CELERY_DB_REUSE_MAX turns
    that off): a new PostgreSQL backend for each sweep batch and each assignment, whose start
    cost the sweep about a fifth of its time. An eager task runs inside its caller's
    transaction, whose connection is not the task's to close."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections as close

    close()
