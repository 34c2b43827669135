"""Every bad input: a 4xx naming what is wrong, nothing written, never a 5xx."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from heart_cases.models import Case, FieldResponse, Neighbor
from navigation.models import FollowUpTask

URL = "/api/v1/field-responses/"
pytestmark = pytest.mark.django_db


def assert_nothing_written():
    assert not FieldResponse.objects.exists()
    assert not Case.objects.exists()
    assert not Neighbor.objects.exists()
    assert not FollowUpTask.objects.exists()


def errors_of(response):
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def test_malformed_json_is_400_naming_the_body(responder):
    _, client = responder
    response = client.post(URL, data='{"incident_number": ', content_type="application/json")
    assert "body" in errors_of(response)
    assert_nothing_written()


def test_a_json_list_instead_of_an_object_is_400(responder):
    _, client = responder
    response = client.post(URL, [1, 2], format="json")
    assert "non_field_errors" in errors_of(response)


def test_every_missing_required_field_is_named_at_once(responder):
    _, client = responder
    errors = errors_of(client.post(URL, {}, format="json"))
    assert set(errors) == {
        "incident_number",
        "unit",
        "program",
        "call_type",
        "responded_at",
        "neighbor",
        "follow_up_consent",
    }
    assert_nothing_written()


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"program": "HEART"}, "program"),
        ({"call_type": "Bank robbery"}, "call_type"),
        ({"program": "CCD", "call_type": "Trespass"}, "call_type"),
        ({"responded_at": "2026-11-20T14:05:00"}, "responded_at"),
        ({"responded_at": "yesterday"}, "responded_at"),
        ({"responded_at": 12345}, "responded_at"),
        ({"cleared_at": "2026-11-20T15:10:00"}, "cleared_at"),
        ({"follow_up_consent": "maybe"}, "follow_up_consent"),
        ({"follow_up_consent": None}, "follow_up_consent"),
        ({"needs": ["housing", "money"]}, "needs"),
        ({"needs": "housing"}, "needs"),
        ({"disposition": "arrested"}, "disposition"),
        ({"neighbor": "Ana Diaz"}, "neighbor"),
        ({"location": {"latitude": 123}}, "location"),
        ({"location": "downtown"}, "location"),
        ({"incident_number": ""}, "incident_number"),
        ({"incident_number": "x" * 65}, "incident_number"),
        ({"unit": None}, "unit"),
        ({"responder_felt_safe": "very"}, "responder_felt_safe"),
    ],
)
def test_bad_fields_are_400_naming_the_field(responder, body, override, field):
    _, client = responder
    errors = errors_of(client.post(URL, body(**override), format="json"))
    assert field in errors, errors
    assert_nothing_written()


def test_a_response_time_in_the_future_is_refused(responder, body):
    _, client = responder
    future = timezone.now() + timedelta(days=1)
    errors = errors_of(
        client.post(
            URL,
            body(responded_at=future.isoformat(), cleared_at=None),
            format="json",
        )
    )
    assert "responded_at" in errors


def test_clearing_before_responding_is_refused(responder, body):
    _, client = responder
    payload = body()
    payload["cleared_at"] = "2000-01-01T00:00:00+00:00"
    assert "cleared_at" in errors_of(client.post(URL, payload, format="json"))


@pytest.mark.parametrize(
    ("neighbor", "field"),
    [
        ({"phone": "000-000-0000"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "+1 919 555"}, "phone"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1988-02-30"}, "date_of_birth"),
        ({"language": "Spanish!"}, "language"),
        ({"unsheltered": "sometimes"}, "unsheltered"),
    ],
)
def test_bad_neighbor_fields_are_named_under_neighbor(responder, body, neighbor, field):
    _, client = responder
    errors = errors_of(client.post(URL, body(neighbor=neighbor), format="json"))
    assert field in errors["neighbor"], errors
    assert_nothing_written()


def test_a_neighbor_with_nothing_to_identify_them_is_refused(responder, body):
    _, client = responder
    payload = body(neighbor={"first_name": "", "last_name": "", "alias": "", "phone": ""})
    errors = errors_of(client.post(URL, payload, format="json"))
    assert "non_field_errors" in errors["neighbor"]
    assert_nothing_written()


def test_every_bad_field_is_named_in_one_answer(responder, body):
    _, client = responder
    payload = body(
        program="CRT",
        call_type="Bank robbery",
        responded_at="2026-11-20T14:05:00",
        neighbor={"phone": "000-000-0000", "date_of_birth": "2999-01-01"},
    )
    errors = errors_of(client.post(URL, payload, format="json"))
    assert "responded_at" in errors
    assert {"phone", "date_of_birth"} <= set(errors["neighbor"])


def test_a_body_over_1_mib_is_413_and_writes_nothing(responder, body):
    _, client = responder
    payload = body(narrative="x" * (1024 * 1024 + 1))
    response = client.post(URL, payload, format="json")
    assert response.status_code == 413
    assert_nothing_written()


def test_a_declared_length_over_1_mib_is_413_before_the_body_is_read(responder):
    _, client = responder
    response = client.generic(
        "POST", URL, "{}", content_type="application/json", CONTENT_LENGTH=str(2 * 1024 * 1024)
    )
    assert response.status_code == 413
    assert_nothing_written()


def test_a_wrong_content_type_is_415_not_500(responder):
    _, client = responder
    response = client.post(URL, data="a=b", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_a_bad_token_is_401(body):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.post(URL, body(), format="json").status_code == 401
    assert_nothing_written()
