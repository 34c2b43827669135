"""A field response knows whether it fell inside its program's service area (issue 15, API.md
"Eligible calls"): true inside, false outside, null without a location; the CAD's record of a
response entered by hand places it again."""

from __future__ import annotations

from typing import Any

import pytest

from calls.areas import in_service_area
from heart_cases.models import FieldResponse
from tests.conftest import field_response_body

pytestmark = pytest.mark.django_db

# In and out of the demo city's pilot area (demo/service_areas/durham_pilot.geojson).
EAST_MAIN = {"address": "215 E Main St, Durham, NC", "latitude": 35.9961, "longitude": -78.8886}
CHAPEL_HILL_RD = {
    "address": "2000 Chapel Hill Rd, Durham, NC",
    "latitude": 35.9825,
    "longitude": -78.9380,
}


def posted(client: Any, **overrides: Any) -> tuple[dict, FieldResponse]:
    answer = client.post(
        "/api/v1/field-responses/", field_response_body(**overrides), format="json"
    )
    assert answer.status_code in (200, 201), answer.content
    body = answer.json()
    return body, FieldResponse.objects.get(pk=body["id"])


# No location: an address alone, with no point.
ADDRESS_ONLY = {"address": "Under the Mangum St bridge", "latitude": None, "longitude": None}


@pytest.mark.parametrize(
    ("location", "expected"), [(EAST_MAIN, True), (CHAPEL_HILL_RD, False), (ADDRESS_ONLY, None)]
)
def test_intake_places_the_response_in_or_out_of_the_area(
    responder: Any, location: dict | None, expected: bool | None
) -> None:
    if location is not None:
        assert in_service_area("CRT", location["latitude"], location["longitude"]) is expected
    _user, client = responder
    body, response = posted(client, location=location)
    assert body["in_service_area"] is expected
    assert response.in_service_area is expected
    assert response.history.get().in_service_area is expected


def test_the_cads_record_of_a_hand_entry_places_it_again(responder: Any) -> None:
    _user, client = responder
    _body, entered = posted(client, location=CHAPEL_HILL_RD, source="manual")
    assert entered.in_service_area is False
    body, taken_over = posted(client, location=EAST_MAIN)
    assert taken_over.pk == entered.pk
    assert body["in_service_area"] is True
    assert taken_over.in_service_area is True
    assert [row.in_service_area for row in taken_over.history.order_by("history_id")] == [
        False,
        True,
    ]
