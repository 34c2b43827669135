"""The benchmark's second intake baseline (issue 19) writes what intake writes: the same tables,
the same number of rows in each, linked the same way, in one statement. If intake starts writing
another row, this fails until the floor writes it too, so the two stay comparable."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from heart_cases.api import FieldResponseInput
from heart_cases.bench_api import rows_insert
from heart_cases.models import Case, FieldResponse
from tests.conftest import field_response_body

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"heart_cases", "navigation", "referrals"}
    }


def grown(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {label: after[label] - before[label] for label in after if after[label] != before[label]}


def test_the_floor_writes_the_rows_a_new_neighbors_intake_writes(responder: Any) -> None:
    user, client = responder
    before = counts()
    answer = client.post("/api/v1/field-responses/", field_response_body(), format="json")
    assert answer.status_code == 201, answer.content
    by_intake = grown(before, counts())

    body = field_response_body(
        incident_number="FLOOR-1",
        neighbor={
            **field_response_body()["neighbor"],
            "last_name": "Floorrow",
            "phone": "+19195550199",
        },
    )
    serializer = FieldResponseInput(data=body)
    assert serializer.is_valid(), serializer.errors
    before = counts()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        ids = rows_insert(actor_id=user.pk, data=serializer.to_input())
    by_floor = grown(before, counts())

    assert sum(by_intake.values()) >= 10, by_intake  # five rows and their five history rows
    assert by_floor == by_intake
    assert sum(1 for q in queries.captured_queries if q["sql"].startswith("WITH")) == 1
    response = FieldResponse.objects.get(pk=ids["field_response"])
    case = Case.objects.get(pk=ids["case"])
    assert response.case_id == case.pk
    assert case.neighbor_id == ids["neighbor"]
    assert case.number.startswith("HC-")
    assert case.history.count() == 1
    assert response.neighbor.phones.count() == 1
