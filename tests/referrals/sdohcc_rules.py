"""The rules of the Gravity SDOH Clinical Care IG's profiles that the referral Bundle claims, read
from the IG's FSH (github.com/HL7/fhir-sdoh-clinicalcare, input/fsh/, commit 6604b7ac13b9) and,
for the ServiceRequest's parent profile and the value set it borrows, US Core
(github.com/HL7/US-Core, input/resources/; the stored snapshot, where the IG pins 7.0.0).
tests/referrals/test_fhir_conformance.py applies them with one checker.

A rule is a dict with `kind`:
- `required`: the FSH's `1..`. `path`'s last element is present in every instance of its parent
  (`statusReason.text 1..` holds for every statusReason, and asks nothing when there is none).
- `count`: the FSH's `1..1` on a repeating element or slice: between `min` and `max` instances.
- `must_support`: the FSH's `MS`, read as "present when known": present when the producer says
  it holds the data (the checker's `known`), or when `when` (the profile's own comment, e.g.
  statusReason for a Task on hold) says it must be.
- `fixed`: every value at `path` equals `value` (`= ... (exactly)`).
- `pattern`: some value at `path` holds `value`'s keys (`code = $task-code#fulfill`).
- `binding`: a required binding: every value at `path` whose system is `system` (all of them
  when no system) is one of `codes`.
- `binding_systems`: a required binding to a value set defined by whole code systems: every
  CodeableConcept at `path` has a coding from one of `systems` (US Core's SNOMED CT filter,
  is-a 71388002 Procedure, cannot be checked without a terminology server).
- `reference`: every Reference at `path` is to one of `types` (`only Reference(...)`; profiles of
  a type are checked as the type).
- `absent`: the FSH's `..0`.
- `one_of`: exactly one of `paths` is present (a choice type's `value[x] 1..`).
- `only`: no top-level element but `paths` (the program's minimum-necessary rule for the
  Patient, not an IG rule).

A path is dotted element names; a segment `name[Slice]` selects the elements of `name` in the
profile's slice `Slice`, as `SLICES` describes it (by the discriminator the FSH gives).
"""

from __future__ import annotations

from typing import Any

SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition"
TEMPORARY_CODES = (
    "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
)
TASK = f"{SDOHCC}/SDOHCC-TaskForReferralManagement"
SERVICE_REQUEST = f"{SDOHCC}/SDOHCC-ServiceRequest"
CONSENT = f"{SDOHCC}/SDOHCC-Consent"
PRACTITIONER_ROLE = f"{SDOHCC}/SDOHCC-practitionerrole"
# Not an IG profile: the program's own rule for the neighbor (API.md, "Interoperability": the
# Patient holds only what the handoff needs).
NEIGHBOR = "urn:heart-care-navigation:rules:patient-minimum-necessary"

# SDOHCCValueSetReferralTaskStatus.fsh: TaskStatus, without ready and received.
REFERRAL_TASK_STATUS = [
    "draft",
    "requested",
    "accepted",
    "rejected",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
]
# SDOHCCValueSetSDOHCategory.fsh.
SDOH_CATEGORY = [
    "sdoh-category-unspecified",
    "food-insecurity",
    "housing-instability",
    "homelessness",
    "inadequate-housing",
    "transportation-insecurity",
    "financial-insecurity",
    "material-hardship",
    "educational-attainment",
    "employment-status",
    "veteran-status",
    "stress",
    "social-connection",
    "intimate-partner-violence",
    "elder-abuse",
    "personal-health-literacy",
    "health-insurance-coverage-status",
    "medical-cost-burden",
    "digital-literacy",
    "digital-access",
    "utility-insecurity",
    "incarceration-status",
    "language-access",
    "protective-factor",
]
# US Core 7.0.0 ValueSet us-core-procedure-code: its compose.include systems.
US_CORE_PROCEDURE_SYSTEMS = [
    "http://www.ama-assn.org/go/cpt",
    "http://snomed.info/sct",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "http://www.cms.gov/Medicare/Coding/ICD10",
    "http://www.ada.org/cdt",
    "http://loinc.org",
]


def _typed(system: str, code: str) -> dict[str, Any]:
    return {"path": "type.coding", "value": {"system": system, "code": code}}


# Per profile, its slices: the elements of `path` that match `match` (some value at
# match["path"] holds match["value"]'s keys), have `value` present, or reference `reference`.
SLICES: dict[str, dict[str, dict[str, Any]]] = {
    TASK: {
        "partOf[SupportedPartOf]": {"path": "partOf", "reference": ["Task"]},
        "input[AdditionalContent]": {
            "path": "input",
            "match": _typed(TEMPORARY_CODES, "additional-content"),
        },
        "output[PerformedActivityReference]": {
            "path": "output",
            "match": _typed(TEMPORARY_CODES, "resulting-activity"),
            "value": "valueReference",
        },
        "output[PerformedActivityCode]": {
            "path": "output",
            "match": _typed(TEMPORARY_CODES, "resulting-activity"),
            "value": "valueCodeableConcept",
        },
        "output[AdditionalContent]": {
            "path": "output",
            "match": _typed(TEMPORARY_CODES, "additional-content"),
        },
    },
    SERVICE_REQUEST: {
        "basedOn[SupportedBasedOn]": {"path": "basedOn", "reference": ["ServiceRequest"]},
        "category[SDOHCC]": {
            "path": "category",
            "match": {"path": "coding", "value": {"system": TEMPORARY_CODES}},
        },
        "orderDetail[SubjectContactDetail]": {
            "path": "orderDetail",
            "match": {
                "path": "coding",
                "value": {"system": TEMPORARY_CODES, "code": "contacting-subject-prohibited"},
            },
        },
        "reasonReference[SupportedReasonReference]": {
            "path": "reasonReference",
            "reference": ["Condition", "Observation"],
        },
        "supportingInfo[SupportedSupportingInfo]": {
            "path": "supportingInfo",
            "reference": ["Consent"],
        },
    },
    CONSENT: {
        "category[IDSCL]": {
            "path": "category",
            "match": {
                "path": "coding",
                "value": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IDSCL",
                },
            },
        },
    },
    PRACTITIONER_ROLE: {},
    NEIGHBOR: {},
}

TASK_RULES: list[dict[str, Any]] = [
    # input/fsh/profiles/SDOHCCTaskForReferralManagement.fsh
    {"kind": "must_support", "path": "partOf[SupportedPartOf]"},
    {"kind": "reference", "path": "partOf[SupportedPartOf]", "types": ["Task"]},
    {"kind": "must_support", "path": "status"},
    {"kind": "binding", "path": "status", "codes": REFERRAL_TASK_STATUS},
    # "If the Task.status is rejected, cancelled, on-hold, or failed, then
    # Task.statusReason.text should be included."
    {
        "kind": "must_support",
        "path": "statusReason",
        "when": {"status": ["rejected", "cancelled", "on-hold", "failed"]},
    },
    {"kind": "required", "path": "statusReason.text"},
    {"kind": "must_support", "path": "statusReason.text"},
    {"kind": "fixed", "path": "intent", "value": "order"},
    {"kind": "must_support", "path": "priority"},
    {"kind": "required", "path": "code"},
    {
        "kind": "pattern",
        "path": "code.coding",
        "value": {"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"},
    },
    {"kind": "required", "path": "focus"},
    {"kind": "must_support", "path": "focus"},
    {"kind": "reference", "path": "focus", "types": ["ServiceRequest"]},
    {"kind": "required", "path": "for"},
    {"kind": "must_support", "path": "for"},
    {"kind": "reference", "path": "for", "types": ["RelatedPerson", "Group", "Patient"]},
    {"kind": "required", "path": "authoredOn"},
    {"kind": "must_support", "path": "authoredOn"},
    {"kind": "required", "path": "requester"},
    {"kind": "must_support", "path": "requester"},
    {"kind": "reference", "path": "requester", "types": ["PractitionerRole", "Organization"]},
    {"kind": "must_support", "path": "owner"},
    {"kind": "must_support", "path": "input[AdditionalContent]"},
    {"kind": "must_support", "path": "output[PerformedActivityReference]"},
    {"kind": "required", "path": "output[PerformedActivityReference].valueReference"},
    {"kind": "must_support", "path": "output[PerformedActivityReference].valueReference"},
    {
        "kind": "reference",
        "path": "output[PerformedActivityReference].valueReference",
        "types": ["Procedure"],
    },
    {"kind": "must_support", "path": "output[PerformedActivityCode]"},
    {
        "kind": "binding_systems",
        "path": "output[PerformedActivityCode].valueCodeableConcept",
        "systems": US_CORE_PROCEDURE_SYSTEMS,
    },
    {"kind": "must_support", "path": "output[AdditionalContent]"},
    {
        "kind": "reference",
        "path": "output[AdditionalContent].valueReference",
        "types": ["Observation", "Goal", "Condition", "QuestionnaireResponse", "CarePlan"],
    },
]

SERVICE_REQUEST_RULES: list[dict[str, Any]] = [
    # input/fsh/profiles/SDOHCCServiceRequest.fsh
    {"kind": "reference", "path": "basedOn", "types": ["CarePlan", "ServiceRequest"]},
    {"kind": "must_support", "path": "basedOn[SupportedBasedOn]"},
    {"kind": "must_support", "path": "category[SDOHCC]"},
    {
        "kind": "binding",
        "path": "category[SDOHCC].coding",
        "system": TEMPORARY_CODES,
        "codes": SDOH_CATEGORY,
    },
    {"kind": "must_support", "path": "priority"},
    {"kind": "binding_systems", "path": "code", "systems": US_CORE_PROCEDURE_SYSTEMS},
    {"kind": "must_support", "path": "orderDetail[SubjectContactDetail]"},
    {"kind": "reference", "path": "subject", "types": ["Group", "Patient", "Location"]},
    {
        "kind": "reference",
        "path": "requester",
        "types": [
            "RelatedPerson",
            "Device",
            "PractitionerRole",
            "Practitioner",
            "Patient",
            "Organization",
        ],
    },
    {"kind": "must_support", "path": "performer"},
    {
        "kind": "reference",
        "path": "performer",
        "types": [
            "HealthcareService",
            "Device",
            "RelatedPerson",
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "Organization",
            "CareTeam",
        ],
    },
    {"kind": "must_support", "path": "reasonReference[SupportedReasonReference]"},
    {"kind": "must_support", "path": "supportingInfo[SupportedSupportingInfo]"},
    {"kind": "reference", "path": "supportingInfo[SupportedSupportingInfo]", "types": ["Consent"]},
    {"kind": "absent", "path": "specimen"},
    {"kind": "absent", "path": "bodySite"},
    # The parent, US Core ServiceRequest (HL7/US-Core,
    # input/resources/structuredefinition-us-core-servicerequest.json): code 1..; status,
    # intent, subject 1..1 in the base resource; its must-support elements.
    {"kind": "required", "path": "code"},
    {"kind": "required", "path": "status"},
    {"kind": "required", "path": "intent"},
    {"kind": "required", "path": "subject"},
    *(
        {"kind": "must_support", "path": path}
        for path in ("status", "intent", "code", "subject", "authoredOn", "requester")
    ),
]

CONSENT_RULES: list[dict[str, Any]] = [
    # input/fsh/profiles/SDOHCCConsent.fsh
    {"kind": "must_support", "path": "status"},
    {"kind": "required", "path": "status"},
    {"kind": "must_support", "path": "scope"},
    {"kind": "required", "path": "scope"},
    {"kind": "count", "path": "category[IDSCL]", "min": 1, "max": 1},
    {"kind": "must_support", "path": "category[IDSCL]"},
    {"kind": "required", "path": "patient"},
    {"kind": "must_support", "path": "patient"},
    {"kind": "reference", "path": "patient", "types": ["Patient"]},
    {"kind": "required", "path": "dateTime"},
    {"kind": "must_support", "path": "dateTime"},
    {
        "kind": "reference",
        "path": "performer",
        "types": ["Organization", "RelatedPerson", "Practitioner", "PractitionerRole", "Patient"],
    },
    {"kind": "count", "path": "organization", "min": 1, "max": 1},
    {"kind": "must_support", "path": "organization"},
    {"kind": "reference", "path": "organization", "types": ["Organization"]},
    {"kind": "one_of", "paths": ["sourceAttachment", "sourceReference"]},
    {"kind": "must_support", "path": "sourceAttachment"},
    {
        "kind": "reference",
        "path": "sourceReference",
        "types": ["Consent", "Contract", "DocumentReference", "QuestionnaireResponse"],
    },
]

PRACTITIONER_ROLE_RULES: list[dict[str, Any]] = [
    # input/fsh/profiles/SDOHCCPractitionerRole.fsh
    {"kind": "required", "path": "practitioner"},
    {"kind": "reference", "path": "practitioner", "types": ["Practitioner"]},
    {"kind": "required", "path": "organization"},
    {"kind": "reference", "path": "organization", "types": ["Organization"]},
]

NEIGHBOR_RULES: list[dict[str, Any]] = [
    {"kind": "must_support", "path": "name"},
    {"kind": "must_support", "path": "telecom"},
    {"kind": "must_support", "path": "communication"},
    {
        "kind": "only",
        "paths": ["resourceType", "id", "meta", "name", "telecom", "communication"],
    },
]

RULES: dict[str, dict[str, Any]] = {
    TASK: {"resourceType": "Task", "rules": TASK_RULES},
    SERVICE_REQUEST: {"resourceType": "ServiceRequest", "rules": SERVICE_REQUEST_RULES},
    CONSENT: {"resourceType": "Consent", "rules": CONSENT_RULES},
    PRACTITIONER_ROLE: {"resourceType": "PractitionerRole", "rules": PRACTITIONER_ROLE_RULES},
    NEIGHBOR: {"resourceType": "Patient", "rules": NEIGHBOR_RULES},
}
