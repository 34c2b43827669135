"""API v1 routes of this app, included under /api/v1/ by heart_cases.urls."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("metrics/", api.MetricsApi.as_view(), name="metrics"),
]
