"""Field responses from other sources (API.md): `source`, `dispatched_at`, `arrived_at`,
`debrief_requested`; a response entered by hand and later sent by the CAD is one record."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape

from heart_cases.models import AccessLog, Case, Debrief, FieldResponse, Neighbor
from heart_cases.services import FieldResponseInput, NeighborInput
from navigation.models import FollowUpTask
from tests.conftest import RESPONDED_AT, field_response_body

pytestmark = pytest.mark.django_db
URL = "/api/v1/field-responses/"


def post(client, body):
    return client.post(URL, body, format="json")


def nothing_written():
    return (
        FieldResponse.objects.count(),
        Case.objects.count(),
        Neighbor.objects.count(),
        Debrief.objects.count(),
    ) == (0, 0, 0, 0)


def test_the_source_defaults_to_cad_and_a_police_referral_is_kept_as_one(responder):
    _, client = responder
    assert post(client, field_response_body()).status_code == 201
    response = post(
        client,
        field_response_body(
            incident_number="DPD-26-001234",
            unit="Officer 4417",
            source="police_referral",
            neighbor={"phone": "+1 919 555 0199", "first_name": "Luis"},
        ),
    )
    assert response.status_code == 201, response.content
    assert dict(FieldResponse.objects.values_list("incident_number", "source")) == {
        "D2026-0012345": "cad",
        "DPD-26-001234": "police_referral",
    }
    referral = FieldResponse.objects.get(incident_number="DPD-26-001234")
    assert referral.case_id == response.json()["case"]["id"]
    assert "Police referral" in referral.history.get().history_change_reason


@pytest.mark.parametrize("source", ["manual", "fire_referral", "ems_referral"])
def test_each_source_is_accepted(responder, source):
    _, client = responder
    response = post(client, field_response_body(source=source))
    assert response.status_code == 201, response.content
    assert FieldResponse.objects.get().source == source


@pytest.mark.parametrize("source", ["", "CAD", "fax", 3, None, ["cad"]])
def test_an_unknown_source_is_a_400_naming_it_and_writes_nothing(responder, source):
    _, client = responder
    response = post(client, field_response_body(source=source))
    assert response.status_code == 400
    assert "source" in response.json()["errors"]
    assert nothing_written()


def test_dispatch_and_arrival_times_are_kept(responder):
    _, client = responder
    body = field_response_body(
        dispatched_at=(RESPONDED_AT - timedelta(minutes=20)).isoformat(),
        arrived_at=(RESPONDED_AT - timedelta(minutes=2)).isoformat(),
    )
    response = post(client, body)
    assert response.status_code == 201, response.content
    recorded = FieldResponse.objects.get()
    assert recorded.dispatched_at == RESPONDED_AT - timedelta(minutes=20)
    assert recorded.arrived_at == RESPONDED_AT - timedelta(minutes=2)
    case = client.get(f"/api/v1/cases/{recorded.case_id}/")
    # The responder may not read cases; a supervisor's view shows the times.
    assert case.status_code == 404


@pytest.mark.parametrize(
    ("minutes", "named"),
    [
        # Minutes after the response began; it cleared 60 minutes after.
        ({"dispatched_at": 10, "arrived_at": 5}, {"dispatched_at", "arrived_at"}),
        ({"arrived_at": 90}, {"arrived_at", "cleared_at"}),
        ({"dispatched_at": 90}, {"dispatched_at", "cleared_at"}),
        (
            {"dispatched_at": 10, "arrived_at": 5, "cleared_at": None},
            {"dispatched_at", "arrived_at"},
        ),
    ],
)
def test_times_out_of_order_are_a_400_naming_them(responder, minutes, named):
    """dispatched_at <= arrived_at <= cleared_at, where given."""
    _, client = responder
    body = field_response_body(
        **{
            name: None if offset is None else (RESPONDED_AT + timedelta(minutes=offset)).isoformat()
            for name, offset in minutes.items()
        }
    )
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == named
    assert nothing_written()


@pytest.mark.parametrize("name", ["dispatched_at", "arrived_at"])
@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T14:05:00",  # no offset
        "0001-01-01T00:00:00+00:00",
        "2021-01-01T00:00:00+00:00",  # before the programs began
        "tomorrow",
        12,
    ],
)
def test_a_bad_dispatch_or_arrival_time_is_a_400_naming_it(responder, name, value):
    _, client = responder
    response = post(client, field_response_body(**{name: value}))
    assert response.status_code == 400
    assert name in response.json()["errors"]
    assert nothing_written()


@pytest.mark.parametrize("name", ["dispatched_at", "arrived_at"])
def test_a_dispatch_or_arrival_in_the_future_is_a_400(responder, name):
    _, client = responder
    ahead = (timezone.now() + timedelta(hours=1)).isoformat()
    response = post(client, field_response_body(**{name: ahead}))
    assert response.status_code == 400
    assert name in response.json()["errors"]
    assert nothing_written()


def test_a_body_posted_before_the_new_fields_keeps_its_fingerprint():
    """A CAD body recorded before `source` and the others existed must still replay (200)
    rather than clash (409) when the CAD resends it: left at their defaults, the new fields
    are not part of the digest."""
    plain = FieldResponseInput(
        incident_number="D1",
        unit="CRT-1",
        program="CRT",
        call_type="Trespass",
        responded_at=RESPONDED_AT,
        follow_up_consent=True,
        neighbor=NeighborInput(first_name="Ana"),
    )
    later = {"source", "dispatched_at", "arrived_at", "debrief_requested"}
    before = {name: value for name, value in dataclasses.asdict(plain).items() if name not in later}
    before["responded_at"] = RESPONDED_AT.astimezone(UTC).isoformat()
    before["neighbor"]["date_of_birth"] = None
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"))
    assert plain.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()
    assert dataclasses.replace(plain, source="manual").fingerprint() != plain.fingerprint()
    assert dataclasses.replace(plain, debrief_requested=True).fingerprint() != (plain.fingerprint())


def test_the_same_body_with_the_defaults_spelled_out_is_a_replay(responder):
    _, client = responder
    first = post(client, field_response_body())
    again = post(client, field_response_body(source="cad", debrief_requested=False))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert FieldResponse.objects.count() == 1


# --- the CAD after a hand entry ----------------------------------------------------------


def hand_entry(**overrides):
    fields = {
        "source": "manual",
        "responded_at": (RESPONDED_AT - timedelta(minutes=7)).isoformat(),
        "narrative": "Entered from the radio log while the CAD was down.",
        "needs": ["housing"],
        **overrides,
    }
    return field_response_body(**fields)


def test_the_cads_post_of_a_hand_entry_takes_it_over_with_the_same_ids(responder, supervisor):
    supervisor_user, supervisor_client = supervisor
    _, cad = responder
    entered = post(supervisor_client, hand_entry())
    assert entered.status_code == 201, entered.content
    cad_body = field_response_body(
        dispatched_at=(RESPONDED_AT - timedelta(minutes=15)).isoformat(),
        arrived_at=RESPONDED_AT.isoformat(),
    )
    taken = post(cad, cad_body)
    assert taken.status_code == 200, taken.content
    assert taken.json()["id"] == entered.json()["id"]
    assert taken.json()["case"]["id"] == entered.json()["case"]["id"]
    assert taken.json()["neighbor"]["id"] == entered.json()["neighbor"]["id"]
    assert taken.json()["follow_up"]["id"] == entered.json()["follow_up"]["id"]
    assert FieldResponse.objects.count() == 1
    assert Case.objects.count() == 1
    record = FieldResponse.objects.get()
    assert record.source == "cad"
    assert record.responded_at == RESPONDED_AT
    assert record.narrative == "free text"
    assert record.needs == ["mental_health", "housing"]
    assert record.arrived_at == RESPONDED_AT
    # The history keeps the hand entry, and says who replaced it.
    versions = list(record.history.order_by("history_date", "history_id"))
    assert [v.source for v in versions] == ["manual", "cad"]
    assert versions[0].narrative == "Entered from the radio log while the CAD was down."
    assert versions[0].history_user == supervisor_user
    assert versions[1].history_user.username == "cad"
    assert "replaces the one entered by hand" in versions[1].history_change_reason
    # The CAD resending its body is a replay; another body from the CAD is a conflict.
    assert post(cad, cad_body).status_code == 200
    clash = post(cad, field_response_body(narrative="changed"))
    assert clash.status_code == 409
    assert "detail" in clash.json()
    assert FieldResponse.objects.get().narrative == "free text"
    # The follow-up keeps its 48 hours from the CAD's time, not the hand entry's.
    follow_up = FollowUpTask.objects.get(kind="follow_up")
    assert follow_up.deadline == RESPONDED_AT + timedelta(hours=48)
    assert parse_datetime(taken.json()["follow_up"]["deadline"]) == follow_up.deadline
    assert "corrected time" in follow_up.history.latest().history_change_reason


def test_two_different_hand_entries_are_still_a_conflict(supervisor):
    _, client = supervisor
    assert post(client, hand_entry()).status_code == 201
    clash = post(client, hand_entry(narrative="Another version"))
    assert clash.status_code == 409
    record = FieldResponse.objects.get()
    assert record.narrative == "Entered from the radio log while the CAD was down."
    assert record.history.count() == 1


@pytest.mark.parametrize("first", ["cad", "police_referral"])
def test_a_hand_entry_after_another_source_is_a_conflict(responder, supervisor, first):
    _, cad = responder
    _, desk = supervisor
    assert post(cad, field_response_body(source=first)).status_code == 201
    clash = post(desk, hand_entry())
    assert clash.status_code == 409
    assert FieldResponse.objects.get().source == first


def test_a_referral_is_not_taken_over_by_the_cad(responder):
    _, client = responder
    assert post(client, field_response_body(source="police_referral")).status_code == 201
    assert post(client, field_response_body(narrative="other")).status_code == 409
    assert FieldResponse.objects.get().source == "police_referral"


# --- debriefs ----------------------------------------------------------------------------


def test_a_requested_debrief_puts_the_response_on_the_supervisors_list(responder):
    _, client = responder
    response = post(client, field_response_body(debrief_requested=True))
    assert response.status_code == 201
    debrief = Debrief.objects.get()
    assert debrief.field_response_id == response.json()["id"]
    assert debrief.status == "open"
    assert debrief.history.get().history_user.username == "cad"
    # A replay does not request it twice.
    assert post(client, field_response_body(debrief_requested=True)).status_code == 200
    assert Debrief.objects.count() == 1


def test_no_debrief_unless_asked(responder):
    _, client = responder
    assert post(client, field_response_body()).status_code == 201
    assert not Debrief.objects.exists()
    assert FieldResponse.objects.get().debrief_requested is False


@pytest.mark.parametrize("value", ["yes please", 2, None, []])
def test_a_debrief_request_that_is_not_a_boolean_is_a_400(responder, value):
    _, client = responder
    response = post(client, field_response_body(debrief_requested=value))
    assert response.status_code == 400
    assert "debrief_requested" in response.json()["errors"]
    assert nothing_written()


def test_a_debrief_asked_for_by_hand_stays_when_the_cad_takes_the_record_over(
    responder, supervisor
):
    _, desk = supervisor
    _, cad = responder
    assert post(desk, hand_entry(debrief_requested=True)).status_code == 201
    assert post(cad, field_response_body()).status_code == 200
    record = FieldResponse.objects.get()
    assert record.source == "cad"
    assert record.debrief_requested is True
    assert Debrief.objects.get().field_response == record


def test_a_supervisor_sees_the_new_fields_on_the_case(responder, supervisor):
    _, cad = responder
    _, desk = supervisor
    created = post(
        cad,
        field_response_body(
            source="ems_referral",
            debrief_requested=True,
            dispatched_at=(RESPONDED_AT - timedelta(minutes=9)).isoformat(),
        ),
    ).json()
    detail = desk.get(f"/api/v1/cases/{created['case']['id']}/")
    assert detail.status_code == 200
    shown = detail.json()["field_responses"][0]
    assert shown["source"] == "ems_referral"
    assert shown["debrief_requested"] is True
    assert shown["arrived_at"] is None
    assert parse_datetime(shown["dispatched_at"]) == RESPONDED_AT - timedelta(minutes=9)
    assert AccessLog.objects.filter(case_id=created["case"]["id"], action="view").exists()


# --- the page /field-responses/new/ ------------------------------------------------------


def page_form(**overrides):
    local = timezone.localtime(RESPONDED_AT)
    form = {
        "incident_number": "DPD-26-000777",
        "unit": "Officer 4417",
        "source": "police_referral",
        "program": "CRT",
        "call_type": "Trespass",
        "responded_at": local.strftime("%Y-%m-%dT%H:%M"),
        "neighbor_first_name": "Rosa",
        "neighbor_last_name": "Mejía",
        "neighbor_phone": "(919) 555-0123",
        "needs": ["housing", "food"],
        "follow_up_consent": "yes",
        "responder_felt_safe": "",
    }
    form.update(overrides)
    return form


def test_the_page_records_a_referral_through_the_intake_service(client, responder):
    user, _ = responder
    client.force_login(user)
    form = client.get("/field-responses/new/")
    assert form.status_code == 200
    assert 'value="manual" selected' in form.content.decode()
    response = client.post("/field-responses/new/", page_form(), follow=True)
    assert response.status_code == 200
    record = FieldResponse.objects.get()
    assert (record.source, record.incident_number, record.unit) == (
        "police_referral",
        "DPD-26-000777",
        "Officer 4417",
    )
    assert record.responded_at == RESPONDED_AT
    assert record.needs == ["housing", "food"]
    assert str(record.neighbor.phone) == "+19195550123"
    assert record.recorded_by == user
    assert record.case.number in response.content.decode()


def test_the_page_defaults_to_a_hand_entry(client, responder):
    user, _ = responder
    client.force_login(user)
    form = page_form()
    del form["source"]
    assert client.post("/field-responses/new/", form).status_code == 302
    assert FieldResponse.objects.get().source == "manual"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"neighbor_phone": "12"}, "neighbor_phone", None),
        ({"call_type": "Suicide threat", "program": "COR"}, "call_type", "not an eligible"),
        ({"responded_at": "2021-01-01T10:00"}, "responded_at", "earliest date"),
        ({"arrived_at": "2021-01-01T10:00"}, "arrived_at", "earliest date"),
        ({"follow_up_consent": ""}, "follow_up_consent", None),
        ({"source": "fax"}, "source", None),
    ],
)
def test_the_page_refuses_what_the_api_refuses_with_its_message_by_the_field(
    client, responder, overrides, field, message
):
    user, cad = responder
    client.force_login(user)
    response = client.post("/field-responses/new/", page_form(**overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="fr-{field}-error"' in html
    assert nothing_written()
    # The same body through the API names the same field with the same words.
    api = cad.post(URL, _api_body(page_form(**overrides)), format="json")
    assert api.status_code == 400
    api_errors = api.json()["errors"]
    name = field.removeprefix("neighbor_")
    found = api_errors["neighbor"][name] if field.startswith("neighbor_") else api_errors[field]
    for text in found:
        assert escape(str(text)) in html
    if message:
        assert message in html


def _api_body(form):
    from django.http import QueryDict

    from heart_cases.field_response_views import body_from_form

    query = QueryDict(mutable=True)
    for name, value in form.items():
        if isinstance(value, list):
            query.setlist(name, value)
        else:
            query[name] = value
    return body_from_form(query)


def test_the_page_shows_a_conflict_and_keeps_what_was_typed(client, responder):
    user, _ = responder
    client.force_login(user)
    assert client.post("/field-responses/new/", page_form()).status_code == 302
    response = client.post("/field-responses/new/", page_form(neighbor_first_name="Rosalía"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "different body" in html
    assert 'value="Rosalía"' in html
    assert FieldResponse.objects.count() == 1


def test_the_page_is_for_responders_and_supervisors_only(client, make_staff):
    for role, wanted in [
        ("responder", 200),
        ("supervisor", 200),
        ("clinician", 403),
        ("peer", 403),
        ("provider", 403),
        ("analyst", 403),
    ]:
        user, _ = make_staff(f"{role}-page", role)
        client.force_login(user)
        assert client.get("/field-responses/new/").status_code == wanted, role
        if wanted == 403:
            assert client.post("/field-responses/new/", page_form()).status_code == 403
    assert not FieldResponse.objects.exists()
