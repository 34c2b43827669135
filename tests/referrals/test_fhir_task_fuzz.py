"""/fhir/Task under junk (issue 17: "never a 5xx"): hypothesis sends every role's token, junk
search parameters, junk ids, and Tasks with junk elements, junk bodies, content types and
If-Match headers to a real referral. Every answer is FHIR JSON, every refusal an
OperationOutcome, and nothing is a 5xx. (The OpenAPI fuzz in tests/test_api_fuzz.py drives the
same three operations from the schema; this one reaches past the 404 with a real Task.)"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.task import Task
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.conftest import ROLES, token_client
from tests.referrals.conftest import City

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
STATUSES = [
    "requested",
    "accepted",
    "rejected",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "cancelled",
    "ready",
    "draft",
]
ELEMENTS = [
    "resourceType",
    "id",
    "status",
    "intent",
    "statusReason",
    "businessStatus",
    "output",
    "owner",
    "for",
    "focus",
    "note",
    "meta",
    "authoredOn",
    "code",
    "executionPeriod",
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(STATUSES),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["coding", "code", "system", "text", "type"]), inner, max_size=3
        )
    ),
    max_leaves=10,
)
EDITS = st.dictionaries(st.sampled_from(ELEMENTS) | st.text(max_size=6), JSON, max_size=4)
CONTENT_TYPES = st.sampled_from(
    [
        FHIR_JSON,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/octet-stream",
    ]
)
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def clients(city: City, make_staff: Any) -> dict[str, APIClient]:
    found = {role: token_client(make_staff(f"fz-{role}", role)[1]) for role in ROLES}
    found["provider"] = city.casa_api  # the receiving organization's staff
    found["other-provider"] = city.housing_api
    found["anonymous"] = APIClient()
    return found


WHO = st.sampled_from([*ROLES, "other-provider", "anonymous", "provider", "provider"])


def _checked(response: Any) -> None:
    assert response.status_code < 500, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome"
        OperationOutcome.model_validate(body)
        assert all(issue["diagnostics"] for issue in body["issue"])
    elif body["resourceType"] == "Task":
        Task.model_validate(body)


def test_junk_puts_are_refused_with_an_operation_outcome(city: City, clients: Any) -> None:
    referral = city.refer()
    task = clients["provider"].get(f"/fhir/Task/{referral.pk}").json()

    @SETTINGS
    @given(
        who=WHO,
        edits=EDITS,
        raw=st.none() | st.binary(max_size=40) | st.text(max_size=40),
        content_type=CONTENT_TYPES,
        if_match=st.none() | st.text(max_size=16) | st.sampled_from(["*", 'W/"1"']),
    )
    def put(who: str, edits: dict, raw: Any, content_type: str, if_match: Any) -> None:
        body = raw if raw is not None else json.dumps({**task, **edits})
        headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
        response = clients[who].put(
            f"/fhir/Task/{referral.pk}", data=body, content_type=content_type, **headers
        )
        _checked(response)

    put()


def test_junk_searches_and_ids_are_refused_with_an_operation_outcome(
    city: City, clients: Any
) -> None:
    city.refer()
    params = st.dictionaries(
        st.sampled_from(["owner", "status", "_count", "_cursor", "_format"]) | st.text(max_size=6),
        st.text(max_size=12) | st.sampled_from(["casa", "requested,accepted", "0", "200"]),
        max_size=3,
    )

    @SETTINGS
    @given(who=WHO, query=params, task_id=st.text(min_size=1, max_size=24))
    def read(who: str, query: dict, task_id: str) -> None:
        _checked(clients[who].get("/fhir/Task", query))
        _checked(clients[who].get(f"/fhir/Task/{quote(task_id, safe='')}"))

    read()
