"""Promises API.md makes about bad input, broken as an attacker or a careless client breaks them
(issue 12): a forged cursor, deeply nested JSON, times from year 1 or next week, paths that
match nothing. Each is a clear 4xx naming what is wrong, in JSON, with nothing written."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import override_settings
from django.utils import timezone

from heart_cases.models import Case, FieldResponse, Neighbor
from navigation.models import ContactAttempt, FollowUpTask

pytestmark = pytest.mark.django_db

# Each list's first ordering field, and positions no cursor of that list can hold.
NOT_A_NUMBER = ["p=abc", "p=99999999999999999999999999", "p=1.5"]
NOT_A_TIME = ["p=abc", "p=2026-13-45T99:00:00", "p=99999999999999999999"]
ANY_LIST = ["p=a\x00b", "o=x&p=1", "r=x&p=1"]
CURSOR_LISTS = {
    "/api/v1/cases/": NOT_A_NUMBER,  # -id
    "/api/v1/referrals/": NOT_A_NUMBER,  # -id
    "/api/v1/access-log/": NOT_A_TIME,  # -at
    "/api/v1/tasks/": NOT_A_TIME,  # work_by
    "/api/v1/providers/": [],  # name: any text is a position
}
FORGERIES = [(path, forged) for path, own in CURSOR_LISTS.items() for forged in own + ANY_LIST]


def cursor(text: str) -> str:
    return quote(base64.b64encode(text.encode()).decode())


@pytest.mark.parametrize(("path", "forged"), FORGERIES)
def test_a_forged_cursor_is_a_400_naming_cursor_on_every_list(supervisor, path, forged):
    _, api = supervisor
    response = api.get(f"{path}?cursor={cursor(forged)}")
    assert response.status_code == 400, (path, forged, response.content[:300])
    assert "cursor" in response.json()["errors"]


def test_a_cursor_the_api_gave_out_still_pages(supervisor, responder, body):
    _, cad = responder
    for n in range(3):
        cad.post(
            "/api/v1/field-responses/",
            body(
                incident_number=f"D-{n}",
                neighbor={"first_name": f"Ana{n}", "phone": f"+1 919 555 01{n:02d}"},
            ),
            format="json",
        )
    _, api = supervisor
    first = api.get("/api/v1/cases/?page_size=2").json()
    assert len(first["results"]) == 2
    assert first["next"]
    second = api.get(first["next"])
    assert second.status_code == 200
    assert len(second.json()["results"]) == 1


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


POSTS = [
    "/api/v1/field-responses/",
    "/api/v1/referrals/",
    "/api/v1/tasks/{task}/attempts/",
    "/api/v1/cases/{case}/close/",
    "/api/v1/cases/{case}/assign/",
]
DOCUMENTS = [nested(1000), nested(100_000), '{"a":' * 1000 + "1" + "}" * 1000]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("document", DOCUMENTS, ids=["arrays", "deeper", "objects"])
def test_deeply_nested_json_is_a_400_not_a_500(responder, supervisor, body, path, document):
    _, cad = responder
    made = cad.post("/api/v1/field-responses/", body(), format="json").json()
    url = path.format(task=made["follow_up"]["id"], case=made["case"]["id"])
    _, api = supervisor
    before = FieldResponse.objects.count()
    response = api.post(url, document, content_type="application/json")
    assert response.status_code == 400, (url, response.content[:300])
    assert "deeper than" in response.json()["errors"]["body"][0]
    assert FieldResponse.objects.count() == before


def test_ordinary_nesting_still_parses(responder, body):
    _, cad = responder
    response = cad.post("/api/v1/field-responses/", body(), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("responded_at", "0001-01-01T00:00:00-05:00"),
        ("responded_at", "1900-01-01T00:00:00-05:00"),
        ("responded_at", "2022-05-31T23:59:00-04:00"),
        ("cleared_at", "1999-01-01T00:00:00-05:00"),
    ],
)
def test_intake_refuses_a_time_before_the_earliest_record(responder, body, field, value):
    _, cad = responder
    response = cad.post("/api/v1/field-responses/", body(**{field: value}), format="json")
    assert response.status_code == 400, response.content
    assert "2022-06-01" in response.json()["errors"][field][0]
    assert not Neighbor.objects.exists()
    assert not FieldResponse.objects.exists()


def test_intake_refuses_a_time_further_ahead_than_the_clock_skew(responder, body):
    _, cad = responder
    ahead = (timezone.now() + timedelta(minutes=6)).isoformat()
    response = cad.post("/api/v1/field-responses/", body(responded_at=ahead), format="json")
    assert response.status_code == 400
    assert "5 minutes ahead" in response.json()["errors"]["responded_at"][0]
    assert not Case.objects.exists()
    # A tablet whose clock runs four minutes fast is still taken at its word.
    close = (timezone.now() + timedelta(minutes=4)).isoformat()
    ok = cad.post(
        "/api/v1/field-responses/", body(responded_at=close, cleared_at=None), format="json"
    )
    assert ok.status_code == 201, ok.content


@override_settings(HEART_EARLIEST_RECORD=timezone.localdate() - timedelta(days=10))
def test_the_earliest_record_is_a_setting(responder, body):
    _, cad = responder
    old = (timezone.now() - timedelta(days=11)).isoformat()
    response = cad.post("/api/v1/field-responses/", body(responded_at=old), format="json")
    assert response.status_code == 400
    assert "responded_at" in response.json()["errors"]


def test_an_attempt_dated_1900_does_not_mark_the_follow_up_done(responder, supervisor, body):
    _, cad = responder
    cad.post("/api/v1/field-responses/", body(), format="json")
    task = FollowUpTask.objects.get()
    _, api = supervisor
    response = api.post(
        f"/api/v1/tasks/{task.pk}/attempts/",
        {"method": "phone", "outcome": "reached", "occurred_at": "1900-01-01T10:00:00-05:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    task.refresh_from_db()
    assert task.status == FollowUpTask.Status.PENDING
    assert not ContactAttempt.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/cases/1/nope/", "/api/", "/api/v2/cases/"]
)
@pytest.mark.parametrize("debug", [False, True])
def test_api_paths_that_match_nothing_answer_json_404s(supervisor, path, debug):
    _, api = supervisor
    with override_settings(DEBUG=debug):
        response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in json.loads(response.content)


def test_an_api_method_not_allowed_answers_json(supervisor):
    _, api = supervisor
    response = api.delete("/api/v1/cases/")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_an_api_get_without_its_slash_is_sent_to_the_path_with_one(supervisor):
    _, api = supervisor
    response = api.get("/api/v1/cases?status=open")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/cases/?status=open"
    missing = api.post("/api/v1/cases", {}, format="json")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"


def test_pages_outside_the_api_still_answer_html_404s(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_the_schema_documents_coordinates_as_numbers(supervisor):
    _, api = supervisor
    schema = api.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    found = 0
    for component in components.values():
        for name in ("latitude", "longitude"):
            prop = component.get("properties", {}).get(name)
            if prop is not None:
                found += 1
                assert prop["type"] == "number", (component, name)
    assert found >= 4
