"""POST /api/v1/eligible-calls/ and its batch: one row per incident, the newest version wins,
history keeps the earlier ones, bad input is a 400 naming the field and writes nothing."""

from __future__ import annotations

import copy
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from calls import eido
from calls.models import EligibleCall
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from tests.conftest import ROLES, token_client

URL = "/api/v1/eligible-calls/"
BATCH_URL = "/api/v1/eligible-calls/batch/"
pytestmark = pytest.mark.django_db
# A fixed recent time for the whole run, so that the same body is the same body.
RECEIVED = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=6)


def at(minutes: int) -> str:
    return (RECEIVED + timedelta(minutes=minutes)).isoformat()


def call_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "incident_number": "D2026-0100001",
        "program": "CRT",
        "call_type": "Trespass",
        "received_at": at(0),
        "location": {
            "address": "101 City Hall Plaza, Durham, NC",
            "latitude": 35.994,
            "longitude": -78.899,
        },
        "outcome": "heart_responded",
        "other_responder": None,
        "dispatched_at": at(2),
        "arrived_at": at(15),
        "cleared_at": at(60),
        "updated_at": at(61),
    }
    body.update(overrides)
    return copy.deepcopy(body)


def history_of(incident_number: str) -> list[Any]:
    return list(EligibleCall.history.filter(incident_number=incident_number).order_by("history_id"))


def test_a_new_call_is_201_with_every_field(responder):
    user, client = responder
    response = client.post(URL, call_body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    call = EligibleCall.objects.get()
    assert data["id"] == call.pk
    assert data["applied"] is True
    assert data["incident_number"] == "D2026-0100001"
    assert data["program"] == "CRT"
    assert data["call_type"] == "Trespass"
    assert data["outcome"] == "heart_responded"
    assert data["other_responder"] is None
    assert data["location"] == call_body()["location"]
    assert data["source"] == "json"
    assert data["in_service_area"] in (True, False, None)
    assert data["in_service_area"] == call.in_service_area
    assert call.arrived_at == RECEIVED + timedelta(minutes=15)
    assert call.updated_at == RECEIVED + timedelta(minutes=61)
    assert call.recorded_by == user
    [created] = history_of("D2026-0100001")
    assert created.history_type == "+"
    assert created.history_user == user
    assert "recorded" in created.history_change_reason


bulk_statement = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's"
)


@bulk_statement
def test_posting_a_call_takes_a_few_queries(responder, django_assert_max_num_queries):
    _, client = responder
    with django_assert_max_num_queries(8):
        assert client.post(URL, call_body(), format="json").status_code == 201
    with django_assert_max_num_queries(8):
        assert client.post(URL, call_body(updated_at=at(70)), format="json").status_code == 200


def test_a_call_without_a_location_or_the_optional_times_is_recorded(responder):
    _, client = responder
    body = call_body(outcome="cancelled")
    for name in ("location", "other_responder", "dispatched_at", "arrived_at", "cleared_at"):
        del body[name]
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["location"] == {"address": "", "latitude": None, "longitude": None}
    assert data["in_service_area"] is None
    assert data["dispatched_at"] is None


def test_the_same_call_again_is_200_not_applied_and_writes_nothing(responder):
    _, client = responder
    first = client.post(URL, call_body(), format="json").json()
    again = client.post(URL, call_body(), format="json")
    assert again.status_code == 200
    assert again.json()["applied"] is False
    assert again.json()["id"] == first["id"]
    assert EligibleCall.objects.count() == 1
    assert len(history_of("D2026-0100001")) == 1


def test_a_newer_version_replaces_every_field_and_history_keeps_both(responder, supervisor):
    responder_user, client = responder
    supervisor_user, other_client = supervisor
    client.post(URL, call_body(), format="json")
    newer = call_body(
        program="COR",
        call_type="Threat w/ weapon",
        received_at=at(1),
        location={"address": "200 Main St", "latitude": 36.0, "longitude": -78.9},
        outcome="other_responder",
        other_responder="police",
        dispatched_at=None,
        arrived_at=None,
        cleared_at=None,
        updated_at=at(90),
    )
    response = other_client.post(URL, newer, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["applied"] is True
    assert response.json()["other_responder"] == "police"
    call = EligibleCall.objects.get()
    assert (call.program, call.call_type, call.outcome, call.other_responder) == (
        "COR",
        "Threat w/ weapon",
        "other_responder",
        "police",
    )
    assert call.received_at == RECEIVED + timedelta(minutes=1)
    assert call.address == "200 Main St"
    assert (call.dispatched_at, call.arrived_at, call.cleared_at) == (None, None, None)
    assert call.recorded_by == supervisor_user
    first, second = history_of("D2026-0100001")
    assert (first.history_type, second.history_type) == ("+", "~")
    assert first.history_user == responder_user
    assert second.history_user == supervisor_user
    assert "newer" in second.history_change_reason
    # The earlier version, as it was.
    assert (first.program, first.outcome, first.other_responder) == ("CRT", "heart_responded", "")
    assert first.arrived_at == RECEIVED + timedelta(minutes=15)
    assert second.outcome == "other_responder"


def test_an_older_version_after_a_newer_changes_nothing(responder):
    _, client = responder
    client.post(URL, call_body(updated_at=at(90), outcome="cancelled"), format="json")
    older = client.post(URL, call_body(updated_at=at(61)), format="json")
    assert older.status_code == 200
    assert older.json()["applied"] is False
    assert older.json()["outcome"] == "cancelled"
    assert EligibleCall.objects.get().outcome == "cancelled"
    assert len(history_of("D2026-0100001")) == 1


def test_the_same_updated_at_with_other_fields_changes_nothing(responder):
    _, client = responder
    client.post(URL, call_body(), format="json")
    response = client.post(URL, call_body(outcome="cancelled"), format="json")
    assert response.json()["applied"] is False
    assert EligibleCall.objects.get().outcome == "heart_responded"


# --- batches ---------------------------------------------------------------------------------


def versions() -> list[dict[str, Any]]:
    """Three versions of each of four incidents, oldest first."""
    outcomes = ["heart_unavailable", "cancelled", "heart_responded"]
    return [
        call_body(
            incident_number=f"B-{n}",
            outcome=outcome,
            location={"address": f"{n} Elm St v{v}", "latitude": 35.9, "longitude": -78.8},
            updated_at=at(61 + v),
        )
        for n in range(4)
        for v, outcome in enumerate(outcomes)
    ]


def final_rows() -> list[tuple[Any, ...]]:
    return list(
        EligibleCall.objects.order_by("incident_number").values_list(
            "incident_number", "outcome", "address", "updated_at", "in_service_area"
        )
    )


def test_a_reordered_batch_ends_with_the_same_rows_as_the_ordered_one(responder):
    _, client = responder
    ordered = versions()
    response = client.post(BATCH_URL, {"calls": ordered}, format="json")
    assert response.status_code == 200
    statuses = [(r["status"], r["applied"]) for r in response.json()["results"]]
    assert statuses == [(201, True), (200, True), (200, True)] * 4
    expected = final_rows()
    assert [row[1] for row in expected] == ["heart_responded"] * 4
    assert EligibleCall.history.count() == 12

    EligibleCall.objects.all().delete()
    EligibleCall.history.all().delete()
    shuffled = list(reversed(ordered))
    random.Random(7).shuffle(shuffled)
    response = client.post(BATCH_URL, {"calls": shuffled}, format="json")
    assert response.status_code == 200
    assert final_rows() == expected
    # One history row per change that was applied.
    applied = sum(1 for r in response.json()["results"] if r["applied"])
    assert EligibleCall.history.count() == applied
    # And split over several batches in reverse, the newest first: the rest change nothing.
    EligibleCall.objects.all().delete()
    EligibleCall.history.all().delete()
    for start in range(0, 12, 5):
        client.post(BATCH_URL, {"calls": list(reversed(ordered))[start : start + 5]}, format="json")
    assert final_rows() == expected
    assert EligibleCall.history.count() == 4


def test_a_batch_with_bad_calls_records_the_good_ones_and_names_each_bad_field(responder):
    _, client = responder
    calls = [
        call_body(incident_number="G-1"),
        call_body(incident_number="X-1", program="XYZ"),
        "not an object",
        call_body(incident_number="G-2"),
        call_body(incident_number="X-2", location={"latitude": 95, "longitude": -78.9}),
        call_body(incident_number="X-3", arrived_at=at(1)),
        {"incident_number": ["D-5"]},
    ]
    response = client.post(BATCH_URL, {"calls": calls}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 400, 400, 201, 400, 400, 400]
    assert [r["incident_number"] for r in results] == [
        "G-1",
        "X-1",
        None,
        "G-2",
        "X-2",
        "X-3",
        None,
    ]
    assert results[0]["errors"] is None
    assert set(results[1]["errors"]) == {"program"}
    assert "non_field_errors" in results[2]["errors"]
    assert set(results[4]["errors"]) == {"location"}
    assert "latitude" in results[4]["errors"]["location"]
    assert set(results[5]["errors"]) == {"dispatched_at", "arrived_at"}
    assert {"incident_number", "program", "received_at", "updated_at"} <= set(results[6]["errors"])
    assert all(r["applied"] is False for r in results if r["status"] == 400)
    assert set(EligibleCall.objects.values_list("incident_number", flat=True)) == {"G-1", "G-2"}


def test_a_batch_of_more_than_1000_calls_is_400_naming_calls_and_writes_nothing(responder):
    _, client = responder
    calls = [call_body(incident_number=f"M-{n}") for n in range(1001)]
    response = client.post(BATCH_URL, {"calls": calls}, format="json")
    assert response.status_code == 400
    assert "calls" in response.json()["errors"]
    assert not EligibleCall.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"calls": "x"}, {"calls": {"a": 1}}, [1, 2], "text"])
def test_a_batch_without_a_list_of_calls_is_400_naming_calls(responder, payload):
    _, client = responder
    response = client.post(BATCH_URL, payload, format="json")
    assert response.status_code == 400
    assert "calls" in response.json()["errors"]


@bulk_statement
def test_a_batch_of_1000_calls_takes_a_few_queries(responder, django_assert_max_num_queries):
    _, client = responder
    calls = [call_body(incident_number=f"K-{n:04d}") for n in range(1000)]
    calls[10] = call_body(incident_number="K-0000", updated_at=at(70))  # a second version
    with django_assert_max_num_queries(12):
        response = client.post(BATCH_URL, {"calls": calls}, format="json")
    assert response.status_code == 200
    assert Counter(r["status"] for r in response.json()["results"]) == {201: 999, 200: 1}
    assert EligibleCall.objects.count() == 999
    assert EligibleCall.history.count() == 1000
    assert EligibleCall.objects.get(incident_number="K-0000").updated_at == RECEIVED + timedelta(
        minutes=70
    )


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_only_responders_and_supervisors_may_post_eligible_calls(make_staff, role):
    client = APIClient() if role == "anonymous" else token_client(make_staff("u", role)[1])
    single = client.post(URL, call_body(incident_number=f"R-{role}"), format="json")
    batch = client.post(
        BATCH_URL, {"calls": [call_body(incident_number=f"RB-{role}")]}, format="json"
    )
    wanted = {"anonymous": 401, "responder": None, "supervisor": None}.get(role, 403)
    if wanted is None:
        assert (single.status_code, batch.status_code) == (201, 200)
        assert EligibleCall.objects.count() == 2
    else:
        assert (single.status_code, batch.status_code) == (wanted, wanted)
        assert not EligibleCall.objects.exists()


# --- bad input -------------------------------------------------------------------------------

LONG_AGO = "2001-01-01T00:00:00-05:00"
AHEAD = (timezone.now() + timedelta(hours=2)).isoformat()
BAD = [
    ({"incident_number": None}, "incident_number"),
    ({"incident_number": ""}, "incident_number"),
    ({"incident_number": "D" * 65}, "incident_number"),
    ({"incident_number": "D\x00"}, "incident_number"),
    ({"program": "XYZ"}, "program"),
    ({"call_type": "Drugs"}, "call_type"),  # COR's, not CRT's
    ({"call_type": ["Trespass"]}, "call_type"),
    ({"received_at": "2026-11-20T14:05:00"}, "received_at"),  # no offset
    ({"received_at": "yesterday"}, "received_at"),
    ({"received_at": LONG_AGO, "dispatched_at": None}, "received_at"),
    ({"updated_at": AHEAD}, "updated_at"),
    ({"updated_at": None}, "updated_at"),
    ({"outcome": "lost"}, "outcome"),
    ({"outcome": "other_responder"}, "other_responder"),
    ({"outcome": "other_responder", "other_responder": ""}, "other_responder"),
    ({"other_responder": "police"}, "other_responder"),  # heart_responded
    ({"outcome": "other_responder", "other_responder": "sheriff"}, "other_responder"),
    ({"dispatched_at": at(-1)}, "dispatched_at"),
    ({"dispatched_at": at(-1)}, "received_at"),
    ({"arrived_at": at(1)}, "arrived_at"),
    ({"cleared_at": at(10)}, "cleared_at"),
    ({"cleared_at": AHEAD}, "cleared_at"),
    ({"location": {"latitude": 91, "longitude": 0}}, "location"),
    ({"location": {"latitude": 0, "longitude": -181}}, "location"),
    ({"location": {"latitude": "north", "longitude": 0}}, "location"),
    ({"location": {"address": "x" * 301}}, "location"),
    ({"location": "101 Main St"}, "location"),
    ({"location": {"latitude": "NaN", "longitude": 0}}, "location"),
    ({"location": {"latitude": 0, "longitude": "-Infinity"}}, "location"),
    ({"location": {"latitude": "1e400", "longitude": 0}}, "location"),
    ({"updated_at": "9999-12-31T23:59:59-05:00"}, "updated_at"),
    ({"received_at": "0001-01-01T00:00:00+05:00", "dispatched_at": None}, "received_at"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD)
def test_each_bad_field_is_a_400_naming_it_and_writes_nothing(responder, overrides, field):
    _, client = responder
    response = client.post(URL, call_body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert not EligibleCall.objects.exists()
    assert not EligibleCall.history.exists()


@pytest.mark.parametrize(
    "field", ["incident_number", "program", "call_type", "received_at", "outcome", "updated_at"]
)
def test_each_required_field_left_out_is_a_400_naming_it(responder, field):
    _, client = responder
    body = call_body()
    del body[field]
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not EligibleCall.objects.exists()


@pytest.mark.parametrize("payload", [[call_body()], "text", 5])
def test_a_body_that_is_not_an_object_is_a_400(responder, payload):
    _, client = responder
    response = client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]


def test_malformed_json_is_a_400(responder):
    _, client = responder
    response = client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


# --- EIDO ------------------------------------------------------------------------------------


def test_an_eido_is_read_into_a_call_and_recorded_as_from_eido(responder, monkeypatch):
    """The reading itself is calls.eido's (tested there); here, what the endpoint does with it."""
    _, client = responder
    document = {"eidoVersion": "1.0", "incidentComponent": {"internalIncidentId": "E-1"}}
    seen = []

    def read(given: dict[str, Any]) -> dict[str, Any]:
        seen.append(given)
        return call_body(incident_number="E-1")

    monkeypatch.setattr(eido, "eido_to_body", read)
    response = client.post(URL, document, format="json")
    assert response.status_code == 201, response.json()
    assert seen == [document]
    assert response.json()["source"] == "eido"
    assert EligibleCall.objects.get().source == "eido"


def test_an_eido_that_cannot_be_read_is_a_400_naming_the_component(responder, monkeypatch):
    _, client = responder

    def refuse(given: dict[str, Any]) -> dict[str, Any]:
        raise eido.EidoError("incidentComponent", "No internalIncidentId.")

    monkeypatch.setattr(eido, "eido_to_body", refuse)
    response = client.post(URL, {"eidoVersion": "1.0"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"incidentComponent": ["No internalIncidentId."]}
    assert not EligibleCall.objects.exists()


def test_an_eido_read_into_a_bad_call_is_a_400_naming_the_field(responder, monkeypatch):
    _, client = responder
    monkeypatch.setattr(eido, "eido_to_body", lambda given: call_body(program="XYZ"))
    response = client.post(URL, {"eidoVersion": "1.0"}, format="json")
    assert response.status_code == 400
    assert "program" in response.json()["errors"]


# --- the link to field responses -------------------------------------------------------------


def test_a_call_finds_the_field_responses_that_carry_its_incident_number(responder):
    user, client = responder
    call_id = client.post(URL, call_body(incident_number="L-1"), format="json").json()["id"]
    made = []
    for n, (incident, unit) in enumerate([("L-1", "CRT-1"), ("L-1", "CRT-2"), ("L-2", "CRT-1")]):
        made.append(
            field_response_record(
                actor=user,
                data=FieldResponseInput(
                    incident_number=incident,
                    unit=unit,
                    program="CRT",
                    call_type="Trespass",
                    responded_at=RECEIVED + timedelta(minutes=15),
                    follow_up_consent=False,
                    neighbor=NeighborInput(first_name=f"N{n}", phone=f"+1919555{n:04d}"),
                ),
            ).field_response
        )
    call = EligibleCall.objects.get(pk=call_id)
    assert set(call.field_responses()) == {made[0], made[1]}
    assert not EligibleCall(incident_number="L-3").field_responses().exists()


# --- concurrency -----------------------------------------------------------------------------


def post_all_at_once(token: str, url: str, bodies: list[Any]) -> list[tuple[int, Any]]:
    barrier = threading.Barrier(len(bodies))

    def post(body: Any) -> tuple[int, Any]:
        client = token_client(token)
        try:
            barrier.wait(timeout=30)
            response = client.post(url, body, format="json")
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL's locking"
)


@transactional
@needs_postgresql
def test_posts_of_the_same_incident_at_once_make_one_row_and_keep_the_newest(make_staff):
    _, token = make_staff("cad", "responder")
    bodies = [call_body(updated_at=at(61 + n % 5), outcome="cancelled") for n in range(20)]
    bodies[7] = call_body(updated_at=at(80))
    results = post_all_at_once(token, URL, bodies)
    codes = Counter(code for code, _ in results)
    assert codes[201] == 1, codes
    assert codes[200] == 19, codes
    assert EligibleCall.objects.count() == 1
    call = EligibleCall.objects.get()
    assert call.updated_at == RECEIVED + timedelta(minutes=80)
    assert call.outcome == "heart_responded"
    applied = sum(1 for code, data in results if data["applied"])
    assert EligibleCall.history.count() == applied
    assert len({data["id"] for _, data in results}) == 1


@transactional
@needs_postgresql
def test_batches_sharing_incidents_in_opposite_orders_at_once_neither_fail_nor_double(make_staff):
    _, token = make_staff("cad", "responder")
    calls = [call_body(incident_number=f"C-{n:03d}") for n in range(200)]
    newer = [call_body(incident_number=f"C-{n:03d}", updated_at=at(70)) for n in range(200)]
    batches = [
        {"calls": calls},
        {"calls": list(reversed(calls))},
        {"calls": newer[::2] + newer[1::2]},
        {"calls": list(reversed(newer))},
    ]
    results = post_all_at_once(token, BATCH_URL, batches)
    assert [code for code, _ in results] == [200] * 4
    assert EligibleCall.objects.count() == 200
    assert set(EligibleCall.objects.values_list("updated_at", flat=True)) == {
        RECEIVED + timedelta(minutes=70)
    }
    created = sum(1 for _, data in results for r in data["results"] if r["status"] == 201)
    assert created == 200
