"""The referral Bundle against the SDOH Clinical Care IG's profiles (issue 17, item 1): one checker
applies the rules in tests/referrals/sdohcc_rules.py, read from the IG's FSH, first to the IG's
own examples (the control: they must pass), then to our Task, ServiceRequest, Consent,
PractitionerRole and Patient in every status, for staff and for the provider, and after the
neighbor withdrew consent."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.referrals import sdohcc_rules
from tests.referrals.sdohcc_rules import RULES, SLICES

# The IG's own examples, in the shared folder beside the project (CI lays a copy there), or the
# machine's own copy when the clone stands elsewhere.
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "sdohcc-examples"
if not EXAMPLES.is_dir():
    EXAMPLES = Path("/work/shared/data/sdohcc-examples")

Resolve = Callable[[dict[str, Any]], str | None]


def _by_prefix(reference: dict[str, Any]) -> str | None:
    """A Reference's target type: its `type`, or the `Type/id` of a relative reference."""
    found = re.match(r"([A-Z][A-Za-z]+)/", reference.get("reference", ""))
    return reference.get("type") or (found.group(1) if found else None)


def _values(
    items: list[Any], path: str, slices: dict[str, dict[str, Any]], resolve: Resolve
) -> list[Any]:
    for segment in path.split("."):
        name = segment.split("[", 1)[0]
        found: list[Any] = []
        for item in items:
            value = item.get(name) if isinstance(item, dict) else None
            if value is not None:
                found.extend(value if isinstance(value, list) else [value])
        if "[" in segment:
            found = [e for e in found if _in_slice(e, slices[segment], slices, resolve)]
        items = found
    return items


def _holds(value: Any, pattern: dict[str, Any]) -> bool:
    return isinstance(value, dict) and all(value.get(k) == v for k, v in pattern.items())


def _in_slice(
    element: Any, slice_: dict[str, Any], slices: dict[str, dict[str, Any]], resolve: Resolve
) -> bool:
    if "match" in slice_:
        matched = _values([element], slice_["match"]["path"], slices, resolve)
        if not any(_holds(v, slice_["match"]["value"]) for v in matched):
            return False
    if "value" in slice_ and slice_["value"] not in element:
        return False
    return "reference" not in slice_ or resolve(element) in slice_["reference"]


def violations(
    resource: dict[str, Any],
    profile: str,
    *,
    known: Iterable[str] = (),
    resolve: Resolve = _by_prefix,
) -> list[str]:
    """What in `resource` breaks `profile`'s rules. Must-support elements are asked for only
    when `known` names them (the producer holds the data) or the rule's `when` holds."""
    table, slices, known = RULES[profile], SLICES[profile], set(known)
    rules = table["rules"]
    found: list[str] = []

    def at(path: str, root: Any = resource) -> list[Any]:
        return _values([root], path, slices, resolve)

    if resource.get("resourceType") != table["resourceType"]:
        found.append(f"resourceType is {resource.get('resourceType')}, not {table['resourceType']}")
    if profile.startswith("http") and profile not in resource.get("meta", {}).get("profile", []):
        found.append(f"meta.profile does not claim {profile}")
    supported = {r["path"] for r in rules if r["kind"] == "must_support"}
    found += [f"{path}: not a must-support element of the profile" for path in known - supported]
    for rule in rules:
        kind, path = rule["kind"], rule.get("path", "")
        values = at(path) if path else []
        if kind == "required":
            parent, _, last = path.rpartition(".")
            for owner in at(parent) if parent else [resource]:
                if not at(last, owner):
                    found.append(f"{path}: required (1..), missing")
        elif kind == "count":
            if not rule["min"] <= len(values) <= rule["max"]:
                found.append(f"{path}: {len(values)} present, {rule['min']}..{rule['max']}")
        elif kind == "must_support":
            when = rule.get("when", {})
            due = path in known or (
                bool(when) and all(set(at(k)) & set(allowed) for k, allowed in when.items())
            )
            if due and not values:
                found.append(f"{path}: must-support and known, missing")
        elif kind == "fixed":
            found += [
                f"{path}: {v!r} is not {rule['value']!r}" for v in values if v != rule["value"]
            ]
        elif kind == "pattern":
            if not any(_holds(v, rule["value"]) for v in values):
                found.append(f"{path}: no value holds {rule['value']}")
        elif kind == "binding":
            for value in values:
                if isinstance(value, dict):
                    if "system" in rule and value.get("system") != rule["system"]:
                        continue
                    value = value.get("code")
                if value not in rule["codes"]:
                    found.append(f"{path}: {value!r} is not in the required value set")
        elif kind == "binding_systems":
            for concept in values:
                if not any(c.get("system") in rule["systems"] for c in concept.get("coding", [])):
                    found.append(f"{path}: no coding from the required value set's systems")
        elif kind == "reference":
            for reference in values:
                if resolve(reference) not in rule["types"]:
                    found.append(f"{path}: refers to {resolve(reference)}, not {rule['types']}")
        elif kind == "absent":
            if values:
                found.append(f"{path}: must be absent (..0)")
        elif kind == "one_of":
            if sum(1 for p in rule["paths"] if at(p)) != 1:
                found.append(f"{rule['paths']}: exactly one must be present")
        elif kind == "only":
            found += [f"{key}: not allowed" for key in sorted(set(resource) - set(rule["paths"]))]
        else:  # pragma: no cover - a typo in the table
            raise AssertionError(f"unknown rule kind {kind}")
    return found


# --- the control: the IG's own examples -----------------------------------------------------


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def test_the_ig_examples_are_all_here():
    names = [path.name.split("-", 1)[0] for path in _examples()]
    assert names == ["Consent", "ServiceRequest", "Task", "Task"]


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.stem)
def test_the_igs_own_examples_pass_the_checker(path):
    """The examples are judged on what they show: nothing is `known` about their authors' data,
    so must-support asks only where the profile itself says when (none of these are)."""
    example = json.loads(path.read_text())
    [profile] = example["meta"]["profile"]
    assert violations(example, profile) == []


def test_the_checker_finds_what_breaks_the_profile():
    path = EXAMPLES / "Task-SDOHCC-TaskReferralManagementOrderFulfillmentCompletedExample.json"
    task = json.loads(path.read_text())
    broken = copy.deepcopy(task)
    broken["status"] = "ready"
    broken["intent"] = "plan"
    broken["statusReason"] = {"coding": [{"code": "x"}]}
    del broken["for"]
    broken["output"][0]["valueReference"] = {"reference": "Observation/1"}
    found = violations(broken, sdohcc_rules.TASK, known={"owner"})
    assert found == [
        "status: 'ready' is not in the required value set",
        "statusReason.text: required (1..), missing",
        "intent: 'plan' is not 'order'",
        "for: required (1..), missing",
        "output[PerformedActivityReference].valueReference: refers to Observation, not "
        "['Procedure']",
    ]
    del broken["owner"]
    assert "owner: must-support and known, missing" in violations(
        broken, sdohcc_rules.TASK, known={"owner"}
    )
    assert violations(task, sdohcc_rules.TASK, known={"ownr"}) == [
        "ownr: not a must-support element of the profile"
    ]


# --- our Bundle -------------------------------------------------------------------------------

STEPS = {
    "requested": [],
    "accepted": ["accept"],
    "in-progress": ["accept", "start"],
    "on-hold": ["accept", "waitlist"],
    "completed": ["accept", "confirm-handoff"],
    "rejected": ["decline"],
    "failed": ["accept", "no-show"],
    "cancelled": ["cancel"],
}


def _drive(city, referral, steps):
    for step in steps:
        client = city.navigator_api if step == "cancel" else city.casa_api
        body = {"reason": "no-capacity" if step == "decline" else "other"}
        response = client.post(f"/api/v1/referrals/{referral.pk}/{step}/", body, format="json")
        assert response.status_code == 200, response.content


def _bundle(client, referral) -> dict[str, Any]:
    response = client.get(f"/api/v1/referrals/{referral.pk}/fhir/")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return response.json()


def _check_bundle(bundle: dict[str, Any], *, identity: bool, contact_in_scope: bool = True):
    """Every profiled resource in `bundle` against its profile; `identity`: whether the Patient
    may name the neighbor."""
    held = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}

    def resolve(reference: dict[str, Any]) -> str | None:
        target = held.get(reference.get("reference", ""))
        if target is None:
            return None  # every reference of ours must be in the Bundle
        assert reference.get("type", target["resourceType"]) == target["resourceType"]
        return target["resourceType"]

    kinds = {}
    for resource in held.values():
        kinds.setdefault(resource["resourceType"], []).append(resource)
    [task], [request], [consent] = kinds["Task"], kinds["ServiceRequest"], kinds["Consent"]
    [patient], [role] = kinds["Patient"], kinds["PractitionerRole"]
    task_known = {"status", "priority", "focus", "for", "authoredOn", "requester", "owner"}
    if "statusReason" in task:
        task_known.add("statusReason.text")
    if task["status"] == "completed":
        task_known.add("output[PerformedActivityCode]")
    request_known = {
        "status",
        "intent",
        "code",
        "subject",
        "authoredOn",
        "requester",
        "category[SDOHCC]",
        "priority",
        "performer",
        "supportingInfo[SupportedSupportingInfo]",
    }
    if not contact_in_scope:
        request_known.add("orderDetail[SubjectContactDetail]")
    consent_known = {
        "status",
        "scope",
        "category[IDSCL]",
        "patient",
        "dateTime",
        "organization",
        "sourceAttachment",
    }
    patient_known = {"communication"} | ({"name", "telecom"} if identity else set())
    checks = [
        (task, sdohcc_rules.TASK, task_known),
        (request, sdohcc_rules.SERVICE_REQUEST, request_known),
        (consent, sdohcc_rules.CONSENT, consent_known),
        (role, sdohcc_rules.PRACTITIONER_ROLE, set()),
        (patient, sdohcc_rules.NEIGHBOR, patient_known),
    ]
    for resource, profile, known in checks:
        assert violations(resource, profile, known=known, resolve=resolve) == [], profile
    assert ("name" in patient, "telecom" in patient) == (identity, identity)
    return task, request, consent, patient


@pytest.mark.django_db
@pytest.mark.parametrize("status", list(STEPS))
@pytest.mark.parametrize("reader", ["staff", "provider"])
def test_every_status_conforms_for_staff_and_provider(city, status, reader):
    referral = city.refer()
    _drive(city, referral, STEPS[status])
    client = city.supervisor_api if reader == "staff" else city.casa_api
    task, request, consent, patient = _check_bundle(_bundle(client, referral), identity=True)
    assert task["status"] == status
    assert (task["statusReason"]["text"] if "statusReason" in task else None) == {
        "on-hold": "Waitlist",
        "rejected": "No capacity",
        "failed": "Neighbor did not arrive",
        "cancelled": "Other",
    }.get(status)
    if status == "completed":
        assert task["output"][0]["valueCodeableConcept"] == request["code"]
    assert consent["status"] == "active"
    assert consent["provision"]["purpose"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "CAREMGT",
            "display": "care management",
        }
    ]
    assert patient["name"][0]["text"] == "Ana Diaz"
    assert patient["communication"][0]["language"]["coding"][0]["code"] == "es"


@pytest.mark.django_db
def test_after_a_withdrawal_the_provider_gets_a_patient_without_name_or_phone(city):
    referral = city.refer()
    response = city.navigator_api.post(
        f"/api/v1/consents/{referral.consent_id}/withdraw/", {"note": "No"}, format="json"
    )
    assert response.status_code == 200
    bundle = _bundle(city.casa_api, referral)
    task, request, consent, patient = _check_bundle(bundle, identity=False)
    assert task["status"] == "cancelled"
    assert task["statusReason"]["coding"][0]["code"] == "consent-withdrawn"
    assert consent["status"] == "inactive"
    assert "display" not in task["for"]
    assert "reasonCode" not in request
    assert set(patient) == {"resourceType", "communication"}
    assert "Ana Diaz" not in json.dumps(bundle)
    # The program's staff still see whom they care for.
    _check_bundle(_bundle(city.supervisor_api, referral), identity=True)


@pytest.mark.django_db
def test_a_consent_without_contact_flags_the_request_and_names_its_own_purpose(city):
    referral = city.refer(consent_scope=["reason"], consent_purpose="housing search")
    _, request, consent, _ = _check_bundle(
        _bundle(city.casa_api, referral), identity=False, contact_in_scope=False
    )
    assert consent["provision"]["purpose"] == [{"display": "housing search"}]
    assert consent["provision"]["period"]["end"]
    assert request["orderDetail"][0]["coding"][0]["code"] == "contacting-subject-prohibited"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("service", "category"),
    [
        ("groceries", "food-insecurity"),
        ("shelter", "housing-instability"),
        ("clinic", "sdoh-category-unspecified"),
    ],
)
def test_the_category_is_the_igs_sdoh_category_for_the_need(city, service, category):
    referral = city.refer(service=getattr(city, service))
    _, request, _, _ = _check_bundle(_bundle(city.supervisor_api, referral), identity=True)
    assert request["category"][0]["coding"][0]["code"] == category
