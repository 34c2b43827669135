"""The eligible-call endpoints, under /api/v1/."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import api

urlpatterns: list[URLPattern] = [
    path("eligible-calls/", api.EligibleCallCreateApi.as_view(), name="eligible-calls"),
    path("eligible-calls/batch/", api.EligibleCallBatchApi.as_view(), name="eligible-calls-batch"),
]
