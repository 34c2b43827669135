"""GET /api/v1/tasks/ and the daily task list page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from heart_cases.actors import system_actor
from navigation.services import case_assign_auto

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


@pytest.fixture
def week_of_tasks(make_pair, open_case, expanded_hours):
    """Pair a: one overdue, one due today, one upcoming. Pair b: one task."""
    a, b = make_pair("a", capacity=500), make_pair("b", capacity=500)
    made = {}
    with time_machine.travel(MONDAY_10):
        for label, hours_ago in (("overdue", 50), ("today", 40), ("upcoming", 1)):
            result = open_case(responded_at=MONDAY_10 - timedelta(hours=hours_ago))
            case_assign_auto(actor=system_actor("t"), case=result.case)
            made[label] = result
    from navigation.models import FollowUpTask

    FollowUpTask.objects.filter(pair=b).update(pair=a)  # test setup only: all three to a
    with time_machine.travel(MONDAY_10):
        other = open_case(responded_at=MONDAY_10 - timedelta(hours=3))
    from navigation.services import pair_assign

    pair_assign(actor=system_actor("t"), case=other.case, pair=b, reason="setup")
    return a, b, made, other


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_tasks_come_ordered_by_work_by_with_the_contract_fields(week_of_tasks):
    a, _, made, _ = week_of_tasks
    with time_machine.travel(MONDAY_10):
        results = client_for(a.peer).get("/api/v1/tasks/").json()["results"]
    assert [t["id"] for t in results] == [
        made["overdue"].follow_up.id,
        made["today"].follow_up.id,
        made["upcoming"].follow_up.id,
    ]
    first = results[0]
    assert {"id", "case", "kind", "status", "deadline", "work_by", "pair", "neighbor"} <= set(first)
    assert set(first["neighbor"]) >= {"id", "display_name", "phone", "language"}
    assert first["pair"] == a.pk


@pytest.mark.parametrize("view", ["overdue", "today", "upcoming"])
def test_the_views_split_overdue_today_and_upcoming(week_of_tasks, view):
    a, _, made, _ = week_of_tasks
    with time_machine.travel(MONDAY_10):
        results = client_for(a.peer).get(f"/api/v1/tasks/?view={view}").json()["results"]
    assert [t["id"] for t in results] == [made[view].follow_up.id]


def test_navigators_see_their_pairs_tasks_and_supervisors_see_all_or_theirs(
    week_of_tasks, make_staff
):
    _, b, _, other = week_of_tasks
    with time_machine.travel(MONDAY_10):
        mine = client_for(b.clinician).get("/api/v1/tasks/").json()["results"]
        assert [t["id"] for t in mine] == [other.follow_up.id]
        boss = make_staff("boss", "supervisor")[0]
        everything = client_for(boss).get("/api/v1/tasks/").json()["results"]
        assert len(everything) == 4
        assert client_for(boss).get("/api/v1/tasks/?mine=true").json()["results"] == []


def test_bad_task_queries_are_400(week_of_tasks):
    a, *_ = week_of_tasks
    response = client_for(a.peer).get("/api/v1/tasks/?view=someday")
    assert response.status_code == 400
    assert "view" in response.json()["errors"]


def test_roles_without_tasks_are_refused(clients_by_role):
    for role in ("responder", "provider", "analyst"):
        assert clients_by_role[role].get("/api/v1/tasks/").status_code == 403
    assert clients_by_role["anonymous"].get("/api/v1/tasks/").status_code == 401


def test_the_task_api_query_count_does_not_grow_with_tasks(
    week_of_tasks, open_case, django_assert_max_num_queries
):
    a, *_ = week_of_tasks
    client = client_for(a.peer)
    with time_machine.travel(MONDAY_10), django_assert_max_num_queries(8):
        client.get("/api/v1/tasks/")


def _page_queries(client, django_capture):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/tasks/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_task_page_shows_three_groups_with_phone_links_and_last_attempts(client, week_of_tasks):
    a, _, made, _ = week_of_tasks
    with time_machine.travel(MONDAY_10):
        # Log in at the travelled time: sessions end after 30 idle minutes.
        client.force_login(a.peer)
        html = client.get("/tasks/").content.decode()
    assert html.index('id="overdue"') < html.index('id="today"') < html.index('id="upcoming"')
    neighbor = made["today"].neighbor
    assert f'href="tel:{neighbor.phone}"' in html
    assert "late by" in html
    assert "left" in html
    assert html.count('class="attempt"') == 3


def test_the_task_page_query_count_does_not_grow_with_the_number_of_tasks(
    client, week_of_tasks, open_case
):
    a, *_ = week_of_tasks
    with time_machine.travel(MONDAY_10):
        # Log in at the travelled time: sessions end after 30 idle minutes.
        client.force_login(a.peer)
        few, _ = _page_queries(client, None)
        for _ in range(30):
            result = open_case(responded_at=MONDAY_10 - timedelta(hours=5))
            from navigation.services import pair_assign

            pair_assign(actor=system_actor("t"), case=result.case, pair=a, reason="load")
        many, html = _page_queries(client, None)
    assert html.count('class="attempt"') == 33
    assert many == few, (few, many)


def test_a_supervisor_sees_counts_per_pair_and_the_unassigned(client, week_of_tasks, make_staff):
    boss = make_staff("boss", "supervisor")[0]
    with time_machine.travel(MONDAY_10):
        # Log in at the travelled time: sessions end after 30 idle minutes.
        client.force_login(boss)
        html = client.get("/tasks/").content.decode()
    assert "All tasks" in html
    assert "a-c" in html  # pair a's clinician in the per-pair counts
    assert "Unassigned: 0" in html


def test_logging_an_attempt_from_the_page_returns_to_the_list_with_the_next_task(
    client, week_of_tasks
):
    a, _, made, _ = week_of_tasks
    task_id = made["today"].follow_up.id
    with time_machine.travel(MONDAY_10):
        # Log in at the travelled time: sessions end after 30 idle minutes.
        client.force_login(a.peer)
        response = client.post(
            f"/tasks/{task_id}/attempts/",
            {"method": "phone", "outcome": "no_answer", "notes": "rang out"},
        )
        assert response.status_code == 302
        assert response["Location"].startswith("/tasks/#task-")
        page = client.get("/tasks/").content.decode()
    assert "Logged: No answer. Next: retry call" in page
    assert "Retry call" in page
