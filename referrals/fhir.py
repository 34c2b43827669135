"""A referral as FHIR R4, conforming to the Gravity Project's SDOH Clinical Care IG: a Bundle
holding its Task (SDOHCC TaskForReferralManagement: the closed loop, in the Task.status codes the
profile allows), the ServiceRequest the Task fulfils (SDOHCC ServiceRequest), the Consent it
rests on (SDOHCC Consent), and the Patient, PractitionerRole, Practitioner and Organizations the
three reference. References inside the Bundle are `urn:uuid`s, stable for a referral (the
Patient's only for that referral, so two providers cannot link their copies by it).

Every resource is built with the `fhir.resources` R4B models, so a shape the base specification
forbids fails here rather than in the provider's system; the profiles' own rules are checked by
tests/referrals/test_fhir_conformance.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from heart_cases.models import Need

from . import disclosure
from .models import Consent, Provider, ReasonCode, Referral

_SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition"
TASK_PROFILE = f"{_SDOHCC}/SDOHCC-TaskForReferralManagement"
SERVICE_REQUEST_PROFILE = f"{_SDOHCC}/SDOHCC-ServiceRequest"
CONSENT_PROFILE = f"{_SDOHCC}/SDOHCC-Consent"
PRACTITIONER_ROLE_PROFILE = f"{_SDOHCC}/SDOHCC-practitionerrole"

SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
SNOMED = "http://snomed.info/sct"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_POLICY = "http://terminology.hl7.org/CodeSystem/consentpolicycodes"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LANGUAGE = "urn:ietf:bcp:47"
# The program's own code systems: names, not addresses to fetch.
REASON_SYSTEM = "urn:heart-care-navigation:referral-status-reason"
BUSINESS_STATUS_SYSTEM = "urn:heart-care-navigation:referral-business-status"
NEED_SYSTEM = "urn:heart-care-navigation:need"
CONSENT_PART_SYSTEM = "urn:heart-care-navigation:consent-scope"
OUTPUT_SYSTEM = "urn:heart-care-navigation:referral-output"
PROGRAM_NAME = "HEART Care Navigation"

# The program's needs as the IG's SDOH categories (SDOHCC ValueSet SDOH Category, in
# input/fsh/valuesets/SDOHCCValueSetSDOHCategory.fsh). Needs the value set has no domain for
# (mental health, substance use, medical care, legal, family) are "unspecified", as the IG asks;
# the program's own code goes beside it as a second category.
SDOH_CATEGORY: dict[str, tuple[str, str]] = {
    Need.MENTAL_HEALTH: ("sdoh-category-unspecified", "SDOH Category Unspecified"),
    Need.SUBSTANCE_USE: ("sdoh-category-unspecified", "SDOH Category Unspecified"),
    Need.HOUSING: ("housing-instability", "Housing Instability"),
    Need.FOOD: ("food-insecurity", "Food Insecurity"),
    Need.MEDICAL: ("sdoh-category-unspecified", "SDOH Category Unspecified"),
    Need.BENEFITS: ("financial-insecurity", "Financial Insecurity"),
    Need.TRANSPORTATION: ("transportation-insecurity", "Transportation Insecurity"),
    Need.LEGAL: ("sdoh-category-unspecified", "SDOH Category Unspecified"),
    Need.FAMILY: ("sdoh-category-unspecified", "SDOH Category Unspecified"),
    Need.OTHER: ("sdoh-category-unspecified", "SDOH Category Unspecified"),
}
# ServiceRequest.code is bound (required) to US Core Procedure Codes. The codes are the ones the
# IG's own instances use; the service's name goes beside them as text.
SOCIAL_SERVICE = (SNOMED, "410606002", "Social service procedure")
SERVICE_CODE: dict[str, tuple[str, str, str]] = {
    Need.FOOD: (SNOMED, "710925007", "Provision of food"),
}
# Consent.purpose in the words the neighbor's consent names, as PurposeOfUse where one fits.
PURPOSE_OF_USE = {
    "care coordination": (ACT_REASON, "CAREMGT", "care management"),
    "care management": (ACT_REASON, "CAREMGT", "care management"),
    "treatment": (ACT_REASON, "TREAT", "treatment"),
}

# Task.status -> ServiceRequest.status: the request stays active while the loop is open.
_REQUEST_STATUS = {
    Referral.Status.REQUESTED: "active",
    Referral.Status.ACCEPTED: "active",
    Referral.Status.IN_PROGRESS: "active",
    Referral.Status.ON_HOLD: "on-hold",
    Referral.Status.COMPLETED: "completed",
    Referral.Status.REJECTED: "revoked",
    Referral.Status.FAILED: "revoked",
    Referral.Status.CANCELLED: "revoked",
}
# The profile: "If the Task.status is rejected, cancelled, on-hold, or failed, then
# Task.statusReason.text should be included."
_NEEDS_REASON = {
    Referral.Status.REJECTED,
    Referral.Status.CANCELLED,
    Referral.Status.FAILED,
    Referral.Status.ON_HOLD,
}


def _urn(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{settings.HEART_BASE_URL}/{name}')}"


def organization_urn(provider: Provider) -> str:
    """The provider's Organization as the Bundle and the Task name it."""
    return _urn(f"providers/{provider.pk}")


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _built(model: type[Resource], fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` validated by the R4B model, back as the JSON the API answers."""
    resource = model.model_validate(fields)
    dumped: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return dumped


def _coding(system: str, code: str, display: Any) -> dict[str, str]:
    """`display` may be a lazy label: rendered here in English, whatever the reader's language
    (a coding's display is the code system's own text; the Part 2 notice is what follows the
    reader's language)."""
    with translation.override("en"):
        return {"system": system, "code": code, "display": str(display)}


def _reference(urn: str, kind: str, display: str = "") -> dict[str, str]:
    reference = {"reference": urn, "type": kind}
    if display:
        reference["display"] = display
    return reference


def _status_reason(referral: Referral) -> dict[str, Any] | None:
    if referral.status not in _NEEDS_REASON:
        return None
    if referral.status_reason:
        code = ReasonCode(referral.status_reason)
    elif referral.status == Referral.Status.ON_HOLD:
        code = ReasonCode.WAITLIST
    else:
        return {"text": referral.get_status_display()}
    return {"coding": [_coding(REASON_SYSTEM, code.value, code.label)], "text": str(code.label)}


def _service_code(referral: Referral) -> dict[str, Any]:
    system, code, display = SERVICE_CODE.get(referral.service.category, SOCIAL_SERVICE)
    return {"coding": [_coding(system, code, display)], "text": referral.service.name}


def _organization(
    *, name: str, phone: str = "", email: str = "", website: str = ""
) -> dict[str, Any]:
    telecom = [
        {"system": system, "value": value}
        for system, value in (("phone", phone), ("email", email), ("url", website))
        if value
    ]
    fields: dict[str, Any] = {"resourceType": "Organization", "active": True, "name": name}
    if telecom:
        fields["telecom"] = telecom
    return _built(Organization, fields)


def _patient(referral: Referral, *, notes: bool) -> tuple[dict[str, Any], str]:
    """The neighbor as far as the provider needs them: name, phone, language, and only what
    the consent covers now (the program's staff, `notes`, see all three). Returns the resource
    and the name it shows ("" when none)."""
    neighbor = referral.case.neighbor
    if notes:
        name, phone = neighbor.display_name, str(neighbor.phone) if neighbor.phone else ""
    else:
        shared = disclosure.provider_view(referral)
        name, phone = shared.name, shared.phone
    patient: dict[str, Any] = {"resourceType": "Patient"}
    if name:
        human: dict[str, Any] = {"text": name}
        if neighbor.last_name:
            human["family"] = neighbor.last_name
        if neighbor.first_name:
            human["given"] = [neighbor.first_name]
        patient["name"] = [human]
    if phone:
        patient["telecom"] = [{"system": "phone", "value": phone}]
    if neighbor.language:
        patient["communication"] = [
            {"language": {"coding": [{"system": LANGUAGE, "code": neighbor.language}]}}
        ]
    return _built(Patient, patient), name


def _consent(
    referral: Referral, *, patient_urn: str, program_urn: str, provider_urn: str
) -> dict[str, Any]:
    consent = referral.consent
    active = disclosure.withheld_because(consent, timezone.now()) is None
    purpose = PURPOSE_OF_USE.get(consent.purpose.strip().lower())
    obtained = _when(consent.obtained_at)
    return _built(
        FhirConsent,
        {
            "resourceType": "Consent",
            "id": str(consent.pk),
            "meta": {"profile": [CONSENT_PROFILE]},
            "status": "active" if active else "inactive",
            "scope": {"coding": [_coding(CONSENT_SCOPE, "patient-privacy", "Privacy Consent")]},
            "category": [{"coding": [_coding(ACT_CODE, "IDSCL", "information disclosure")]}],
            "patient": _reference(patient_urn, "Patient"),
            "dateTime": obtained,
            "organization": [_reference(program_urn, "Organization", PROGRAM_NAME)],
            # No document is kept: the source is the record of how it was given.
            "sourceAttachment": {
                "title": f"{consent.get_method_display()} consent recorded by {PROGRAM_NAME}",
                "creation": obtained,
            },
            "policyRule": {
                "coding": [_coding(CONSENT_POLICY, "hipaa-auth", "HIPAA Authorization")]
            },
            "provision": {
                "type": "permit",
                "period": {"start": obtained, "end": _when(consent.expires_at)},
                "actor": [
                    {
                        "role": {
                            "coding": [_coding(PARTICIPATION_TYPE, "IRCP", "information recipient")]
                        },
                        "reference": _reference(
                            provider_urn, "Organization", referral.provider.name
                        ),
                    }
                ],
                "purpose": [_coding(*purpose) if purpose else {"display": consent.purpose}],
                "code": [
                    {"coding": [_coding(CONSENT_PART_SYSTEM, part, Consent.Scope(part).label)]}
                    for part in consent.scope
                ],
            },
        },
    )


def _task(
    referral: Referral,
    *,
    neighbor: dict[str, str],
    requester: dict[str, str],
    provider: dict[str, str],
    request_urn: str,
    notes: bool,
    timeline: list[dict[str, Any]] | None,
    validated: bool = True,
) -> dict[str, Any]:
    """The SDOHCC Task of the referral (the Bundle's, and the one /fhir/Task serves).
    `validated=False` skips the R4B model's round trip (a millisecond a Task, the most of a
    search's time): the dict is already in the shape it would give back, which
    tests/referrals/test_fhir_task_api.py checks."""
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.pk),
        "meta": {"profile": [TASK_PROFILE]},
        "status": referral.status,
        "businessStatus": {
            "coding": [
                _coding(
                    BUSINESS_STATUS_SYSTEM,
                    referral.business_status,
                    referral.get_business_status_display(),
                )
            ],
            "text": referral.get_business_status_display(),
        },
        "intent": "order",
        "priority": "routine",
        "code": {"coding": [_coding(TASK_CODE_SYSTEM, "fulfill", "Fulfill the focal request")]},
        "focus": _reference(request_urn, "ServiceRequest"),
        "for": neighbor,
        "authoredOn": _when(referral.requested_at),
        "lastModified": _when(referral.status_changed_at),
        "requester": requester,
        "owner": provider,
        "executionPeriod": {
            key: value
            for key, value in (
                ("start", _when(referral.requested_at)),
                ("end", _when(referral.ended_at)),
            )
            if value
        },
    }
    reason = _status_reason(referral)
    if reason is not None:
        task["statusReason"] = reason
    if referral.status == Referral.Status.COMPLETED and referral.handoff_at:
        task["output"] = [
            # The profile's PerformedActivityCode slice: the service the neighbor arrived for.
            {
                "type": {
                    "coding": [_coding(SDOHCC_CODES, "resulting-activity", "Resulting Activity")]
                },
                "valueCodeableConcept": _service_code(referral),
            },
            {
                "type": {
                    "coding": [_coding(OUTPUT_SYSTEM, "handoff-confirmed", "Handoff confirmed")],
                    "text": "Handoff confirmed: the neighbor arrived",
                },
                "valueDateTime": _when(referral.handoff_at),
            },
        ]
    task_notes: list[dict[str, Any]] = []
    if notes and referral.status_note:
        task_notes.append({"text": referral.status_note})
    if notes and timeline:
        task_notes.extend(
            {
                "time": _when(step["at"]),
                "text": f"{step['status']}: {step.get('reason') or ''}".strip(": "),
            }
            for step in timeline
        )
    if not notes and referral.is_part2:
        # 42 CFR § 2.32: the redisclosure notice goes with the disclosure itself.
        language = disclosure.language_of(referral.provider.contact_language)
        task_notes.append({"text": f"42 CFR § 2.32: {disclosure.PART2_NOTICE[language]}"})
    if task_notes:
        task["note"] = task_notes
    return _built(Task, task) if validated else task


def provider_task(
    referral: Referral, *, version_id: str, last_updated: datetime | None
) -> dict[str, Any]:
    """The Task as `/fhir/Task` serves it to the receiving provider's own system: the Task of
    the provider's copy of the Bundle (the neighbor named only as far as the consent covers
    now), with `meta.versionId` and `lastUpdated`, and the 42CFRPart2 label under Part 2. Its
    references are the Bundle's `urn:uuid`s, stable for the referral."""
    navigator = referral.requested_by
    navigator_name = navigator.get_full_name() or navigator.get_username()
    task = _task(
        referral,
        neighbor=_reference(
            _urn(f"referrals/{referral.pk}/patient"),
            "Patient",
            disclosure.provider_view(referral).name,
        ),
        requester=_reference(
            _urn(f"users/{navigator.pk}/navigator-role"), "PractitionerRole", navigator_name
        ),
        provider=_reference(
            _urn(f"providers/{referral.provider_id}"), "Organization", referral.provider.name
        ),
        request_urn=_urn(f"referrals/{referral.pk}/service-request"),
        notes=False,
        timeline=None,
        validated=False,
    )
    meta: dict[str, Any] = {"versionId": version_id, **task.get("meta", {})}
    if last_updated is not None:
        meta["lastUpdated"] = timezone.localtime(last_updated).isoformat(timespec="microseconds")
    if referral.is_part2:
        meta["security"] = [dict(disclosure.PART2_SECURITY)]
    task["meta"] = meta
    return task


def referral_bundle(
    referral: Referral, *, timeline: list[dict[str, Any]] | None = None, notes: bool = True
) -> dict[str, Any]:
    """The Bundle. `notes` adds the program's free-text notes (staff only); without them it is
    the provider's copy, which names the neighbor only as far as the consent covers now
    (referrals.disclosure). A Part 2 referral's resources carry the 42CFRPart2 security label,
    and the provider's copy the §2.32 notice."""
    navigator = referral.requested_by
    task_urn = _urn(f"referrals/{referral.pk}/task")
    request_urn = _urn(f"referrals/{referral.pk}/service-request")
    patient_urn = _urn(f"referrals/{referral.pk}/patient")
    consent_urn = _urn(f"consents/{referral.consent_id}")
    provider_urn = _urn(f"providers/{referral.provider_id}")
    program_urn = _urn("program")
    practitioner_urn = _urn(f"users/{navigator.pk}")
    role_urn = _urn(f"users/{navigator.pk}/navigator-role")
    navigator_name = navigator.get_full_name() or navigator.get_username()
    need = Need(referral.service.category)
    sdoh_code, sdoh_display = SDOH_CATEGORY[need]
    shared_reason = referral.reason if notes else disclosure.provider_view(referral).reason

    patient, neighbor_name = _patient(referral, notes=notes)
    neighbor = _reference(patient_urn, "Patient", neighbor_name)
    requester = _reference(role_urn, "PractitionerRole", navigator_name)
    provider = _reference(provider_urn, "Organization", referral.provider.name)
    service_request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(referral.pk),
        "meta": {"profile": [SERVICE_REQUEST_PROFILE]},
        "status": _REQUEST_STATUS[Referral.Status(referral.status)],
        "intent": "order",
        "category": [
            {"coding": [_coding(SDOHCC_CODES, sdoh_code, sdoh_display)]},
            {"coding": [_coding(NEED_SYSTEM, need.value, need.label)]},
        ],
        "priority": "routine",
        "code": _service_code(referral),
        "subject": neighbor,
        "authoredOn": _when(referral.requested_at),
        "requester": requester,
        "performer": [provider],
        "supportingInfo": [_reference(consent_urn, "Consent")],
    }
    if Consent.Scope.CONTACT not in referral.consent.scope:
        # The neighbor did not agree to be contacted by the provider: the IG's flag for it.
        service_request["orderDetail"] = [
            {
                "coding": [
                    _coding(
                        SDOHCC_CODES,
                        "contacting-subject-prohibited",
                        "Contacting Subject Prohibited",
                    )
                ]
            }
        ]
    if shared_reason:
        service_request["reasonCode"] = [{"text": shared_reason}]
    task = _task(
        referral,
        neighbor=neighbor,
        requester=requester,
        provider=provider,
        request_urn=request_urn,
        notes=notes,
        timeline=timeline,
    )

    role = {
        "resourceType": "PractitionerRole",
        "meta": {"profile": [PRACTITIONER_ROLE_PROFILE]},
        "active": True,
        "practitioner": _reference(practitioner_urn, "Practitioner", navigator_name),
        "organization": _reference(program_urn, "Organization", PROGRAM_NAME),
        "code": [{"text": "Care navigator"}],
    }
    practitioner_name: dict[str, Any] = {"text": navigator_name}
    if navigator.last_name:
        practitioner_name["family"] = navigator.last_name
    if navigator.first_name:
        practitioner_name["given"] = [navigator.first_name]
    entries = [
        (task_urn, task),
        (request_urn, _built(ServiceRequest, service_request)),
        (patient_urn, patient),
        (
            consent_urn,
            _consent(
                referral,
                patient_urn=patient_urn,
                program_urn=program_urn,
                provider_urn=provider_urn,
            ),
        ),
        (role_urn, _built(PractitionerRole, role)),
        (
            practitioner_urn,
            _built(Practitioner, {"resourceType": "Practitioner", "name": [practitioner_name]}),
        ),
        (
            provider_urn,
            _organization(
                name=referral.provider.name,
                phone=referral.provider.phone,
                email=referral.provider.email,
                website=referral.provider.website,
            ),
        ),
        (program_urn, _organization(name=PROGRAM_NAME)),
    ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": f"referral-{referral.pk}",
        "type": "collection",
        "timestamp": _when(timezone.now()),
        "entry": [{"fullUrl": urn, "resource": resource} for urn, resource in entries],
    }
    if referral.is_part2:
        for resource in (bundle, *(resource for _, resource in entries)):
            resource.setdefault("meta", {})["security"] = [dict(disclosure.PART2_SECURITY)]
    return _built(Bundle, bundle)
