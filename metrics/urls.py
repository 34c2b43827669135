"""Pages of this app, included at the site root by heart_cases.urls."""

from __future__ import annotations

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("metrics/", views.dashboard, name="metrics-dashboard"),
    re_path(
        r"^metrics/reports/(?P<month>[0-9]{4}-[0-9]{2})\.csv$",
        views.monthly_report_download,
        name="metrics-monthly-report",
    ),
]
