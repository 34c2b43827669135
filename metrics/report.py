"""The monthly report: the month's metrics as a de-identified CSV, fit to publish.

No neighbor's name, phone or date of birth is in it (it is built from aggregates only), and
every count under 5 is written `<5`; a rate or median resting on such a count is written
`suppressed`. Demographic breakdowns also hide a second cell when one hidden cell could be
worked out from the total (METRICS.md). One row per number: section, measure, breakdown, value.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone

from heart_cases.models import Program
from referrals.models import ReasonCode

from . import selectors

HEADER = ["section", "measure", "breakdown", "value"]
UNDER = f"<{selectors.SMALL_CELL}"
SUPPRESSED = "suppressed"


def _count(n: int) -> str:
    return UNDER if n < selectors.SMALL_CELL else str(n)


def _rate(part: int, whole: int) -> str:
    if part < selectors.SMALL_CELL or whole < selectors.SMALL_CELL:
        return SUPPRESSED
    return f"{part / whole:.4f}"


def report_rows(metrics: dict[str, Any]) -> list[list[str]]:
    period = metrics["period"]
    responses = metrics["field_responses"]
    follow_ups = metrics["follow_ups"]
    referrals = metrics["referrals"]
    safety = metrics["responder_safety"]
    programs = dict(Program.choices)
    rows: list[list[str]] = [
        ["report", "period_start", "", period["start"].isoformat()],
        ["report", "period_end", "", period["end"].isoformat()],
        ["report", "time_zone", "", period["time_zone"]],
        ["report", "generated_at", "", timezone.localtime(period["computed_at"]).isoformat()],
        ["report", "small_counts", "", f"counts under {selectors.SMALL_CELL} are written {UNDER}"],
        ["field_responses", "total", "", _count(responses["total"])],
    ]
    rows += [
        ["field_responses", "by_program", f"{code} {programs[code]}", _count(n)]
        for code, n in responses["by_program"].items()
    ]
    for week in responses["by_week"]:
        for code, n in week["by_program"].items():
            rows.append(
                [
                    "field_responses",
                    "by_week",
                    f"{week['week_start'].isoformat()} {code}",
                    _count(n),
                ]
            )
    rows += _eligible_call_rows(metrics)
    rows += [
        ["transport", "transported_to_a_provider", "", _count(metrics["transported"])],
        ["transport", "rate", "", _rate(metrics["transported"], responses["total"])],
        ["cases", "opened", "", _count(metrics["cases_opened"])],
        ["follow_ups", "due", "", _count(follow_ups["due"])],
        [
            "follow_ups",
            "first_attempt_within_48h",
            "",
            _count(follow_ups["first_attempt_within_48h"]),
        ],
        [
            "follow_ups",
            "first_attempt_rate",
            "",
            _rate(follow_ups["first_attempt_within_48h"], follow_ups["due"]),
        ],
        ["follow_ups", "met_within_48h", "", _count(follow_ups["met_within_48h"])],
        ["follow_ups", "rate", "", _rate(follow_ups["met_within_48h"], follow_ups["due"])],
        [
            "follow_ups",
            "median_hours_to_first_contact",
            "",
            SUPPRESSED
            if metrics["follow_ups_with_an_attempt"] < selectors.SMALL_CELL
            else f"{metrics['median_hours_to_first_contact']:.2f}",
        ],
    ]
    for name in ("made", "acknowledged", "accepted", "completed", "declined", "cancelled", "open"):
        rows.append(["referrals", name, "", _count(referrals[name])])
    rows.append(
        ["referrals", "completion_rate", "", _rate(referrals["completed"], referrals["made"])]
    )
    labels = dict(ReasonCode.choices)
    for code, n in referrals["decline_reasons"].items():
        rows.append(["referrals", "declined_because", f"{code} {labels[code]}", _count(n)])
    for code, n in referrals["cancellation_reasons"].items():
        rows.append(["referrals", "cancelled_because", f"{code} {labels[code]}", _count(n)])
    rows += [
        ["safety", "responses_with_an_answer", "", _count(safety["answered"])],
        ["safety", "responder_felt_safe", "", _count(safety["felt_safe"])],
        ["safety", "felt_safe_rate", "", _rate(safety["felt_safe"], safety["answered"])],
        ["neighbors", "served", "", _count(metrics["neighbors_served"])],
        ["neighbors", "repeat_2_or_more_responses", "", _count(metrics["repeat_neighbors"])],
        ["neighbors", "repeat_5_or_more_responses", "", _count(metrics["repeat_neighbors_5_plus"])],
    ]
    rows += [
        ["neighbors", "by_responses_in_period", bucket, _count(n)]
        for bucket, n in metrics["neighbors_by_response_count"].items()
    ]
    demographics = metrics["demographics"]
    for dimension, _title in selectors.DIMENSIONS:
        for cell in demographics[dimension]:
            value = (
                str(cell["neighbors"])
                if cell["neighbors"] is not None
                else UNDER
                if cell["suppressed"] == "under_5"
                else SUPPRESSED
            )
            rows.append(["demographics", dimension, cell["value"], value])
    return rows


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _eligible_call_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """The demand: eligible calls, how many HEART answered and why not the rest, the hour of
    the week, response times and the calls diverted from police (METRICS.md)."""
    eligible = metrics["eligible_calls"]
    total, responded = eligible["total"], eligible["responded_to"]
    rows = [
        ["eligible_calls", "total", "", _count(total)],
        ["eligible_calls", "responded_to", "", _count(responded)],
        ["eligible_calls", "response_rate", "", _rate(responded, total)],
    ]
    rows += [
        ["eligible_calls", "not_responded", outcome, _count(n)]
        for outcome, n in eligible["not_responded"].items()
    ]
    rows += [
        ["eligible_calls", "total_by_program", code, _count(n)]
        for code, n in eligible["total_by_program"].items()
    ]
    rows += [
        ["eligible_calls", "by_program", code, _count(n)]
        for code, n in eligible["by_program"].items()
    ]
    for cell in eligible["by_hour_of_week"]:
        when = f"{WEEKDAYS[cell['weekday']]} {cell['hour']:02d}"
        rows.append(["eligible_calls", "by_hour_of_week_total", when, _count(cell["total"])])
        rows.append(
            ["eligible_calls", "by_hour_of_week_responded_to", when, _count(cell["responded_to"])]
        )
    incidents = eligible["incidents_with_field_responses"]
    rows.append(
        ["eligible_calls", "incidents_with_field_responses", "", _count(incidents["total"])]
    )
    timing = metrics["response_time"]
    for label, cell in [("", timing), *timing["by_program"].items()]:
        for name in ("median_minutes", "p90_minutes"):
            value = cell[name]
            rows.append(
                [
                    "response_time",
                    name,
                    label,
                    SUPPRESSED
                    if cell["calls"] < selectors.SMALL_CELL or value is None
                    else f"{value:.2f}",
                ]
            )
        rows.append(["response_time", "calls", label, _count(cell["calls"])])
    diverted = metrics["diverted_from_police"]
    rows += [
        [
            "diverted_from_police",
            "calls",
            ", ".join(diverted["programs"]),
            _count(diverted["calls"]),
        ],
        [
            "diverted_from_police",
            "responder_hours",
            ", ".join(diverted["programs"]),
            SUPPRESSED
            if diverted["calls"] < selectors.SMALL_CELL
            else f"{diverted['responder_hours']:.2f}",
        ],
        ["debriefs", "requested", "", _count(metrics["debriefs_requested"])],
    ]
    return rows


def monthly_report_csv(*, year: int, month: int) -> str:
    period = selectors.month_period(year, month)
    metrics = selectors.program_metrics(period=period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(report_rows(metrics))
    return out.getvalue()


def report_filename(year: int, month: int) -> str:
    return f"heart-metrics-{year:04d}-{month:02d}.csv"
