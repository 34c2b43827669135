from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Anonymous liveness: 503 when the database is down; the broker is reported, not fatal,
    because intake keeps working without it (the sweep catches up)."""
    body = {"database": "ok", "broker": "ok"}
    code = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        body["database"] = "down"
        code = 503
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        client.ping()
    except Exception:
        body["broker"] = "down"
    return JsonResponse(body, status=code)
