"""/fhir/Task (issue 17, item 2): a provider's own system finds, reads and answers its referrals as
SDOHCC Tasks, through the same referral machine, history and notices as the portal; every refusal
is an OperationOutcome that changes nothing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.task import Task
from rest_framework.test import APIClient

from heart_cases.models import AccessLog
from navigation.models import Notice
from referrals import fhir, services
from referrals.models import Referral
from tests.conftest import as_user
from tests.referrals.conftest import City, _service

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
SDOHCC = fhir.SDOHCC_CODES


# --- helpers -------------------------------------------------------------------------------


def search(client: APIClient, **params: Any) -> Any:
    return client.get("/fhir/Task", params)


def read(client: APIClient, pk: int | str) -> Any:
    return client.get(f"/fhir/Task/{pk}")


def put(
    client: APIClient,
    pk: int | str,
    body: Any,
    *,
    if_match: str | None = None,
    content_type: str = FHIR_JSON,
) -> Any:
    headers = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.put(f"/fhir/Task/{pk}", data=data, content_type=content_type, **headers)


def task_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    # Served as built, not through the R4B model (fhir.provider_task): it must be what the
    # model would give back.
    assert Task.model_validate(body).model_dump(mode="json", exclude_none=True) == body
    assert response["ETag"] == f'W/"{body["meta"]["versionId"]}"'
    return body


def changed(task: dict[str, Any], status: str, **elements: Any) -> dict[str, Any]:
    body = copy.deepcopy(task)
    body["status"] = status
    body.update(elements)
    return body


def outcome_of(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    OperationOutcome.model_validate(body)
    [issue] = body["issue"]
    assert issue["severity"] == "error"
    assert issue["diagnostics"]
    if code is not None:
        assert issue["code"] == code, issue
    return issue


def state(referral: Referral) -> tuple[Any, ...]:
    """Everything a refused PUT must leave as it was."""
    fresh = Referral.objects.get(pk=referral.pk)
    return (
        fresh.status,
        fresh.business_status,
        fresh.status_reason,
        fresh.status_note,
        fresh.handoff_at,
        fresh.acknowledged_at,
        Referral.history.filter(id=referral.pk).count(),
        Notice.objects.filter(subject_key__startswith=f"referral:{referral.pk}").count(),
    )


def resulting_activity(arrived: str | None = None) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = [
        {
            "type": {"coding": [{"system": SDOHCC, "code": "resulting-activity"}]},
            "valueCodeableConcept": {"text": "Counseling intake done"},
        }
    ]
    if arrived:
        outputs.append(
            {
                "type": {"coding": [{"system": fhir.OUTPUT_SYSTEM, "code": "handoff-confirmed"}]},
                "valueDateTime": arrived,
            }
        )
    return outputs


def rejected_because(code: str, text: str = "") -> dict[str, Any]:
    reason: dict[str, Any] = {"coding": [{"system": fhir.REASON_SYSTEM, "code": code}]}
    if text:
        reason["text"] = text
    return reason


# --- the provider's system, end to end -----------------------------------------------------


def test_a_providers_system_finds_accepts_starts_and_completes_a_referral(city: City) -> None:
    referral = city.refer()
    system = city.casa_api

    found = search(system, owner="casa", status="requested")
    assert found.status_code == 200, found.content
    assert found["Content-Type"].startswith(FHIR_JSON)
    bundle = found.json()
    Bundle.model_validate(bundle)
    assert (bundle["type"], bundle["total"]) == ("searchset", 1)
    [entry] = bundle["entry"]
    assert entry["search"] == {"mode": "match"}
    assert entry["fullUrl"] == f"http://testserver/fhir/Task/{referral.pk}"
    assert entry["resource"]["id"] == str(referral.pk)
    assert entry["resource"]["for"]["display"] == "Ana Diaz"

    task = task_of(read(system, referral.pk))
    assert task["meta"]["profile"] == [fhir.TASK_PROFILE]
    assert task == entry["resource"] | {"meta": task["meta"]}
    etags = [read(system, referral.pk)["ETag"]]

    accepted = task_of(put(system, referral.pk, changed(task, "accepted"), if_match=etags[-1]))
    assert accepted["status"] == "accepted"
    etags.append(read(system, referral.pk)["ETag"])
    started = task_of(
        put(system, referral.pk, changed(accepted, "in-progress"), if_match=etags[-1])
    )
    assert started["status"] == "in-progress"
    etags.append(read(system, referral.pk)["ETag"])

    # A second system still holding the accepted Task's version cannot overwrite the change.
    before = state(referral)
    stale = put(system, referral.pk, changed(accepted, "on-hold"), if_match=etags[1])
    outcome_of(stale, 412, "conflict")
    assert state(referral) == before

    arrived = timezone.now().replace(microsecond=0)
    done = task_of(
        put(
            system,
            referral.pk,
            changed(started, "completed", output=resulting_activity(arrived.isoformat())),
            if_match=etags[-1],
        )
    )
    etags.append(read(system, referral.pk)["ETag"])
    assert done["status"] == "completed"
    assert [o["type"]["coding"][0]["code"] for o in done["output"]] == [
        "resulting-activity",
        "handoff-confirmed",
    ]
    assert len(set(etags)) == 4  # every step a new version

    referral.refresh_from_db()
    assert referral.status == "completed"
    assert referral.handoff_at == arrived
    steps = list(Referral.history.filter(id=referral.pk).order_by("history_id"))
    answered = [row for row in steps if row.history_user_id == city.casa_staff.pk]
    assert [row.status for row in answered] == ["accepted", "in-progress", "completed"]
    assert [row.history_change_reason for row in answered] == [
        "Accepted",
        "Neighbor engaged",
        "Handoff confirmed",
    ]
    # The same notices as the portal's: the navigators hear of each answer, and are asked to
    # close the case once the neighbor arrived.
    kinds = set(
        Notice.objects.filter(subject_key__startswith=f"referral:{referral.pk}").values_list(
            "kind", "subject_key"
        )
    )
    assert ("referral_update", f"referral:{referral.pk}:accepted") in kinds
    assert ("referral_update", f"referral:{referral.pk}:completed") in kinds
    assert ("close_prompt", f"referral:{referral.pk}") in kinds

    # The navigator's case page shows the handoff, with the provider as the actor.
    page = Client()
    page.force_login(city.navigator)
    html = page.get(f"/cases/{city.case.pk}/").content.decode()
    section = html[html.index(f'id="referral-{referral.pk}"') :]
    assert "referral-completed" in section
    assert "Casa Esperanza confirmed the handoff" in html
    assert "ana: <em>Handoff confirmed</em>" in section


def test_reads_and_answers_are_in_the_access_log(city: City) -> None:
    referral = city.refer()
    search(city.casa_api, owner="casa")
    read(city.casa_api, referral.pk)
    read(city.housing_api, referral.pk)
    rows = list(AccessLog.objects.filter(object_type="referral").order_by("id"))
    assert [(r.user_id, r.action, r.object_ids, r.outcome) for r in rows[-3:]] == [
        (city.casa_staff.pk, "list", [referral.pk], "allowed"),
        (city.casa_staff.pk, "view", [referral.pk], "allowed"),
        (city.housing_staff.pk, "view", [referral.pk], "denied"),
    ]


def test_the_other_arrows_decline_waitlist_no_show_and_acknowledge(city: City) -> None:
    system = city.casa_api
    declined = city.refer()
    task = task_of(read(system, declined.pk))
    body = changed(task, "rejected", statusReason=rejected_because("no-capacity", "Full to May"))
    answer = task_of(put(system, declined.pk, body, content_type="application/json"))
    assert answer["statusReason"]["coding"][0]["code"] == "no-capacity"
    declined.refresh_from_db()
    assert (declined.status, declined.status_reason, declined.status_note) == (
        "rejected",
        "no-capacity",
        "Full to May",
    )

    waiting = city.refer(service=city.clinic)
    task = task_of(read(system, waiting.pk))
    assert task["businessStatus"]["coding"][0]["code"] == "sent"
    viewed = copy.deepcopy(task)
    viewed["businessStatus"] = {
        "coding": [{"system": fhir.BUSINESS_STATUS_SYSTEM, "code": "viewed"}]
    }
    task = task_of(put(system, waiting.pk, viewed))
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("requested", "viewed")
    task = task_of(put(system, waiting.pk, changed(task, "accepted")))
    held = changed(task, "on-hold", statusReason={"text": "Next opening in two weeks"})
    task = task_of(put(system, waiting.pk, held))
    assert task["statusReason"]["coding"][0]["code"] == "waitlist"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.status_note) == ("on-hold", "Next opening in two weeks")
    task = task_of(put(system, waiting.pk, changed(task, "failed")))
    waiting.refresh_from_db()
    assert waiting.status == "failed"
    assert Referral.history.filter(id=waiting.pk).latest("history_id").history_user == (
        city.casa_staff
    )

    # The same Task sent again asks for nothing: nothing is recorded.
    version = task["meta"]["versionId"]
    again = task_of(put(system, waiting.pk, task, if_match=f'W/"{version}"'))
    assert again["meta"]["versionId"] == version


def test_a_task_whose_consent_was_withdrawn_keeps_its_status_but_not_the_neighbor(
    city: City,
) -> None:
    referral = city.refer()
    services.referral_accept(actor=city.casa_staff, referral=referral)
    before = task_of(read(city.casa_api, referral.pk))
    services.consent_withdraw(actor=city.navigator, consent=referral.consent, note="No")
    task = task_of(read(city.casa_api, referral.pk))
    assert task["status"] == "cancelled"
    assert task["statusReason"]["coding"][0]["code"] == "consent-withdrawn"
    assert "display" not in task["for"]
    assert "Ana" not in json.dumps(task)
    assert task["meta"]["versionId"] != before["meta"]["versionId"]
    [entry] = search(city.casa_api, owner="casa", status="cancelled").json()["entry"]
    assert "display" not in entry["resource"]["for"]


def test_after_the_consent_expires_the_task_reads_without_the_neighbor(city: City) -> None:
    referral = city.refer(consent_expires_at=timezone.now() + timedelta(days=2))
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1), tick=False):
        # (a token would have expired by then: the same staff member, signed in)
        task = task_of(read(as_user(city.casa_staff), referral.pk))
    assert task["status"] == "requested"
    assert "display" not in task["for"]


def test_a_part2_task_carries_its_security_label_and_notice(city: City) -> None:
    treatment = _service(city.casa, "Tratamiento", "substance_use", ["es"])
    referral = city.refer(
        service=treatment,
        consent_method="written",
        consent_purpose="treatment",
        consent_scope=["contact", "reason", "substance_use"],
    )
    task = task_of(read(city.casa_api, referral.pk))
    assert task["meta"]["security"] == [fhir.disclosure.PART2_SECURITY]
    assert any("42 CFR" in note["text"] for note in task["note"])
    bundle = search(city.casa_api, owner="casa").json()
    assert bundle["meta"]["security"] == [fhir.disclosure.PART2_SECURITY]
    # The notice it carries is not a note the provider added.
    task_of(put(city.casa_api, referral.pk, changed(task, "accepted")))
    referral.refresh_from_db()
    assert (referral.status, referral.status_note) == ("accepted", "")


# --- search --------------------------------------------------------------------------------


def test_search_filters_by_status_and_pages_with_a_next_link(city: City) -> None:
    referrals = [city.refer(case=city.case, service=s) for s in (city.counseling, city.clinic)]
    services.referral_accept(actor=city.casa_staff, referral=referrals[1])
    third = city.refer(service=_service(city.casa, "Grupo", "mental_health", ["es"]))
    requested = search(city.casa_api, owner="casa", status="requested").json()
    assert [e["resource"]["id"] for e in requested["entry"]] == [
        str(referrals[0].pk),
        str(third.pk),
    ]
    both = search(city.casa_api, status="requested,accepted").json()
    assert both["total"] == 3
    first = search(city.casa_api, owner="casa", _count="2").json()
    assert (first["total"], len(first["entry"])) == (3, 2)
    [next_link] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = city.casa_api.get(next_link.removeprefix("http://testserver")).json()
    assert [e["resource"]["id"] for e in second["entry"]] == [str(third.pk)]
    assert not [link for link in second["link"] if link["relation"] == "next"]
    only_total = search(city.casa_api, owner="casa", _count="0").json()
    assert (only_total["total"], "entry" in only_total) == (3, False)
    assert search(city.casa_api, owner="Organization/casa").json()["total"] == 3


def test_another_organizations_owner_gives_an_empty_bundle(city: City) -> None:
    city.refer()
    for client, owner in ((city.housing_api, "casa"), (city.casa_api, "housing")):
        bundle = search(client, owner=owner, status="requested")
        assert bundle.status_code == 200
        assert (bundle.json()["total"], "entry" in bundle.json()) == (0, False)
    assert search(city.housing_api).json()["total"] == 0  # their own: none


@pytest.mark.parametrize(
    ("params", "expression"),
    [
        ({"status": "bogus"}, ["status"]),
        ({"status": "accepted,nope"}, ["status"]),
        ({"_count": "many"}, ["_count"]),
        ({"_count": "-1"}, ["_count"]),
        ({"_cursor": "x1"}, ["_cursor"]),
        ({"_cursor": str(2**64)}, ["_cursor"]),
        ({"patient": "1"}, None),
    ],
)
def test_a_search_that_makes_no_sense_is_a_400(city: City, params: dict, expression: Any) -> None:
    issue = outcome_of(search(city.casa_api, **params), 400)
    assert issue.get("expression") == expression


def test_the_search_makes_as_many_queries_for_one_task_as_for_fifty(city: City) -> None:
    extra = [_service(city.casa, f"Servicio {n}", "mental_health", ["es"]) for n in range(8)]
    for service in extra:
        city.refer(service=service)
    counts = []
    for size in ("1", "8"):
        with CaptureQueriesContext(connection) as queries:
            response = search(city.casa_api, owner="casa", status="requested", _count=size)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "peer", "supervisor", "responder", "analyst"])
def test_only_provider_staff_use_the_fhir_api(city: City, make_staff: Any, role: str) -> None:
    referral = city.refer()
    _, token = make_staff(f"{role}-x", role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    before = state(referral)
    outcome_of(search(client, owner="casa"), 403, "forbidden")
    outcome_of(read(client, referral.pk), 403, "forbidden")
    task = task_of(read(city.casa_api, referral.pk))
    outcome_of(put(client, referral.pk, changed(task, "accepted")), 403, "forbidden")
    assert state(referral) == before


def test_anonymous_is_401_and_told_how_to_authenticate(city: City) -> None:
    referral = city.refer()
    anonymous = APIClient()
    for response in (
        search(anonymous),
        read(anonymous, referral.pk),
        put(anonymous, referral.pk, {"resourceType": "Task"}),
    ):
        outcome_of(response, 401, "login")
        assert response["WWW-Authenticate"] == "Token"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    outcome_of(read(bad, referral.pk), 401, "login")


def test_another_organizations_task_is_a_404_like_one_that_does_not_exist(city: City) -> None:
    referral = city.refer()
    task = task_of(read(city.casa_api, referral.pk))
    before = state(referral)
    for pk in (referral.pk, 987654321, "abc", "1.5", str(2**64)):
        outcome_of(read(city.housing_api if pk == referral.pk else city.casa_api, pk), 404)
    refused = put(city.housing_api, referral.pk, changed(task, "accepted"))
    outcome_of(refused, 404, "not-found")
    other = dict(changed(task, "accepted"), id="987654321")
    outcome_of(put(city.casa_api, 987654321, other), 404, "not-found")
    assert state(referral) == before


def test_every_fhir_path_that_names_nothing_is_an_operation_outcome(city: City) -> None:
    for path in (
        "/fhir/",
        "/fhir/Task/",
        "/fhir/Patient/1",
        "/fhir/Task/1/_history/2",
        "/fhir/metadata",
    ):
        outcome_of(city.casa_api.get(path), 404, "not-found")
    outcome_of(city.casa_api.post("/fhir/Task", {}, format="json"), 405, "not-supported")
    outcome_of(city.casa_api.delete(f"/fhir/Task/{city.refer().pk}"), 405, "not-supported")
    outcome_of(city.casa_api.options("/fhir/Task"), 405, "not-supported")


# --- refusals of a PUT: each an OperationOutcome, nothing applied --------------------------


@pytest.fixture
def accepted(city: City) -> tuple[Referral, dict[str, Any]]:
    referral = city.refer()
    services.referral_accept(actor=city.casa_staff, referral=referral)
    return referral, task_of(read(city.casa_api, referral.pk))


def _refused(
    city: City,
    referral: Referral,
    response: Any,
    status: int,
    code: str | None = None,
    expression: list[str] | None = None,
) -> None:
    before = state(referral)
    issue = outcome_of(response(), status, code)
    if expression is not None:
        assert issue.get("expression") == expression, issue
    assert state(referral) == before


def test_a_malformed_body_is_a_400(city: City, accepted: Any) -> None:
    referral, _ = accepted
    system = city.casa_api
    for body in ('{"resourceType": "Task", ', "[1, 2", "\x00", "NaN"):
        _refused(city, referral, lambda b=body: put(system, referral.pk, b), 400, "structure")
    for body in ([], "null", '"Task"', 7):
        _refused(city, referral, lambda b=body: put(system, referral.pk, b), 400, "structure")
    deep = '{"resourceType": "Task", "x": ' + "[" * 200 + "]" * 200 + "}"
    _refused(city, referral, lambda: put(system, referral.pk, deep), 400, "structure")


@pytest.mark.parametrize(
    ("edit", "expression"),
    [
        ({"status": 5}, ["Task.status"]),
        ({"intent": ["order"]}, ["Task.intent"]),
        ({"authoredOn": "yesterday"}, ["Task.authoredOn"]),
        ({"output": {"type": "x"}}, None),
        ({"unknownElement": True}, None),
    ],
)
def test_a_resource_the_base_specification_forbids_is_a_400(
    city: City, accepted: Any, edit: dict, expression: Any
) -> None:
    referral, task = accepted
    body = changed(task, "in-progress") | edit
    _refused(
        city,
        referral,
        lambda: put(city.casa_api, referral.pk, body),
        400,
        "structure",
        expression,
    )


def test_the_wrong_resource_type_or_id_is_a_400(city: City, accepted: Any) -> None:
    referral, task = accepted
    system = city.casa_api
    patient = {"resourceType": "Patient", "id": str(referral.pk)}
    _refused(
        city, referral, lambda: put(system, referral.pk, patient), 400, "invalid", ["resourceType"]
    )
    no_type = {k: v for k, v in changed(task, "in-progress").items() if k != "resourceType"}
    _refused(
        city, referral, lambda: put(system, referral.pk, no_type), 400, "invalid", ["resourceType"]
    )
    mismatch = changed(task, "in-progress", id=str(referral.pk + 1))
    _refused(
        city, referral, lambda: put(system, referral.pk, mismatch), 400, "invalid", ["Task.id"]
    )
    no_id = {k: v for k, v in changed(task, "in-progress").items() if k != "id"}
    _refused(city, referral, lambda: put(system, referral.pk, no_id), 400, "required", ["Task.id"])


@pytest.mark.parametrize(
    "element",
    ["owner", "for", "focus", "requester", "intent", "code", "authoredOn", "description"],
)
def test_an_element_that_may_not_change_is_a_400(city: City, accepted: Any, element: str) -> None:
    referral, task = accepted
    body = changed(task, "in-progress")
    body[element] = {
        "owner": {"reference": fhir.organization_urn(city.housing), "type": "Organization"},
        "for": {"reference": "urn:uuid:00000000-0000-0000-0000-000000000001"},
        "focus": {"reference": "ServiceRequest/1"},
        "requester": {"reference": "PractitionerRole/1"},
        "intent": "plan",
        "code": {"text": "approve"},
        "authoredOn": "2020-01-01T00:00:00Z",
        "description": "Mine now",
    }[element]
    _refused(
        city,
        referral,
        lambda: put(city.casa_api, referral.pk, body),
        400,
        "business-rule",
        [f"Task.{element}"],
    )


def test_an_unchanged_element_may_be_left_out_or_written_in_another_offset(
    city: City, accepted: Any
) -> None:
    referral, task = accepted
    authored = Task.model_validate(task).authoredOn
    minimal = {
        "resourceType": "Task",
        "id": str(referral.pk),
        "status": "in-progress",
        "intent": "order",
        "authoredOn": authored.astimezone(UTC).isoformat(),
        "owner": {"reference": task["owner"]["reference"]},
    }
    assert task_of(put(city.casa_api, referral.pk, minimal))["status"] == "in-progress"


@pytest.mark.parametrize(
    ("status", "extra"),
    [
        ("requested", {}),
        ("rejected", {"statusReason": rejected_because("no-capacity")}),  # only from requested
        ("cancelled", {"statusReason": rejected_because("other")}),  # the program's to give
        ("draft", {}),
        ("entered-in-error", {}),
    ],
)
def test_an_arrow_the_machine_has_not_is_a_409(
    city: City, accepted: Any, status: str, extra: dict
) -> None:
    referral, task = accepted
    body = changed(task, status, **extra)
    _refused(
        city,
        referral,
        lambda: put(city.casa_api, referral.pk, body),
        409,
        "business-rule",
        ["Task.status"],
    )


def test_completing_or_starting_a_task_not_yet_accepted_is_a_409(city: City) -> None:
    referral = city.refer()
    task = task_of(read(city.casa_api, referral.pk))
    for body in (
        changed(task, "in-progress"),
        changed(task, "completed", output=resulting_activity()),
        changed(task, "on-hold"),
        changed(task, "failed"),
    ):
        _refused(city, referral, lambda b=body: put(city.casa_api, referral.pk, b), 409)


@pytest.mark.parametrize(
    ("status", "edit", "expression"),
    [
        ("ready", {}, ["Task.status"]),
        ("received", {}, ["Task.status"]),
        ("made-up", {}, ["Task.status"]),
        ("completed", {}, ["Task.output"]),
        (
            "completed",
            {"output": [{"type": {"text": "done"}, "valueString": "yes"}]},
            ["Task.output"],
        ),
        ("completed", {"output": resulting_activity("2026-11-30")}, ["Task.output.valueDateTime"]),
        (
            "completed",
            {"output": resulting_activity("2020-01-01T10:00:00+00:00")},
            ["Task.output.valueDateTime"],
        ),
        (
            "completed",
            {"output": resulting_activity("2999-01-01T10:00:00+00:00")},
            ["Task.output.valueDateTime"],
        ),
        ("on-hold", {"statusReason": rejected_because("no-funds")}, ["Task.statusReason.coding"]),
        ("in-progress", {"note": [{"text": "x" * 5001}]}, ["Task.note"]),
    ],
)
def test_a_change_the_profile_or_the_machine_cannot_take_is_a_400(
    city: City, accepted: Any, status: str, edit: dict, expression: list[str]
) -> None:
    referral, task = accepted
    body = changed(task, status, **edit)
    _refused(city, referral, lambda: put(city.casa_api, referral.pk, body), 400, None, expression)


@pytest.mark.parametrize(
    "reason",
    [None, {"text": "Full"}, rejected_because("consent-withdrawn"), rejected_because("bogus")],
)
def test_a_decline_without_a_reason_code_is_a_400(city: City, reason: Any) -> None:
    referral = city.refer()
    task = task_of(read(city.casa_api, referral.pk))
    body = changed(task, "rejected")
    if reason is not None:
        body["statusReason"] = reason
    _refused(
        city,
        referral,
        lambda: put(city.casa_api, referral.pk, body),
        400,
        "required",
        ["Task.statusReason"],
    )


@pytest.mark.parametrize("if_match", ['W/"1"', '"1"', "1", "garbage", 'W/"1", W/"2"', ""])
def test_a_version_no_longer_current_is_a_412(city: City, accepted: Any, if_match: str) -> None:
    referral, task = accepted
    body = changed(task, "in-progress")
    _refused(
        city,
        referral,
        lambda: put(city.casa_api, referral.pk, body, if_match=if_match),
        412,
        "conflict",
        ["Task.meta.versionId"],
    )


@pytest.mark.parametrize("if_match", ["*", "{v}", 'W/"{v}"', '"{v}"', 'W/"1", W/"{v}"'])
def test_the_current_version_in_any_spelling_lets_the_change_through(
    city: City, accepted: Any, if_match: str
) -> None:
    referral, task = accepted
    version = task["meta"]["versionId"]
    response = put(
        city.casa_api,
        referral.pk,
        changed(task, "in-progress"),
        if_match=if_match.format(v=version),
    )
    assert task_of(response)["status"] == "in-progress"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/fhir+xml", "application/x-www-form-urlencoded"],
)
def test_a_body_that_is_not_json_is_a_415(city: City, accepted: Any, content_type: str) -> None:
    referral, task = accepted
    body = json.dumps(changed(task, "in-progress"))
    _refused(
        city,
        referral,
        lambda: put(city.casa_api, referral.pk, body, content_type=content_type),
        415,
        "not-supported",
    )


def test_any_accept_header_gets_fhir_json(city: City, accepted: Any) -> None:
    referral, _ = accepted
    for accept in ("application/xml", "text/html", "application/json", "*/*"):
        response = city.casa_api.get(f"/fhir/Task/{referral.pk}", HTTP_ACCEPT=accept)
        task_of(response)
    response = city.casa_api.get(f"/fhir/Task/{referral.pk}?_format=xml")
    task_of(response)
