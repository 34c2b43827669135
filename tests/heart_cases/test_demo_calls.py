"""The demo city's year of eligible calls (demo/calls.py): the pilot's shape (weekday daytime
service in the pilot area, most calls outside it), agreeing with the demo's field responses,
written once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.utils import timezone

from calls.models import EligibleCall
from demo.calls import REFERRALS, in_pilot_hours
from heart_cases.calendar import program_zone
from heart_cases.models import FieldResponse

pytestmark = pytest.mark.django_db


def seed(*args: str) -> list[str]:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def demo(roles) -> list[str]:
    return seed("--responses", "20", "--days", "7")


def test_a_year_of_calls_in_the_pilots_shape_agreeing_with_the_responses(demo):
    now = timezone.now()
    zone = program_zone()
    calls = list(
        EligibleCall.objects.values_list(
            "incident_number",
            "program",
            "call_type",
            "received_at",
            "outcome",
            "other_responder",
            "in_service_area",
            "arrived_at",
            "cleared_at",
        )
    )
    assert 20_000 <= len(calls) <= 30_000
    assert f"{len(calls)} eligible calls over the past year" in demo[-1]
    span = EligibleCall.objects.aggregate(first=Min("received_at"), last=Max("received_at"))
    assert now - timedelta(days=366) <= span["first"] < now - timedelta(days=360)
    assert now - timedelta(days=1) < span["last"] <= now

    responses = {r.incident_number: r for r in FieldResponse.objects.exclude(source__in=REFERRALS)}
    assert len(responses) >= 21  # the 20 encounters and the workspace's crisis call
    by_incident = {call[0]: call for call in calls}
    for number, response in responses.items():
        _, program, call_type, received_at, outcome, *_ = by_incident[number]
        assert (program, call_type, outcome) == (
            response.program,
            response.call_type,
            "heart_responded",
        ), number
        assert response.responded_at - timedelta(minutes=30) < received_at
        assert received_at < response.responded_at
    # A police referral carries the department's report number: no CAD call of HEART's.
    for referral in FieldResponse.objects.filter(source__in=REFERRALS):
        assert referral.incident_number not in by_incident

    outcomes = Counter(call[4] for call in calls)
    assert set(outcomes) == {
        "heart_responded",
        "heart_unavailable",
        "outside_hours",
        "outside_service_area",
        "other_responder",
        "cancelled",
    }
    # Most demand fell outside the pilot's hours; HEART answered a fifth to a third of it.
    assert outcomes["outside_hours"] > len(calls) / 2
    assert 0.15 < outcomes["heart_responded"] / len(calls) < 0.35
    assert outcomes["heart_unavailable"] > outcomes["other_responder"] > outcomes["cancelled"]

    generated = [call for call in calls if call[0] not in responses]
    open_hours = [call for call in generated if in_pilot_hours(call[3], zone)]
    closed = [call for call in generated if not in_pilot_hours(call[3], zone)]
    assert {call[4] for call in closed} == {"outside_hours"}
    # Nights and weekends, read from the local clock rather than the helper: all outside hours.
    nights_and_weekends = [
        call
        for call in generated
        if (local := call[3].astimezone(zone)).weekday() >= 5 or not 7 <= local.hour < 19
    ]
    assert len(nights_and_weekends) > len(generated) / 2
    assert {call[4] for call in nights_and_weekends} == {"outside_hours"}
    assert {call[4] for call in open_hours if call[6] is False} == {"outside_service_area"}
    served = [call for call in open_hours if call[6] is not False]
    responded = sum(call[4] == "heart_responded" for call in served)
    assert 0.7 < responded / len(served) < 0.9

    # Locations: every generated call has one, most inside the pilot area, many outside.
    areas = Counter(call[6] for call in generated)
    assert areas[None] == 0
    assert areas[True] > areas[False] > len(generated) / 5
    # Other responders named exactly where the outcome says so (the database checks it too).
    assert all((call[4] == "other_responder") == bool(call[5]) for call in calls)
    # Response times of 8 to 25 minutes, calls cleared after arrival.
    minutes = [
        (call[7] - call[3]).total_seconds() / 60
        for call in generated
        if call[4] == "heart_responded" and call[7]
    ]
    assert min(minutes) >= 8
    assert max(minutes) <= 25
    assert all(call[8] is None or call[8] > call[7] for call in generated if call[7])

    # An hour-of-week curve: the afternoon busier than before dawn, weekdays than weekends.
    hours = Counter(call[3].astimezone(zone).hour for call in calls)
    assert sum(hours[h] for h in (15, 16, 17)) > 3 * sum(hours[h] for h in (3, 4, 5))
    days = Counter(call[3].astimezone(zone).weekday() for call in calls)
    assert min(days[d] for d in range(5)) > max(days[5], days[6])

    # Each call written as the CAD feed's would be: one "+" history row, by the CAD account.
    history = EligibleCall.history.model.objects  # type: ignore[attr-defined]
    rows = history.values("history_type", "history_user__username").annotate(n=Count("pk"))
    assert list(rows) == [{"history_type": "+", "history_user__username": "cad", "n": len(calls)}]
    assert set(history.values_list("history_change_reason", flat=True)) == {
        "Eligible call recorded from the CAD (json)"
    }
    assert set(EligibleCall.objects.values_list("recorded_by__username", "source")) == {
        ("cad", "json")
    }


def test_the_calls_are_written_once_and_added_to_a_demo_from_before_them(demo):
    total = EligibleCall.objects.count()
    assert seed("--if-empty") == ["Demo data already loaded; nothing to do."]
    assert seed("--responses", "5")[-1].endswith("added no history.")
    assert EligibleCall.objects.count() == total
    # A demo database loaded before there were eligible calls gets them, once.
    EligibleCall.history.model.objects.all().delete()  # type: ignore[attr-defined]
    EligibleCall.objects.all().delete()
    [line] = seed("--if-empty")
    assert line.startswith("Demo data already loaded; added ")
    added = int(line.split()[5])
    assert 20_000 <= added == EligibleCall.objects.count()
    assert abs(added - total) < 200  # the same demand, drawn again up to a later now
    assert seed("--if-empty") == ["Demo data already loaded; nothing to do."]
    assert EligibleCall.objects.count() == added


def test_a_database_that_is_not_the_demo_gets_no_invented_calls(roles, responder, body):
    _, client = responder
    response = client.post("/api/v1/field-responses/", body(), format="json")
    assert response.status_code == 201, response.content
    seed("--if-empty")
    assert not EligibleCall.objects.exists()
