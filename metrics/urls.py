"""Pages of this app, included at the site root by heart_cases.urls."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
