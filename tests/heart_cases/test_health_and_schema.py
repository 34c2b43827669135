from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_anonymously_with_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_healthz_reports_a_broker_that_does_not_answer(client):
    # A port nothing listens on: the shared Redis is left alone.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "down"


def test_the_schema_and_docs_need_a_login(client):
    assert client.get("/api/schema/").status_code in (401, 403)


def test_the_schema_describes_the_contract(supervisor):
    _, api = supervisor
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/v1/field-responses/",
        "/api/v1/cases/",
        "/api/v1/cases/{case_id}/",
        "/api/v1/cases/{case_id}/history/",
        "/api/v1/cases/{case_id}/close/",
    ):
        assert path in paths, path
    intake = paths["/api/v1/field-responses/"]["post"]
    assert {"200", "201", "400", "409", "413"} <= set(intake["responses"])


def test_the_docs_page_serves_its_assets_from_the_app(client, make_staff):
    user, _ = make_staff("root", "admin", password="long-enough-password-1")
    client.force_login(user)
    html = client.get("/api/docs/").content.decode()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html
