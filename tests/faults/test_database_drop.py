"""PostgreSQL drops the connection in the middle of an intake: the client gets a 503 it can
retry, and nothing is half-written."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from heart_cases import services
from heart_cases.models import Case, CaseNumber, FieldResponse, Neighbor, NeighborPhone
from navigation.models import FollowUpTask

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend"),
]


def terminate(pid: int) -> None:
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_connection_dropped_mid_intake_is_a_503_with_nothing_written(
    responder, body, monkeypatch
):
    _, client = responder
    real = services._in_service_area

    def drop_then_continue(data):
        # The neighbor and the case are already inserted in this transaction; now the server
        # goes away.
        terminate(connection.connection.info.backend_pid)
        return real(data)

    monkeypatch.setattr(services, "_in_service_area", drop_then_continue)
    response = client.post("/api/v1/field-responses/", body(), format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "nothing was recorded" in response.json()["detail"]

    connection.close()  # the test's own handle to the dead backend
    for model in (Neighbor, NeighborPhone, Case, CaseNumber, FieldResponse, FollowUpTask):
        assert not model.objects.exists(), model.__name__
    assert not Neighbor.history.exists()

    monkeypatch.setattr(services, "_in_service_area", real)
    retry = client.post("/api/v1/field-responses/", body(), format="json")
    assert retry.status_code == 201
    assert Case.objects.count() == 1


def test_a_page_answers_503_when_the_database_is_gone(client, make_staff, monkeypatch):
    user, _ = make_staff("maria", "clinician")
    client.force_login(user)
    from navigation import selectors

    def gone(**kwargs):
        terminate(connection.connection.info.backend_pid)
        return list(Case.objects.all())

    monkeypatch.setattr(selectors, "task_page_groups", gone)
    response = client.get("/tasks/")
    assert response.status_code == 503
    connection.close()
