"""The eligible-call metrics (API.md "Metrics additions", METRICS.md) for one day of calls, as
the CAD and the responders post them — batches, single calls, a replay, a reordered older
version, an EIDO — against a count made by hand from the list below."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from calls.models import EligibleCall
from metrics import facts
from metrics.models import CallDay, CallFact, ResponseMinuteDay
from tests.conftest import field_response_body
from tests.metrics.conftest import local, metrics

pytestmark = pytest.mark.django_db(transaction=False)

DAY = (2026, 11, 20)  # a Friday (weekday 4)
NOW = local(2026, 11, 21, 2, 0)
EIDO = Path(__file__).parent.parent / "calls" / "eido" / "incident-crt-on-scene.json"


def t(hour: int, minute: int = 0, second: int = 0) -> str:
    return (local(*DAY, hour, minute) + timedelta(seconds=second)).isoformat()


def call(incident: str, received: str, outcome: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "incident_number": incident,
        "program": "CRT",
        "call_type": "Trespass",
        "received_at": received,
        "location": {"address": "101 City Hall Plaza, Durham, NC"},
        "outcome": outcome,
        "updated_at": extra.pop("updated_at", received),
    }
    body.update(extra)
    return body


# The day, by hand (local times):
#   A1  CRT 09:00 responded (CAD only); arrived 09:12 -> 12 min; dispatch 09:02 to clear 09:52
#   A2  CRT 10:00 first "unavailable" (10:01), then responded (10:30): arrived 10:20:40 by the
#       CAD, 10:19:10 by the unit's field response -> 19 min; the unit 10:05 -> 11:00:10
#   A3  CCD 11:00 "unavailable", but a CCD unit's field response carries it: responded; no
#       arrival; 11:03 -> 11:33
#   A4  COR 12:00 responded; arrived 12:25 -> 25 min; 12:05 -> 13:00 (COR: not diverted)
#   A5  CRT 13:00 other responder (police)
#   EIDO CRT 14:40 responded (NENA-style document); arrived 14:58 -> 18 min; no clear time
#   A8  CRT 15:00 outside the service area
#   A9  CRT 16:00 cancelled
#   A10 CRT 17:00 other responder (EMS), and a CRT unit went too: responded, arrived 17:30 ->
#       30 min; not diverted (another department went)
#   A6  CRT 02:00 and A7 CRT 20:00 outside hours
#   B1  the evening before (23:59:59 on the 19th) and B2 the next midnight: another day
DAY_CALLS = [
    call(
        "A1",
        t(9),
        "heart_responded",
        dispatched_at=t(9, 2),
        arrived_at=t(9, 12),
        cleared_at=t(9, 52),
    ),
    call("A3", t(11), "heart_unavailable", program="CCD", call_type="Mental health crisis"),
    call(
        "A4",
        t(12),
        "heart_responded",
        program="COR",
        call_type="Physical disturbance",
        dispatched_at=t(12, 5),
        arrived_at=t(12, 25),
        cleared_at=t(13),
    ),
    call("A5", t(13), "other_responder", other_responder="police"),
    call("A8", t(15), "outside_service_area"),
    call("A9", t(16), "cancelled"),
    call("A10", t(17), "other_responder", other_responder="ems"),
    call("A6", t(2), "outside_hours"),
    call("A7", t(20), "outside_hours"),
    call("B1", (local(*DAY) - timedelta(seconds=1)).isoformat(), "outside_hours"),
    call("B2", local(2026, 11, 21).isoformat(), "outside_hours"),
]
A2_UNAVAILABLE = call("A2", t(10), "heart_unavailable", updated_at=t(10, 1))
A2_RESPONDED = call(
    "A2",
    t(10),
    "heart_responded",
    dispatched_at=t(10, 5),
    arrived_at=t(10, 20, 40),
    cleared_at=t(11, 5),
    updated_at=t(10, 30),
)


def unit(incident: str, name: str, program: str, call_type: str, **times: Any) -> dict[str, Any]:
    n = sum(map(ord, incident + name))
    return field_response_body(
        incident_number=incident,
        unit=name,
        program=program,
        call_type=call_type,
        neighbor={"first_name": f"Day{n}", "last_name": "Calls", "phone": f"+1919555{n:04d}"},
        **times,
    )


@pytest.fixture
def day(responder: Any, analyst: APIClient) -> dict[str, Any]:
    user, _ = responder
    client = APIClient()
    client.force_authenticate(user)
    with time_machine.travel(NOW, tick=False):
        # The newer version of A2 first, then the day's batch holding the older one: the
        # reordered feed changes nothing.
        assert (
            client.post("/api/v1/eligible-calls/", A2_RESPONDED, format="json").status_code == 201
        )
        batch = client.post(
            "/api/v1/eligible-calls/batch/",
            {"calls": [*DAY_CALLS, A2_UNAVAILABLE]},
            format="json",
        ).json()["results"]
        assert [r["status"] for r in batch] == [201] * len(DAY_CALLS) + [200]
        assert batch[-1]["applied"] is False
        # The CAD resends the whole batch: nothing changes.
        again = client.post(
            "/api/v1/eligible-calls/batch/", {"calls": DAY_CALLS}, format="json"
        ).json()["results"]
        assert {(r["status"], r["applied"]) for r in again} == {(200, False)}
        document = json.loads(EIDO.read_text())
        for expected in (201, 200):
            answer = client.post("/api/v1/eligible-calls/", document, format="json")
            assert answer.status_code == expected, answer.content
        eido_incident = answer.json()["incident_number"]
        # The HEART units' own field responses.
        units = [
            unit(
                "A2",
                "CRT-2",
                "CRT",
                "Trespass",
                responded_at=t(10, 19, 10),
                dispatched_at=t(10, 5),
                arrived_at=t(10, 19, 10),
                cleared_at=t(11, 0, 10),
                debrief_requested=True,
            ),
            unit(
                "A3",
                "CCD-1",
                "CCD",
                "Mental health crisis",
                responded_at=t(11, 3),
                cleared_at=t(11, 33),
            ),
            unit(
                "A10",
                "CRT-1",
                "CRT",
                "Trespass",
                responded_at=t(17, 30),
                arrived_at=t(17, 30),
                cleared_at=t(18),
            ),
            # A response to an incident the CAD never flagged: not an eligible call.
            unit("X1", "CRT-4", "CRT", "Trespass", responded_at=t(18, 30), cleared_at=t(19)),
        ]
        for body in units:
            answer = client.post("/api/v1/field-responses/", body, format="json")
            assert answer.status_code == 201, answer.content
    return {"eido": eido_incident}


def test_a_day_of_calls_counts_as_by_hand(day: dict[str, Any], analyst: APIClient) -> None:
    assert day["eido"] == "2026-112000123"
    answer = metrics(analyst, "2026-11-20", "2026-11-20", now=NOW)
    calls = answer["eligible_calls"]
    by_hour = calls.pop("by_hour_of_week")
    assert calls == {
        "total": 11,
        "responded_to": 6,
        "response_rate": round(6 / 11, 4),
        "not_responded": {
            "heart_unavailable": 0,
            "outside_hours": 2,
            "outside_service_area": 1,
            "other_responder": 1,
            "cancelled": 1,
        },
        "by_program": {"CCD": 1, "CRT": 4, "COR": 1},
        "total_by_program": {"CCD": 1, "CRT": 9, "COR": 1},
        "incidents_with_field_responses": {
            "total": 4,
            "by_program": {"CCD": 1, "CRT": 3, "COR": 0},
        },
    }
    assert len(by_hour) == 7 * 24
    assert [(c["weekday"], c["hour"]) for c in by_hour[:2]] == [(0, 0), (0, 1)]
    friday = {c["hour"]: (c["total"], c["responded_to"]) for c in by_hour if c["weekday"] == 4}
    assert {h: v for h, v in friday.items() if v != (0, 0)} == {
        2: (1, 0),
        9: (1, 1),
        10: (1, 1),
        11: (1, 1),
        12: (1, 1),
        13: (1, 0),
        14: (1, 1),
        15: (1, 0),
        16: (1, 0),
        17: (1, 1),
        20: (1, 0),
    }
    assert sum(c["total"] for c in by_hour if c["weekday"] != 4) == 0
    # Minutes to arrival: 12 (A1), 18 (EIDO), 19 (A2's unit), 25 (A4), 30 (A10).
    assert answer["response_time"] == {
        "median_minutes": 19.0,
        "p90_minutes": 28.0,  # position 0.9 * 4 = 3.6: 25 + 0.6 * (30 - 25)
        "calls": 5,
        "by_program": {
            "CCD": {"median_minutes": None, "p90_minutes": None, "calls": 0},
            "CRT": {"median_minutes": 18.5, "p90_minutes": 26.7, "calls": 4},
            "COR": {"median_minutes": 25.0, "p90_minutes": 25.0, "calls": 1},
        },
    }
    # A1 50:00 + A2's unit 55:10 + A3's unit 30:00 + the EIDO call (no clear time) 0.
    assert answer["diverted_from_police"] == {
        "calls": 4,
        "responder_hours": round((3000 + 3310 + 1800) / 3600, 2),
        "programs": ["CCD", "CRT"],
    }
    assert answer["debriefs_requested"] == 1


def test_the_days_around_it_hold_their_own_calls(day: dict[str, Any], analyst: APIClient) -> None:
    before = metrics(analyst, "2026-11-19", "2026-11-19", now=NOW)["eligible_calls"]
    after = metrics(analyst, "2026-11-21", "2026-11-21", now=NOW)["eligible_calls"]
    assert (before["total"], before["not_responded"]["outside_hours"]) == (1, 1)
    assert (after["total"], after["not_responded"]["outside_hours"]) == (1, 1)
    assert before["response_rate"] == 0.0
    week = metrics(analyst, "2026-11-16", "2026-11-22", now=NOW)["eligible_calls"]
    assert week["total"] == 13
    assert week["responded_to"] == 6


def test_folding_changes_in_equals_a_rebuild(day: dict[str, Any], analyst: APIClient) -> None:
    """What the triggers noted and the refresh folded in, call by call, is what a rebuild
    from the source tables computes."""
    metrics(analyst, "2026-11-20", "2026-11-20", now=NOW)

    def snapshot() -> tuple[list[Any], list[Any], list[Any]]:
        return (
            sorted(CallFact.objects.values_list()),
            sorted(CallDay.objects.exclude(calls=0).values_list(*_day_fields(CallDay))),
            sorted(
                ResponseMinuteDay.objects.exclude(calls=0).values_list(
                    *_day_fields(ResponseMinuteDay)
                )
            ),
        )

    folded = snapshot()
    assert len(folded[0]) == EligibleCall.objects.count() == 13
    facts.rebuild()
    assert snapshot() == folded


def test_a_later_change_moves_the_counts(day: dict[str, Any], analyst: APIClient) -> None:
    """A newer version of a call (A5: police went, then the CAD says HEART took it over) and a
    unit's arrival corrected on its field response are counted on the next read."""
    user = EligibleCall.objects.get(incident_number="A5").recorded_by
    client = APIClient()
    client.force_authenticate(user)
    with time_machine.travel(NOW, tick=False):
        taken = call(
            "A5",
            t(13),
            "heart_responded",
            dispatched_at=t(13, 1),
            arrived_at=t(13, 40),
            cleared_at=t(14),
            updated_at=t(14, 5),
        )
        answer = client.post("/api/v1/eligible-calls/", taken, format="json")
    assert answer.json()["applied"] is True
    day_metrics = metrics(analyst, "2026-11-20", "2026-11-20", now=NOW)
    assert day_metrics["eligible_calls"]["responded_to"] == 7
    assert day_metrics["eligible_calls"]["not_responded"]["other_responder"] == 0
    assert day_metrics["response_time"]["calls"] == 6
    assert day_metrics["diverted_from_police"]["calls"] == 5
    # The call is gone from the CAD (a test entry deleted by an administrator): not counted.
    EligibleCall.objects.filter(incident_number="A9").delete()
    day_metrics = metrics(analyst, "2026-11-20", "2026-11-20", now=NOW)
    assert day_metrics["eligible_calls"]["total"] == 10
    assert day_metrics["eligible_calls"]["not_responded"]["cancelled"] == 0


def test_the_year_reads_in_the_same_number_of_queries_as_a_month(
    day: dict[str, Any], analyst: APIClient
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    metrics(analyst, "2026-11-01", "2026-11-30", now=NOW)  # folds the changes in
    counts = []
    for start, end in (("2026-11-01", "2026-11-30"), ("2025-12-01", "2026-11-30")):
        with CaptureQueriesContext(connection) as queries:
            metrics(analyst, start, end, now=NOW)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def _day_fields(model: Any) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.name != "id"]


def test_local_dates_and_hours_follow_the_program_time_zone(
    day: dict[str, Any], analyst: APIClient
) -> None:
    """B1 at 23:59:59 on the 19th, local, is 04:59:59 UTC on the 20th: it is the 19th's."""
    metrics(analyst, "2026-11-19", "2026-11-19", now=NOW)
    fact = CallFact.objects.get(call_id=EligibleCall.objects.get(incident_number="B1").pk)
    assert (fact.local_date.isoformat(), fact.hour) == ("2026-11-19", 23)
    assert datetime.fromisoformat(DAY_CALLS[-2]["received_at"]).utcoffset() == timedelta(hours=-5)


def test_the_monthly_report_carries_the_calls(day: dict[str, Any]) -> None:
    from metrics.report import report_rows
    from metrics.selectors import month_period, program_metrics

    with time_machine.travel(NOW, tick=False):
        rows = report_rows(program_metrics(period=month_period(2026, 11)))
    found = {(section, measure, breakdown): value for section, measure, breakdown, value in rows}
    assert found[("eligible_calls", "total", "")] == "13"
    assert found[("eligible_calls", "responded_to", "")] == "6"
    assert found[("eligible_calls", "response_rate", "")] == f"{6 / 13:.4f}"
    assert found[("eligible_calls", "not_responded", "outside_hours")] == "<5"
    assert found[("eligible_calls", "total_by_program", "CRT")] == "11"
    assert found[("eligible_calls", "by_hour_of_week_total", "Fri 09")] == "<5"
    assert found[("response_time", "median_minutes", "")] == "19.00"
    assert found[("response_time", "p90_minutes", "CRT")] == "suppressed"  # 4 calls
    assert found[("diverted_from_police", "calls", "CCD, CRT")] == "<5"
    assert found[("diverted_from_police", "responder_hours", "CCD, CRT")] == "suppressed"
    assert found[("debriefs", "requested", "")] == "<5"
