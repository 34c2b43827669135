"""GET /api/v1/referrals/{id}/fhir/: a FHIR R4 Bundle parseable by the fhir.resources R4B models."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from referrals import fhir
from referrals.services import referral_accept, referral_decline

pytestmark = pytest.mark.django_db


def _parse(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(response.content)
    [task] = [e.resource for e in bundle.entry if isinstance(e.resource, Task)]
    [request] = [e for e in bundle.entry if isinstance(e.resource, ServiceRequest)]
    return bundle, task, request


def test_the_bundle_holds_the_task_and_the_service_request_it_fulfils(city):
    referral = city.refer()
    referral_accept(actor=city.casa_staff, referral=referral)
    bundle, task, request = _parse(city.navigator_api.get(f"/api/v1/referrals/{referral.pk}/fhir/"))
    assert bundle.type == "collection"
    assert task.status == "accepted"
    assert task.intent == "order"
    assert [(c.system, c.code) for c in task.code.coding] == [
        ("http://hl7.org/fhir/CodeSystem/task-code", "fulfill")
    ]
    assert task.focus.reference == request.fullUrl
    assert task.statusReason is None
    assert task.businessStatus.text == "Viewed"
    assert task.owner.display == "Casa Esperanza"
    assert task.for_fhir.display == "Ana Diaz"
    assert request.resource.status == "active"
    assert request.resource.intent == "order"
    assert request.resource.subject.display == "Ana Diaz"
    categories = [(c.system, c.code) for cc in request.resource.category for c in cc.coding]
    assert categories == [
        (fhir.SDOHCC_CODES, "sdoh-category-unspecified"),
        (fhir.NEED_SYSTEM, "mental_health"),
    ]
    assert request.resource.code.text == "Salud mental"
    # Every reference is to a resource in the Bundle, of the type it says.
    held = {e.fullUrl: e.resource.__resource_type__ for e in bundle.entry}
    for reference in (
        task.for_fhir,
        task.requester,
        task.owner,
        request.resource.subject,
        request.resource.requester,
        *request.resource.performer,
        *request.resource.supportingInfo,
    ):
        assert held[reference.reference] == reference.type
    assert (task.owner.type, request.resource.supportingInfo[0].type) == ("Organization", "Consent")
    assert request.resource.reasonCode[0].text == "Counseling in Spanish after a crisis call."


def test_a_declined_referral_carries_its_status_reason(city):
    referral = city.refer()
    referral_decline(actor=city.casa_staff, referral=referral, reason="no-capacity", note="Full")
    _, task, request = _parse(city.navigator_api.get(f"/api/v1/referrals/{referral.pk}/fhir/"))
    assert task.status == "rejected"
    assert task.statusReason.coding[0].code == "no-capacity"
    assert task.statusReason.text == "No capacity"
    assert request.resource.status == "revoked"
    assert task.executionPeriod.end is not None


def test_the_provider_gets_the_same_bundle_without_the_programs_notes(city):
    referral = city.refer()
    referral_decline(actor=city.casa_staff, referral=referral, reason="other", note="Internal")
    _, task, _ = _parse(city.casa_api.get(f"/api/v1/referrals/{referral.pk}/fhir/"))
    assert task.status == "rejected"
    assert task.note is None
    _, staff_task, _ = _parse(city.navigator_api.get(f"/api/v1/referrals/{referral.pk}/fhir/"))
    assert any(note.text == "Internal" for note in staff_task.note)


@pytest.mark.parametrize(
    ("steps", "status", "needs_reason"),
    [
        ([], "requested", False),
        (["accept", "start"], "in-progress", False),
        (["accept", "waitlist"], "on-hold", True),
        (["accept", "confirm-handoff"], "completed", False),
        (["accept", "no-show"], "failed", True),
        (["cancel"], "cancelled", True),
    ],
)
def test_every_status_exports_as_a_valid_task(city, steps, status, needs_reason):
    referral = city.refer()
    for step in steps:
        client = city.navigator_api if step == "cancel" else city.casa_api
        body = {"reason": "other"} if step == "cancel" else {}
        assert (
            client.post(f"/api/v1/referrals/{referral.pk}/{step}/", body, format="json").status_code
            == 200
        )
    _, task, _ = _parse(city.supervisor_api.get(f"/api/v1/referrals/{referral.pk}/fhir/"))
    assert task.status == status
    assert (task.statusReason is not None) == needs_reason
    if status == "completed":
        [activity, handoff] = task.output
        assert activity.type.coding[0].code == "resulting-activity"
        assert activity.valueCodeableConcept.coding[0].system == "http://snomed.info/sct"
        assert handoff.valueDateTime is not None
