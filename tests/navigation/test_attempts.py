"""POST /api/v1/tasks/{id}/attempts/ and what each outcome schedules next."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from heart_cases.actors import system_actor
from heart_cases.models import Case
from navigation.models import ContactAttempt, FollowUpTask
from navigation.services import case_assign_auto


def forced_client(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


@pytest.fixture
def assigned(make_pair, open_case, make_staff):
    """A case assigned to a pair on Monday morning; the pair's peer logs attempts."""
    pair = make_pair("a")
    with time_machine.travel(MONDAY_10 - timedelta(hours=1)):
        result = open_case(responded_at=MONDAY_10 - timedelta(hours=2))
        case_assign_auto(actor=system_actor("test"), case=result.case)
    # Tokens expire (10 h); these tests travel days ahead, so they authenticate directly.
    return result, pair, forced_client(pair.peer)


def log(client, task_id, outcome, *, method="phone", at=MONDAY_10, **extra):
    body = {"method": method, "outcome": outcome, "occurred_at": at.isoformat(), **extra}
    with time_machine.travel(at + timedelta(minutes=1)):
        return client.post(f"/api/v1/tasks/{task_id}/attempts/", body, format="json")


def test_reached_completes_the_follow_up(assigned):
    result, _, client = assigned
    response = log(client, result.follow_up.id, "reached", duration_minutes=12, notes="Doing ok")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["task"] == {"id": result.follow_up.id, "status": "done"}
    assert data["next_task"] is None
    task = FollowUpTask.objects.get(pk=result.follow_up.id)
    assert task.completed_at == MONDAY_10
    attempt = ContactAttempt.objects.get()
    assert (attempt.method, attempt.outcome, attempt.duration_minutes) == ("phone", "reached", 12)
    assert attempt.notes == "Doing ok"
    assert attempt.made_by.username == "a-p"
    assert ContactAttempt.history.get().history_user.username == "a-p"


def test_no_answer_schedules_a_retry_call_at_least_four_service_hours_later(assigned):
    result, pair, client = assigned
    data = log(client, result.follow_up.id, "no_answer").json()
    nxt = data["next_task"]
    assert nxt["kind"] == "retry_call"
    assert nxt["pair"] == pair.pk
    assert datetime.fromisoformat(nxt["due_at"]) == MONDAY_10 + timedelta(hours=4)
    assert data["task"]["status"] == "pending"  # the 48-hour obligation stands
    # Evening attempt: four service hours later is the next morning.
    evening = MONDAY_10.replace(hour=17)
    data = log(client, nxt["id"], "left_voicemail", at=evening).json()
    assert datetime.fromisoformat(data["next_task"]["due_at"]) == datetime(
        2026, 11, 24, 11, 0, tzinfo=NY
    )


def test_three_unsuccessful_calls_lead_to_an_in_person_visit(assigned):
    result, _, client = assigned
    task_id = result.follow_up.id
    kinds = []
    for hour, outcome in ((10, "no_answer"), (14, "left_voicemail"), (18, "no_answer")):
        data = log(client, task_id, outcome, at=MONDAY_10.replace(hour=hour)).json()
        kinds.append(data["next_task"]["kind"])
        task_id = data["next_task"]["id"]
    assert kinds == ["retry_call", "retry_call", "in_person_visit"]
    # Only the newest step is on the list.
    listed = [t["id"] for t in client.get("/api/v1/tasks/").json()["results"]]
    assert listed == [task_id]


def test_a_wrong_number_goes_straight_to_a_visit(assigned):
    result, _, client = assigned
    data = log(client, result.follow_up.id, "wrong_number").json()
    assert data["next_task"]["kind"] == "in_person_visit"


def test_a_reached_retry_completes_the_whole_chain(assigned):
    result, _, client = assigned
    retry = log(client, result.follow_up.id, "no_answer").json()["next_task"]
    log(client, retry["id"], "reached", at=MONDAY_10 + timedelta(hours=5))
    statuses = dict(FollowUpTask.objects.values_list("id", "status"))
    assert statuses == {result.follow_up.id: "done", retry["id"]: "done"}


def test_declined_closes_the_case_as_follow_up_declined(assigned):
    result, _, client = assigned
    data = log(client, result.follow_up.id, "declined").json()
    assert data["case_closed"] is True
    case = Case.objects.get(pk=result.case.pk)
    assert (case.status, case.outcome) == ("closed", "follow_up_declined")


def test_failed_visits_close_the_case_as_unable_to_reach(assigned):
    result, _, client = assigned
    data = log(client, result.follow_up.id, "wrong_number").json()
    visit = data["next_task"]["id"]
    data = log(client, visit, "no_answer", method="in_person", at=MONDAY_10.replace(hour=15)).json()
    assert data["next_task"]["kind"] == "in_person_visit"
    data = log(
        client,
        data["next_task"]["id"],
        "no_answer",
        method="in_person",
        at=MONDAY_10.replace(hour=17),
    ).json()
    assert data["next_task"] is None
    assert data["case_closed"] is True
    assert Case.objects.get(pk=result.case.pk).outcome == "unable_to_reach"
    assert not FollowUpTask.objects.filter(status="pending").exists()


def test_an_attempt_on_a_replaced_or_finished_task_is_409(assigned):
    result, _, client = assigned
    log(client, result.follow_up.id, "no_answer")
    assert log(client, result.follow_up.id, "reached").status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"method": "fax"}, "method"),
        ({"outcome": "maybe"}, "outcome"),
        ({"occurred_at": "2026-11-23T10:00:00"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00+00:00"}, "occurred_at"),
        ({"duration_minutes": -3}, "duration_minutes"),
        ({"method": "in_person", "outcome": "left_voicemail"}, "outcome"),
    ],
)
def test_bad_attempts_are_400_naming_the_field_and_write_nothing(assigned, change, field):
    result, _, client = assigned
    body = {"method": "phone", "outcome": "reached", "occurred_at": MONDAY_10.isoformat(), **change}
    with time_machine.travel(MONDAY_10 + timedelta(minutes=1)):
        response = client.post(
            f"/api/v1/tasks/{result.follow_up.id}/attempts/", body, format="json"
        )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ContactAttempt.objects.exists()


def test_only_the_assigned_pair_or_a_supervisor_may_log(assigned, make_staff):
    result, _, _ = assigned
    clients_by_role = {
        role: forced_client(make_staff(f"{role}-x", role)[0])
        for role in ("clinician", "peer", "supervisor", "responder", "provider", "analyst")
    }
    clients_by_role["anonymous"] = forced_client(None)
    url = f"/api/v1/tasks/{result.follow_up.id}/attempts/"
    body = {"method": "phone", "outcome": "no_answer", "occurred_at": MONDAY_10.isoformat()}
    expected = {
        "clinician": 403,  # a navigator of another pair
        "peer": 403,
        "supervisor": 201,
        "responder": 403,
        "provider": 403,
        "analyst": 403,
        "anonymous": 401,
    }
    with time_machine.travel(MONDAY_10 + timedelta(minutes=1)):
        for role, client in clients_by_role.items():
            response = client.post(url, body, format="json")
            assert response.status_code == expected[role], role
            if response.status_code == 201:
                url = f"/api/v1/tasks/{response.json()['next_task']['id']}/attempts/"
    assert client.post("/api/v1/tasks/999999/attempts/", body, format="json").status_code == 401


def test_one_contact_answers_for_every_encounter_before_it_but_not_after(assigned, open_case):
    result, _, client = assigned
    with time_machine.travel(MONDAY_10 - timedelta(minutes=30)):
        second = open_case(
            responded_at=MONDAY_10 - timedelta(minutes=40), phone=str(result.neighbor.phone)
        )
    assert second.case.pk == result.case.pk
    log(client, result.follow_up.id, "reached")
    assert FollowUpTask.objects.get(pk=second.follow_up.id).status == "done"
    with time_machine.travel(MONDAY_10 + timedelta(hours=2)):
        third = open_case(
            responded_at=MONDAY_10 + timedelta(hours=1), phone=str(result.neighbor.phone)
        )
    assert FollowUpTask.objects.get(pk=third.follow_up.id).status == "pending"
