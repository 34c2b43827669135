"""The monthly report: `manage.py monthly_report` and the dashboard's download, de-identified."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import time_machine
from django.core.management import CommandError, call_command

from heart_cases.models import AccessLog
from tests.metrics.conftest import local

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 10, 12)


@pytest.fixture
def october(history):
    """Six field responses of six neighbors with names, phones and birth dates; one in COR."""
    for k in range(6):
        history.respond(
            f"report{k}",
            local(2026, 10, 5 + k, 10),
            program="COR" if k == 0 else "CRT",
            call_type="Threat" if k == 0 else "",
            consent=False,
            date_of_birth=date(1980 + k, 3, 14),
            gender="female",
        )
    return history


def rows(text: str) -> dict[tuple[str, str, str], str]:
    reader = csv.reader(io.StringIO(text))
    assert next(reader) == ["section", "measure", "breakdown", "value"]
    return {(s, m, b): v for s, m, b, v in reader}


def run_report(*args: str) -> str:
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("monthly_report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_command_writes_the_months_metrics_to_a_file(october, tmp_path):
    path = tmp_path / "october.csv"
    run_report("2026-10", "--out", str(path))
    report = rows(path.read_text())
    assert report[("report", "period_start", "")] == "2026-10-01"
    assert report[("report", "period_end", "")] == "2026-10-31"
    assert report[("field_responses", "total", "")] == "6"
    assert report[("neighbors", "served", "")] == "6"
    assert report[("demographics", "gender", "female")] == "6"


# Measures that are not counts: times, written `suppressed` when they rest on a small count.
FIGURES = ("p90_minutes", "responder_hours")


def test_counts_under_five_are_written_as_under_five(october):
    report = rows(run_report("2026-10"))
    assert report[("field_responses", "by_program", "COR Co-Response")] == "<5"
    assert report[("field_responses", "by_program", "CRT Community Response Team")] == "5"
    assert report[("field_responses", "by_program", "CCD Crisis Call Diversion")] == "<5"
    assert report[("transport", "rate", "")] == "suppressed"  # none transported
    assert report[("follow_ups", "median_hours_to_first_contact", "")] == "suppressed"
    # Apart from the report's own facts, every value is `<5`, a count of 5 or more, or a rate
    # or median (`suppressed` when it rests on a count under 5).
    for (section, measure, _), value in report.items():
        if section == "report":
            continue
        if "rate" in measure or "median" in measure or measure in FIGURES:
            assert value == "suppressed" or float(value) >= 0, (measure, value)
        else:
            assert value == "<5" or int(value) >= 5, (section, measure, value)


def test_the_report_names_no_one(october):
    text = run_report("2026-10")
    for person in october.people.values():
        assert person.first_name not in text
        assert person.last_name not in text
        assert person.phone not in text
        assert person.phone[2:] not in text  # national form
        assert person.date_of_birth.isoformat() not in text


def test_each_export_is_in_the_access_log(october, tmp_path):
    run_report("2026-10", "--out", str(tmp_path / "r.csv"))
    entry = AccessLog.objects.get(action="export")
    assert entry.object_type == "monthly_report"
    assert entry.path.startswith("manage.py monthly_report 2026-10")


@pytest.mark.parametrize("month", ["2026-13", "october", "2026-1", "1999-12", "2026-10-01"])
def test_a_bad_month_is_refused_with_a_message(month):
    with pytest.raises(CommandError, match=r"month|YYYY-MM"):
        run_report(month)
    assert not AccessLog.objects.filter(action="export").exists()


def test_the_dashboard_downloads_the_same_report_and_logs_who(client, make_staff, october):
    user, _ = make_staff("report-analyst", "analyst")
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)
        response = client.get("/metrics/reports/2026-10.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="heart-metrics-2026-10.csv"' in response["Content-Disposition"]
    assert rows(response.content.decode()) == rows(run_report("2026-10"))
    assert AccessLog.objects.filter(action="export", user=user).count() == 1


@pytest.mark.parametrize(
    ("role", "status"), [("supervisor", 200), ("clinician", 403), ("provider", 403)]
)
def test_only_metrics_roles_can_download(client, make_staff, role, status):
    user, _ = make_staff(f"download-{role}", role)
    client.force_login(user)
    assert client.get("/metrics/reports/2026-10.csv").status_code == status


def test_a_month_that_does_not_exist_is_not_found(client, make_staff):
    user, _ = make_staff("download-analyst", "analyst")
    client.force_login(user)
    assert client.get("/metrics/reports/2026-13.csv").status_code == 404
    assert not AccessLog.objects.filter(action="export").exists()
