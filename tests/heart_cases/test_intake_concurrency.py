"""Concurrent intakes on PostgreSQL with real threads: nothing doubled."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from heart_cases.models import Case, FieldResponse, Neighbor
from navigation.models import FollowUpTask

URL = "/api/v1/field-responses/"
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's locking"),
]


def post_all_at_once(token, bodies):
    barrier = threading.Barrier(len(bodies))

    def post(body):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait(timeout=30)
            response = client.post(URL, body, format="json")
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_fifty_identical_posts_at_once_make_one_case(make_staff, body):
    _, token = make_staff("cad", "responder")
    results = post_all_at_once(token, [body()] * 50)
    codes = Counter(code for code, _ in results)
    assert codes == {201: 1, 200: 49}, codes
    assert len({data["case"]["id"] for _, data in results}) == 1
    assert len({data["id"] for _, data in results}) == 1
    assert Case.objects.count() == 1
    assert FieldResponse.objects.count() == 1
    assert Neighbor.objects.count() == 1
    assert FollowUpTask.objects.count() == 1


def test_a_changed_body_racing_the_original_is_a_conflict_not_a_second_record(make_staff, body):
    _, token = make_staff("cad", "responder")
    bodies = [body()] * 10 + [body(narrative="a different account")] * 10
    results = post_all_at_once(token, bodies)
    codes = Counter(code for code, _ in results)
    assert codes[201] == 1
    assert codes[200] == 9, codes
    assert codes[409] == 10, codes
    assert FieldResponse.objects.count() == 1


def test_twenty_encounters_with_one_new_neighbor_at_once_make_one_neighbor_and_one_case(
    make_staff, body
):
    _, token = make_staff("cad", "responder")
    bodies = [body(incident_number=f"D2026-{i:07d}") for i in range(20)]
    results = post_all_at_once(token, bodies)
    assert Counter(code for code, _ in results) == {201: 20}
    assert Neighbor.objects.count() == 1
    assert Case.objects.count() == 1
    assert FieldResponse.objects.count() == 20
    assert sum(1 for _, data in results if data["case"]["created"]) == 1
    assert sum(1 for _, data in results if not data["neighbor"]["matched"]) == 1
    # One follow-up per consented encounter, each with its own clock.
    assert FollowUpTask.objects.count() == 20


def test_encounters_matching_one_neighbor_by_different_keys_share_the_open_case(make_staff, body):
    """Phone-only and name-and-birth-date-only posts for a known neighbor, all at once."""
    _, token = make_staff("cad", "responder")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    known = client.post(URL, body(follow_up_consent=False), format="json").json()
    connections.close_all()
    by_phone = {"first_name": "", "last_name": "", "date_of_birth": None}
    by_name = {"phone": ""}
    bodies = [
        body(incident_number=f"D-{i}", neighbor=by_phone if i % 2 else by_name) for i in range(16)
    ]
    results = post_all_at_once(token, bodies)
    assert Counter(code for code, _ in results) == {201: 16}
    assert {data["neighbor"]["id"] for _, data in results} == {known["neighbor"]["id"]}
    open_cases = Case.objects.filter(status="open")
    assert open_cases.count() == 1
    assert {data["case"]["id"] for _, data in results} == {open_cases.get().pk}
