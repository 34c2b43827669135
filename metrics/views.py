"""The metrics dashboard and the monthly report download, for supervisors and analysts."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from heart_cases import services as case_services
from heart_cases.middleware import client_address

from . import charts, facts, report, selectors

PERMISSION = "heart_cases.view_metrics"

# The demographic tables' titles and fixed values, as the page shows them. The API and the
# monthly report keep selectors' English keys; only the page translates them.
DIMENSION_TITLES = {
    "gender": _("Gender"),
    "race": _("Race"),
    "ethnicity": _("Ethnicity"),
    "language": _("Language"),
    "housing": _("Housing"),
    "age_band": _("Age on the period's first day"),
}
SHOWN_VALUES = {
    "Not recorded": _("Not recorded"),
    "Unsheltered": _("Unsheltered"),
    "Not recorded as unsheltered": _("Not recorded as unsheltered"),
    "English": _("English"),
    "Spanish": _("Spanish"),
    "Under 18": _("Under 18"),
    "65 and over": _("65 and over"),
}


def _period_from(request: HttpRequest) -> tuple[selectors.Period, dict[str, list[str]]]:
    """The period the form asks for; the default one (and the errors) when it is wrong."""
    default = selectors.default_period()
    raw = {name: request.GET.get(name, "").strip() for name in ("start", "end")}
    if not raw["start"] and not raw["end"]:
        return default, {}
    errors: dict[str, list[str]] = {}
    parsed: dict[str, date] = {}
    for name, value in raw.items():
        try:
            parsed[name] = date.fromisoformat(value)
        except ValueError:
            errors[name] = [str(_("A date as YYYY-MM-DD."))]
    if errors:
        return default, errors
    try:
        return selectors.period_check(parsed["start"], parsed["end"]), {}
    except selectors.PeriodInvalid as exc:
        return default, exc.errors


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    period, errors = _period_from(request)
    metrics = selectors.program_metrics(period=period)
    reports = [
        {
            "label": date_format(date(year, month, 1), "F Y"),
            "url": reverse("metrics-monthly-report", kwargs={"month": f"{year:04d}-{month:02d}"}),
        }
        for year, month in reversed(period.months()[-12:])
    ]
    context: dict[str, Any] = {
        "period": period,
        "form": {
            "start": request.GET.get("start", period.start.isoformat()),
            "end": request.GET.get("end", period.end.isoformat()),
        },
        "errors": errors,
        "metrics": metrics,
        "charts": charts.dashboard_charts(metrics),
        "demographics": [
            {
                "title": DIMENSION_TITLES.get(name, title),
                "cells": [
                    {**cell, "value": SHOWN_VALUES.get(cell["value"], cell["value"])}
                    for cell in metrics["demographics"][name]
                ],
            }
            for name, title in selectors.DIMENSIONS
        ],
        "reports": reports,
        "programs": selectors.PROGRAMS,
        "pending_counted_up_to": facts.PENDING_COUNTED_UP_TO,
    }
    return render(request, "metrics/dashboard.html", context, status=400 if errors else 200)


@login_required
def monthly_report_download(request: HttpRequest, month: str) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    year, month_number = (int(part) for part in month.split("-"))
    try:
        # A data file for the city: the same words whatever the page's language.
        with translation.override("en"):
            content = report.monthly_report_csv(year=year, month=month_number)
    except selectors.PeriodInvalid as exc:
        raise Http404 from exc
    case_services.access_log_write(
        user=request.user,
        action="export",
        object_type="monthly_report",
        object_ids=[],
        client_address=client_address(request),
        request_id=getattr(request, "request_id", ""),
        path=request.path,
    )
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    filename = report.report_filename(year, month_number)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
