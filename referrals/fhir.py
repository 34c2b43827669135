"""A referral as FHIR R4: a Bundle holding its Task (the closed loop, in Task.status codes as the
Gravity Project's referral-management profile allows them) and the ServiceRequest the Task
fulfils. References inside the Bundle are `urn:uuid`s, stable for a referral."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from heart_cases.models import Need

from . import disclosure
from .models import ReasonCode, Referral

TASK_PROFILE = (
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement"
)
SERVICE_REQUEST_PROFILE = (
    "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest"
)
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
# The program's own code systems: names, not addresses to fetch.
REASON_SYSTEM = "urn:heart-care-navigation:referral-status-reason"
BUSINESS_STATUS_SYSTEM = "urn:heart-care-navigation:referral-business-status"
NEED_SYSTEM = "urn:heart-care-navigation:need"

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
# Statuses that say nothing without a reason (the profile requires one for the first two).
_NEEDS_REASON = {Referral.Status.REJECTED, Referral.Status.CANCELLED, Referral.Status.FAILED}


def _urn(referral: Referral, part: str) -> str:
    name = f"{settings.HEART_BASE_URL}/referrals/{referral.pk}/{part}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _person(referral: Referral) -> str:
    user = referral.requested_by
    return user.get_full_name() or user.get_username()


def _status_reason(referral: Referral) -> dict[str, Any] | None:
    if referral.status not in _NEEDS_REASON:
        return None
    if referral.status_reason:
        code = ReasonCode(referral.status_reason)
        return {
            "coding": [{"system": REASON_SYSTEM, "code": code.value, "display": code.label}],
            "text": code.label,
        }
    return {"text": referral.get_status_display()}


def referral_bundle(
    referral: Referral, *, timeline: list[dict[str, Any]] | None = None, notes: bool = True
) -> dict[str, Any]:
    """The Bundle. `notes` adds the program's free-text notes (staff only); without them it is
    the provider's copy, which names the neighbor only as far as the consent covers now
    (referrals.disclosure). A Part 2 referral's resources carry the 42CFRPart2 security label,
    and the provider's copy the §2.32 notice."""
    task_urn = _urn(referral, "task")
    request_urn = _urn(referral, "service-request")
    need = Need(referral.service.category)
    if notes:
        neighbor_name, shared_reason = referral.case.neighbor.display_name, referral.reason
    else:
        shared = disclosure.provider_view(referral)
        neighbor_name, shared_reason = shared.name or "Neighbor (not shared)", shared.reason
    service_request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(referral.pk),
        "meta": {"profile": [SERVICE_REQUEST_PROFILE]},
        "status": _REQUEST_STATUS[Referral.Status(referral.status)],
        "intent": "order",
        "category": [
            {"coding": [{"system": NEED_SYSTEM, "code": need.value, "display": need.label}]}
        ],
        "code": {"text": referral.service.name},
        "subject": {"display": neighbor_name},
        "authoredOn": _when(referral.requested_at),
        "requester": {"display": _person(referral)},
        "performer": [{"display": referral.provider.name}],
    }
    if shared_reason:
        service_request["reasonCode"] = [{"text": shared_reason}]
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.pk),
        "meta": {"profile": [TASK_PROFILE]},
        "status": referral.status,
        "businessStatus": {
            "coding": [
                {
                    "system": BUSINESS_STATUS_SYSTEM,
                    "code": referral.business_status,
                    "display": referral.get_business_status_display(),
                }
            ],
            "text": referral.get_business_status_display(),
        },
        "intent": "order",
        "priority": "routine",
        "code": {
            "coding": [
                {
                    "system": TASK_CODE_SYSTEM,
                    "code": "fulfill",
                    "display": "Fulfill the focal request",
                }
            ]
        },
        "focus": {"reference": request_urn, "type": "ServiceRequest"},
        "for": {"display": neighbor_name},
        "authoredOn": _when(referral.requested_at),
        "lastModified": _when(referral.status_changed_at),
        "requester": {"display": _person(referral)},
        "owner": {"display": referral.provider.name},
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
            {
                "type": {"text": "Handoff confirmed: the neighbor arrived"},
                "valueDateTime": _when(referral.handoff_at),
            }
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
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": f"referral-{referral.pk}",
        "type": "collection",
        "timestamp": _when(timezone.now()),
        "entry": [
            {"fullUrl": task_urn, "resource": task},
            {"fullUrl": request_urn, "resource": service_request},
        ],
    }
    if referral.is_part2:
        for resource in (bundle, task, service_request):
            resource.setdefault("meta", {})["security"] = [dict(disclosure.PART2_SECURITY)]
    return bundle
