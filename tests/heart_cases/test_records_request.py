"""A records request (API.md, "Consent and privacy"; issue 16, item 6): a supervisor exports
everything the system holds about one neighbor, as JSON, and the export is in the access log."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from heart_cases.models import AccessLog, Neighbor
from heart_cases.services import neighbor_link
from navigation.services import attempt_record, pair_assign
from referrals.services import referral_create
from tests.referrals.conftest import _service

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(responder, body, make_staff, make_pair):
    """Ana, met twice under two records (linked), with a call, a referral, and a read."""
    _, cad = responder
    first = cad.post("/api/v1/field-responses/", body(), format="json").json()
    second = cad.post(
        "/api/v1/field-responses/",
        body(incident_number="D-2", neighbor={"first_name": "Anita", "phone": "+1 919 555 0199"}),
        format="json",
    ).json()
    supervisor, _ = make_staff("dana", "supervisor")
    pair = make_pair("a")
    from heart_cases.models import Case
    from navigation.models import FollowUpTask
    from referrals.models import Provider

    case = Case.objects.get(pk=first["case"]["id"])
    pair_assign(actor=supervisor, case=case, pair=pair, reason="test")
    attempt_record(
        actor=pair.clinician,
        task=FollowUpTask.objects.get(pk=first["follow_up"]["id"]),
        method="phone",
        outcome="reached",
        occurred_at=timezone.now(),
        duration_minutes=5,
        notes="Talked about housing",
    )
    casa = Provider.objects.create(slug="casa", name="Casa Esperanza")
    referral_create(
        actor=pair.clinician,
        case=case,
        service=_service(casa, "Salud mental", "mental_health", ["es"]),
        reason="Counseling",
        consent_method="verbal",
        consent_obtained_at=timezone.now(),
    )
    reader = APIClient()
    reader.force_authenticate(pair.clinician)
    assert reader.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    note = reader.post(
        f"/api/v1/cases/{case.pk}/notes/", {"text": "Sister Marta may call"}, format="json"
    )
    assert note.status_code == 201, note.content
    ana = Neighbor.objects.get(pk=first["neighbor"]["id"])
    anita = Neighbor.objects.get(pk=second["neighbor"]["id"])
    neighbor_link(actor=supervisor, neighbor=anita, into=ana, reason="Same person")
    exporter = APIClient()
    exporter.force_authenticate(supervisor)
    return ana, anita, case, pair, exporter, supervisor


def test_a_supervisor_exports_everything_held_about_the_person(person):
    ana, anita, case, pair, exporter, _ = person
    response = exporter.get(f"/api/v1/neighbors/{ana.pk}/export/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {r["id"] for r in body["records"]} == {ana.pk, anita.pk}
    assert {p for r in body["records"] for p in r["phones"]} == {"+19195550142", "+19195550199"}
    assert len(body["cases"]) == 2
    [first] = [c for c in body["cases"] if c["id"] == case.pk]
    assert first["field_responses"][0]["incident_number"] == "D2026-0012345"
    assert first["attempts"][0]["notes"] == "Talked about housing"
    assert [n["text"] for n in first["notes"]] == ["Sister Marta may call"]
    assert first["referrals"][0]["consent"]["method"] == "verbal"
    assert any(entry["action"] == "created" for entry in first["history"])
    assert any(row["reason"].endswith(": Same person") for row in body["record_history"])
    readers = {(e["user"], e["case"]) for e in body["access_log"]}
    assert (pair.clinician.username, case.pk) in readers


def test_exporting_a_linked_record_exports_the_person(person):
    ana, anita, _, _, exporter, _ = person
    body = exporter.get(f"/api/v1/neighbors/{anita.pk}/export/").json()
    assert {r["id"] for r in body["records"]} == {ana.pk, anita.pk}


def test_the_export_is_in_the_access_log_for_the_person_and_each_case(person):
    ana, anita, case, _, exporter, supervisor = person
    exporter.get(f"/api/v1/neighbors/{ana.pk}/export/")
    entries = AccessLog.objects.filter(user=supervisor, action="export").order_by("id")
    assert {e.case_id for e in entries} == {
        None,
        case.pk,
        *ana.cases.values_list("pk", flat=True),
        *anita.cases.values_list("pk", flat=True),
    }
    assert all(sorted(e.object_ids) == sorted([ana.pk, anita.pk]) for e in entries)
    assert {e.object_type for e in entries} == {"neighbor"}


def test_only_supervisors_may_export_and_an_unknown_neighbor_is_404(person, make_staff):
    ana, *_, exporter, _ = person
    for role in ("clinician", "peer", "provider", "analyst", "responder"):
        user, _ = make_staff(f"x-{role}", role)
        client = APIClient()
        client.force_authenticate(user)
        assert client.get(f"/api/v1/neighbors/{ana.pk}/export/").status_code == 403, role
    assert APIClient().get(f"/api/v1/neighbors/{ana.pk}/export/").status_code == 401
    assert exporter.get("/api/v1/neighbors/999999999/export/").status_code == 404
