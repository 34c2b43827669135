"""POST /api/v1/field-responses/ as API.md fixes it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection

from heart_cases.models import Case, FieldResponse, Neighbor, NeighborPhone, PossibleDuplicate
from navigation.models import FollowUpTask

URL = "/api/v1/field-responses/"
pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post(URL, body, format="json")


def test_a_field_response_opens_a_case_with_a_48_hour_follow_up(responder, body):
    _, client = responder
    payload = body()
    response = post(client, payload)
    assert response.status_code == 201, response.json()
    data = response.json()
    case = Case.objects.get(pk=data["case"]["id"])
    assert data["case"] == {
        "id": case.pk,
        "number": case.number,
        "status": "open",
        "created": True,
    }
    assert case.number.startswith(f"HC-{case.opened_at.year}-")
    assert len(case.number.split("-")[-1]) >= 6
    assert data["neighbor"]["matched"] is False
    neighbor = Neighbor.objects.get(pk=data["neighbor"]["id"])
    assert str(neighbor.phone) == "+19195550142"
    assert neighbor.language == "es"
    task = FollowUpTask.objects.get(pk=data["follow_up"]["id"])
    responded_at = datetime.fromisoformat(payload["responded_at"])
    assert task.deadline == responded_at + timedelta(hours=48)
    assert datetime.fromisoformat(data["follow_up"]["deadline"]) == task.deadline
    assert task.kind == "follow_up"
    assert task.status == "pending"
    assert task.case_id == case.pk
    fr = FieldResponse.objects.get(pk=data["id"])
    assert fr.case_id == case.pk
    assert fr.neighbor_id == neighbor.pk
    assert fr.needs == ["mental_health", "housing"]
    assert str(fr.latitude) == "35.994000"


def test_the_same_body_posted_again_answers_200_with_the_same_ids_and_creates_nothing(
    responder, body
):
    _, client = responder
    first = post(client, body())
    counts = (Case.objects.count(), FieldResponse.objects.count(), FollowUpTask.objects.count())
    again = post(client, body())
    assert again.status_code == 200
    assert again.json() == first.json()
    assert counts == (
        Case.objects.count(),
        FieldResponse.objects.count(),
        FollowUpTask.objects.count(),
    )


def test_the_same_body_with_other_formatting_is_still_the_same(responder, body):
    _, client = responder
    first = post(client, body())
    again = post(client, body(neighbor={"phone": "(919) 555-0142"}))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_a_different_body_under_the_same_incident_and_unit_is_409(responder, body):
    _, client = responder
    post(client, body())
    response = post(client, body(narrative="something else"))
    assert response.status_code == 409
    assert "D2026-0012345" in response.json()["detail"]
    assert FieldResponse.objects.count() == 1


def test_the_same_incident_from_another_unit_is_another_field_response(responder, body):
    _, client = responder
    first = post(client, body()).json()
    second = post(client, body(unit="CRT-4"))
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]
    assert second.json()["case"] == {**first["case"], "created": False}


def test_a_neighbor_is_matched_by_phone(responder, body):
    _, client = responder
    first = post(client, body()).json()
    second = post(
        client,
        body(
            incident_number="D2",
            neighbor={"first_name": "", "last_name": "", "phone": "9195550142"},
        ),
    ).json()
    assert second["neighbor"] == {"id": first["neighbor"]["id"], "matched": True}
    assert second["case"]["id"] == first["case"]["id"]
    assert second["case"]["created"] is False


@pytest.mark.parametrize(
    ("first", "last"),
    [("ANA", "DIAZ"), ("Ána", "Díaz"), ("  ana ", " diaz"), ("ana", "di az")],
)
def test_a_neighbor_is_matched_by_name_and_birth_date_ignoring_case_accents_and_spaces(
    responder, body, first, last
):
    _, client = responder
    original = post(client, body()).json()
    again = post(
        client,
        body(incident_number="D2", neighbor={"first_name": first, "last_name": last, "phone": ""}),
    ).json()
    assert again["neighbor"] == {"id": original["neighbor"]["id"], "matched": True}


def test_a_new_phone_for_a_matched_neighbor_is_kept(responder, body):
    _, client = responder
    original = post(client, body()).json()
    post(client, body(incident_number="D2", neighbor={"phone": "+1 919 555 0199"}))
    numbers = set(
        NeighborPhone.objects.filter(neighbor_id=original["neighbor"]["id"]).values_list(
            "number", flat=True
        )
    )
    assert {str(n) for n in numbers} == {"+19195550142", "+19195550199"}


def test_weaker_likenesses_become_possible_duplicates_not_matches(responder, body):
    _, client = responder
    first = post(client, body()).json()
    other = post(
        client,
        body(
            incident_number="D2",
            neighbor={"date_of_birth": "1990-01-01", "phone": "+1 919 555 0100"},
        ),
    ).json()
    assert other["neighbor"]["matched"] is False
    assert other["neighbor"]["id"] != first["neighbor"]["id"]
    duplicate = PossibleDuplicate.objects.get()
    assert {duplicate.neighbor_id, duplicate.other_id} == {
        first["neighbor"]["id"],
        other["neighbor"]["id"],
    }
    assert duplicate.reason == "same first and last name"


def test_phone_and_name_pointing_at_two_records_match_by_phone_and_flag_the_pair(responder, body):
    _, client = responder
    by_phone = post(
        client,
        body(incident_number="P1", neighbor={"first_name": "Luz", "last_name": "Ortiz"}),
    ).json()["neighbor"]["id"]
    by_name = post(
        client, body(incident_number="P2", neighbor={"phone": "+1 919 555 0188"})
    ).json()["neighbor"]["id"]
    assert by_phone != by_name
    # The phone of the first, the name and date of birth of the second.
    data = post(client, body(incident_number="P3")).json()
    assert data["neighbor"] == {**data["neighbor"], "id": by_phone, "matched": True}
    duplicate = PossibleDuplicate.objects.get(
        neighbor_id=min(by_phone, by_name), other_id=max(by_phone, by_name)
    )
    assert duplicate.reason == "same phone as one record, same name and date of birth as the other"


def test_each_likeness_is_kept_with_its_own_reason(responder, body):
    _, client = responder

    def neighbor_id(incident, **neighbor):
        data = post(client, body(incident_number=incident, neighbor=neighbor)).json()
        assert data.get("neighbor", {}).get("matched") is False, data
        return data["neighbor"]["id"]

    # Same first and last name as the newcomer, another date of birth.
    same_name = neighbor_id(
        "L1", first_name="Ana", last_name="Diaz", date_of_birth="1980-01-01", phone=""
    )
    # Same last name and date of birth, another first name; and the same alias.
    same_birth = neighbor_id(
        "L2",
        first_name="Rosa",
        last_name="Diaz",
        alias="Nana",
        date_of_birth="1990-05-05",
        phone="",
    )
    # Only the same alias.
    same_alias = neighbor_id(
        "L3", first_name="Luz", last_name="Ortiz", alias="nana", date_of_birth=None, phone=""
    )
    newcomer = neighbor_id(
        "L4",
        first_name="Ana",
        last_name="Díaz",
        alias="Nana",
        date_of_birth="1990-05-05",
        phone="",
    )
    reasons = {
        frozenset((d.neighbor_id, d.other_id)): d.reason for d in PossibleDuplicate.objects.all()
    }
    assert reasons[frozenset((same_name, newcomer))] == "same first and last name"
    # Alike on two counts: recorded once, with the first likeness.
    assert reasons[frozenset((same_birth, newcomer))] == "same last name and date of birth"
    assert reasons[frozenset((same_alias, newcomer))] == "same alias"
    assert len([pair for pair in reasons if newcomer in pair]) == 3


def test_without_consent_no_follow_up_and_the_new_case_is_closed_as_declined(responder, body):
    _, client = responder
    response = post(client, body(follow_up_consent=False))
    assert response.status_code == 201
    data = response.json()
    assert data["follow_up"] is None
    assert data["case"]["status"] == "closed"
    case = Case.objects.get(pk=data["case"]["id"])
    assert case.outcome == "follow_up_declined"
    assert case.closed_at is not None
    assert not FollowUpTask.objects.exists()


def test_without_consent_an_open_case_stays_open(responder, body):
    _, client = responder
    first = post(client, body()).json()
    second = post(client, body(incident_number="D2", follow_up_consent=False)).json()
    assert second["case"] == {**first["case"], "created": False}
    assert second["follow_up"] is None
    assert Case.objects.get(pk=first["case"]["id"]).status == "open"


def test_a_neighbor_with_a_closed_case_gets_a_new_case_linked_to_the_old(responder, body):
    _, client = responder
    first = post(client, body(follow_up_consent=False)).json()
    second = post(client, body(incident_number="D2")).json()
    assert second["case"]["created"] is True
    assert second["case"]["id"] != first["case"]["id"]
    assert Case.objects.get(pk=second["case"]["id"]).previous_case_id == first["case"]["id"]


def test_intake_records_history_with_the_responder_and_a_reason(responder, body):
    user, client = responder
    data = post(client, body()).json()
    for model, pk in (
        (Case, data["case"]["id"]),
        (Neighbor, data["neighbor"]["id"]),
        (FieldResponse, data["id"]),
        (FollowUpTask, data["follow_up"]["id"]),
    ):
        record = model.history.filter(id=pk).get()
        assert record.history_user_id == user.pk, model
        assert "D2026-0012345" in record.history_change_reason, model


def test_only_responders_and_supervisors_may_post(clients_by_role, body):
    allowed = {"responder", "supervisor"}
    for role, client in clients_by_role.items():
        response = post(client, body(incident_number=f"D-{role}"))
        if role in allowed:
            assert response.status_code == 201, role
        elif role == "anonymous":
            assert response.status_code == 401, role
        else:
            assert response.status_code == 403, role
    assert FieldResponse.objects.count() == 2


# The intake budgets, counted so that a change that adds queries to the hot path is seen. Of
# each, 4 are the request's (the knox token twice, the role's permissions twice). A new
# neighbor: BEGIN; the advisory locks, the replay check and the match lookups (one UNION) in
# one query string; the neighbor, its phone, case number, case and field response with their
# history rows in one statement; the schedule; the task with its history; COMMIT. A neighbor
# found by phone: the same up to the match, then the locked row, the phone check and the open
# case in one query string, the field response, the case's pair, the schedule, the task. The
# likenesses of a new neighbor cost one more only when there are some.
NEW_NEIGHBOR_QUERY_BUDGET = 10
MATCHED_NEIGHBOR_QUERY_BUDGET = 12


def test_intake_stays_within_its_query_budget(responder, body, django_assert_max_num_queries):
    _, client = responder
    # On SQLite (make run) the lookups are statements of their own.
    extra = 0 if connection.vendor == "postgresql" else 10
    with django_assert_max_num_queries(NEW_NEIGHBOR_QUERY_BUDGET + extra):
        response = post(client, body())
    assert response.status_code == 201
    assert response.json()["neighbor"]["matched"] is False
    with django_assert_max_num_queries(MATCHED_NEIGHBOR_QUERY_BUDGET + extra):
        response = post(client, body(incident_number="D3"))
    assert response.status_code == 201
    assert response.json()["neighbor"]["matched"] is True
