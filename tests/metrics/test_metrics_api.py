"""GET /api/v1/metrics/: who may ask, what a bad period answers, the schema, the query budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from metrics import facts
from tests.conftest import ROLES
from tests.metrics.conftest import local

pytestmark = pytest.mark.django_db
PATH = "/api/v1/metrics/"
OCTOBER = {"start": "2026-10-01", "end": "2026-10-31"}


def test_analysts_and_supervisors_may_read_metrics_and_no_one_else(clients_by_role):
    allowed = {"analyst", "supervisor"}
    answers = {
        role: client.get(PATH, OCTOBER).status_code for role, client in clients_by_role.items()
    }
    expected = {role: 200 if role in allowed else 403 for role in ROLES} | {"anonymous": 401}
    assert answers == expected


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"end": "2026-10-31"}, {"start"}),
        ({"start": "2026-10-01"}, {"end"}),
        ({}, {"start", "end"}),
        ({"start": "2026-10-01", "end": "2026-13-01"}, {"end"}),
        ({"start": "yesterday", "end": "2026-10-31"}, {"start"}),
        ({"start": "2026-10-01T00:00:00", "end": "2026-10-31"}, {"start"}),
        ({"start": "2026-10-31", "end": "2026-10-01"}, {"start", "end"}),
        ({"start": "2024-10-01", "end": "2026-10-01"}, {"start", "end"}),
        ({"start": "1999-12-31", "end": "2000-01-05"}, {"start"}),
        ({"start": "2100-12-30", "end": "9999-12-31"}, {"end"}),
        ({"start": "' OR 1=1 --", "end": "\x00"}, {"start", "end"}),
    ],
)
def test_a_bad_period_is_a_400_naming_each_bad_field(clients_by_role, query, fields):
    response = clients_by_role["analyst"].get(PATH, query)
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == fields


def test_a_full_leap_year_is_allowed_and_a_day_more_is_not(clients_by_role):
    client = clients_by_role["analyst"]
    assert client.get(PATH, {"start": "2028-01-01", "end": "2028-12-31"}).status_code == 200
    assert client.get(PATH, {"start": "2027-12-31", "end": "2028-12-31"}).status_code == 400


def test_an_empty_period_answers_zeros_and_nulls(clients_by_role):
    data = clients_by_role["supervisor"].get(PATH, OCTOBER).json()
    assert data["field_responses"]["total"] == 0
    assert data["follow_ups"] | {"by_week": []} == {
        "due": 0,
        "met_within_48h": 0,
        "rate": None,
        "first_attempt_within_48h": 0,
        "first_attempt_rate": None,
        "not_yet_due": 0,
        "outside_service_hours": 0,
        "met_by_first_service_window": 0,
        "first_service_window_rate": None,
        "by_week": [],
    }
    assert data["median_hours_to_first_contact"] is None
    assert data["responder_felt_safe_rate"] is None
    assert len(data["field_responses"]["by_week"]) == 5  # every week of October, even empty


def test_the_schema_describes_the_metrics_endpoint_exactly(client, make_staff):
    user, _ = make_staff("schema-reader", "analyst")
    client.force_login(user)
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/metrics/"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"start", "end"}
    assert all(p["required"] for p in operation["parameters"])
    assert set(operation["responses"]) == {"200", "400", "401", "403"}
    output = schema["components"]["schemas"]["MetricsOutput"]
    for key in (
        "field_responses",
        "cases_opened",
        "follow_ups",
        "referrals",
        "responder_felt_safe_rate",
        "repeat_neighbors",
        "median_hours_to_first_contact",
    ):
        assert key in output["properties"]
        assert key in output["required"]


def _analyst_client(make_staff) -> APIClient:
    user, _ = make_staff("budget-analyst", "analyst")
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("responses", [3, 30])
def test_the_query_count_does_not_grow_with_the_data(
    responses, history, make_staff, django_assert_num_queries
):
    facts.rebuild()  # as on any running system: the facts exist, changes arrive
    for k in range(responses):
        result = history.respond(f"budget{k % 7}", local(2026, 10, 1 + k % 28, 9 + k % 8))
        if result.follow_up is not None and k % 2:
            history.attempt(result, local(2026, 10, 1 + k % 28, 18), "reached")
    client = _analyst_client(make_staff)
    # On SQLite (`make run`) no SET LOCAL, and the median takes a count and a read (one fewer);
    # nor does the first read ask whether the connection may write (one fewer again).
    sqlite = int(connection.vendor != "postgresql")
    # The first read folds the new rows into the facts (a few set-based statements).
    with django_assert_num_queries(QUERIES_WITH_REFRESH - 2 * sqlite):
        assert client.get(PATH, OCTOBER).status_code == 200
    with django_assert_num_queries(QUERIES - sqlite):
        assert client.get(PATH, OCTOBER).status_code == 200


# The facts' state (1), SAVEPOINT and RELEASE around the aggregates (2), SET LOCAL jit and
# work_mem (2), how fresh the facts are (1), field responses by week and the repeats (2),
# demographics and their profiles (2), follow-ups (settled days and running ones, 2) and the
# median (1), referrals and their reasons (2), cases (1), eligible calls (by hour of the week,
# program, outcome and answer; minutes to arrival: 2) and debriefs (1).
QUERIES = 19
# The first request also loads the user's permissions (2), asks whether the connection may
# write (1, PostgreSQL only) and folds the changes in (25): the lock, what is waiting, then per
# round the neighbors' and the cases' facts replaced (the days losing what the old facts
# counted and gaining what the new ones count), the new cases counted, the notes deleted, and
# the time of the refresh.
QUERIES_WITH_REFRESH = QUERIES + 2 + 1 + 25


def test_demo_data_answers_for_a_year(clients_by_role):
    call_command("seed_demo", "--responses", "12", "--days", "6", stdout=None)
    today = timezone.localdate()
    year = {"start": str(today - timedelta(days=365)), "end": str(today)}
    data = clients_by_role["analyst"].get(PATH, year)
    assert data.status_code == 200
    # The 12 CAD encounters asked for, and the demo workspace's police referral and debrief call.
    assert data.json()["field_responses"]["total"] == 12 + 2
