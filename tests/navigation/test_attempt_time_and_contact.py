"""`POST /api/v1/tasks/{id}/attempts/` (API.md, "Case notes and closing"): `occurred_at` is kept
as given (a call made at 10:00 and logged at 14:00 is a 10:00 call), not in the future and not
before the field response; `contact` says the call was to one of the neighbor's contacts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from heart_cases.actors import system_actor
from heart_cases.models import Case, Contact
from metrics import facts
from metrics.models import FollowUpFact
from navigation.models import ContactAttempt, FollowUpTask
from navigation.services import case_assign_auto

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


@pytest.fixture
def assigned(make_pair, open_case):
    """A case whose field response was at 08:00 Monday, assigned to a pair; its peer logs."""
    pair = make_pair("a")
    with time_machine.travel(MONDAY_10 - timedelta(hours=1)):
        result = open_case(responded_at=MONDAY_10 - timedelta(hours=2))
        case_assign_auto(actor=system_actor("test"), case=result.case)
    client = APIClient()
    client.force_authenticate(pair.peer)
    return result, pair, client


def contact_of(case: Case, *, name: str = "Marisa", may_contact: bool = True) -> Contact:
    return Contact.objects.create(
        neighbor=case.neighbor,
        name=name,
        relationship="sister",
        phone="+19195550177",
        may_contact=may_contact,
        created_by=system_actor("test"),
    )


def log(client, task_id, *, at, now, outcome="reached", **extra):
    body = {"method": "phone", "outcome": outcome, "occurred_at": at.isoformat(), **extra}
    with time_machine.travel(now):
        return client.post(f"/api/v1/tasks/{task_id}/attempts/", body, format="json")


def test_a_call_logged_hours_later_keeps_the_time_it_was_made(assigned):
    result, _, client = assigned
    response = log(client, result.follow_up.id, at=MONDAY_10, now=MONDAY_10 + timedelta(hours=4))
    assert response.status_code == 201, response.content
    attempt = ContactAttempt.objects.get()
    assert attempt.occurred_at == MONDAY_10
    assert attempt.created_at >= MONDAY_10 + timedelta(hours=4)
    task = FollowUpTask.objects.get(pk=result.follow_up.id)
    assert (task.status, task.completed_at) == ("done", MONDAY_10)


def test_the_48_hour_figure_counts_the_time_of_the_call_not_of_the_logging(assigned):
    """A call made within 48 hours and logged after them still met the deadline."""
    result, _, client = assigned
    deadline = FollowUpTask.objects.get(pk=result.follow_up.id).deadline
    call = deadline - timedelta(hours=1)
    response = log(client, result.follow_up.id, at=call, now=deadline + timedelta(hours=3))
    assert response.status_code == 201, response.content
    with time_machine.travel(deadline + timedelta(hours=3)):
        facts.rebuild()
    fact = FollowUpFact.objects.get(task_id=result.follow_up.id)
    assert fact.contacted_in_time is True


def test_a_call_in_the_future_is_a_400_naming_occurred_at(assigned):
    result, _, client = assigned
    response = log(client, result.follow_up.id, at=MONDAY_10 + timedelta(minutes=30), now=MONDAY_10)
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert not ContactAttempt.objects.exists()
    assert FollowUpTask.objects.get(pk=result.follow_up.id).status == "pending"


def test_a_call_within_the_clock_skew_is_accepted(assigned):
    result, _, client = assigned
    response = log(client, result.follow_up.id, at=MONDAY_10 + timedelta(minutes=3), now=MONDAY_10)
    assert response.status_code == 201, response.content


def test_a_call_before_the_field_response_is_a_400_naming_occurred_at(assigned):
    result, _, client = assigned
    before = MONDAY_10 - timedelta(hours=2, minutes=1)
    response = log(client, result.follow_up.id, at=before, now=MONDAY_10)
    assert response.status_code == 400
    assert "field response" in response.json()["errors"]["occurred_at"][0]
    assert not ContactAttempt.objects.exists()


def test_a_retry_is_checked_against_the_field_response_it_follows_up(assigned):
    result, _, client = assigned
    first = log(client, result.follow_up.id, at=MONDAY_10, now=MONDAY_10, outcome="no_answer")
    retry_id = first.json()["next_task"]["id"]
    before = MONDAY_10 - timedelta(hours=3)
    response = log(client, retry_id, at=before, now=MONDAY_10 + timedelta(hours=5))
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert ContactAttempt.objects.count() == 1


def test_a_call_that_reached_a_contact_says_whom_and_completes_the_follow_up(assigned):
    result, _, client = assigned
    sister = contact_of(result.case)
    response = log(client, result.follow_up.id, at=MONDAY_10, now=MONDAY_10, contact=sister.pk)
    assert response.status_code == 201, response.content
    attempt = ContactAttempt.objects.get()
    assert attempt.contact == sister
    assert "Marisa" in attempt.history.get().history_change_reason
    assert FollowUpTask.objects.get(pk=result.follow_up.id).status == "done"
    with time_machine.travel(MONDAY_10 + timedelta(minutes=5)):
        detail = client.get(f"/api/v1/cases/{result.case.pk}/").json()
    assert detail["attempts"][0]["contact"] == sister.pk


def test_a_call_without_a_contact_is_to_the_neighbor(assigned):
    result, _, client = assigned
    response = log(client, result.follow_up.id, at=MONDAY_10, now=MONDAY_10, contact=None)
    assert response.status_code == 201
    assert ContactAttempt.objects.get().contact is None


def test_another_neighbors_contact_is_a_400_naming_contact(assigned, open_case):
    result, _, client = assigned
    with time_machine.travel(MONDAY_10 - timedelta(hours=1)):
        other = open_case(responded_at=MONDAY_10 - timedelta(hours=2))
    stranger = contact_of(other.case, name="Someone else")
    response = log(client, result.follow_up.id, at=MONDAY_10, now=MONDAY_10, contact=stranger.pk)
    assert response.status_code == 400
    assert "contact" in response.json()["errors"]
    assert "Someone else" not in response.content.decode()
    assert not ContactAttempt.objects.exists()


@pytest.mark.parametrize("value", [987654, 0, -3, "sister", 2**70, [1], True])
def test_a_contact_that_is_not_one_is_a_400_naming_contact(assigned, value):
    result, _, client = assigned
    response = log(client, result.follow_up.id, at=MONDAY_10, now=MONDAY_10, contact=value)
    assert response.status_code == 400, response.content
    assert "contact" in response.json()["errors"]
    assert not ContactAttempt.objects.exists()


def test_a_contact_who_may_not_be_contacted_is_a_400(assigned):
    result, _, client = assigned
    no_calls = contact_of(result.case, name="Tío Juan", may_contact=False)
    response = log(client, result.follow_up.id, at=MONDAY_10, now=MONDAY_10, contact=no_calls.pk)
    assert response.status_code == 400
    assert "may not be contacted" in response.json()["errors"]["contact"][0]
    assert not ContactAttempt.objects.exists()
    assert FollowUpTask.objects.get(pk=result.follow_up.id).status == "pending"


def test_only_the_neighbor_can_decline(assigned):
    result, _, client = assigned
    sister = contact_of(result.case)
    response = log(
        client,
        result.follow_up.id,
        at=MONDAY_10,
        now=MONDAY_10,
        outcome="declined",
        contact=sister.pk,
    )
    assert response.status_code == 400
    assert "outcome" in response.json()["errors"]
    result.case.refresh_from_db()
    assert result.case.status == "open"


def test_the_task_page_shows_the_services_message_for_a_call_before_the_response(client, assigned):
    result, pair, _ = assigned
    client.force_login(pair.peer)
    before = MONDAY_10 - timedelta(hours=3)
    with time_machine.travel(MONDAY_10):
        response = client.post(
            f"/tasks/{result.follow_up.id}/attempts/",
            {"method": "phone", "outcome": "reached", "occurred_at": before.isoformat()},
            follow=True,
        )
    # Refused: the form again, with the service's words, as a 400 (nothing written).
    assert response.status_code == 400
    assert "before the field response" in response.content.decode()
    assert not ContactAttempt.objects.exists()
