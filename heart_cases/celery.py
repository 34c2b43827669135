"""The Celery app (`celery -A heart_cases worker`). Configuration lives in settings.CELERY_*."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heart_cases.settings")

app = Celery("heart_cases")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
