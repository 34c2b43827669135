"""Every endpoint and page for every role: lists never show what a role may not see, details are
404, writes are 403, anonymous is 401 (API) or sent to log in (pages)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from heart_cases.actors import system_actor
from navigation.services import case_assign_auto
from referrals.models import Provider
from tests.calls.test_eligible_calls_api import call_body as eligible_call_body
from tests.conftest import ROLES, field_response_body

pytestmark = pytest.mark.django_db
EVERYONE = [*ROLES, "anonymous"]
NAVIGATORS = {"clinician", "peer", "supervisor"}
METRICS_READERS = {"analyst", "supervisor"}


@pytest.fixture
def world(make_staff, make_pair, expanded_hours):
    """One case with a follow-up assigned to a pair whose members are the role users."""
    users = {role: make_staff(f"{role}-user", role)[0] for role in ROLES}
    pair = make_pair("a")
    pair.clinician, pair.peer = users["clinician"], users["peer"]
    pair.save()
    responder_client = APIClient()
    responder_client.force_authenticate(users["responder"])

    def new_case(n: int) -> dict:
        body = field_response_body(
            incident_number=f"R-{n}", neighbor={"phone": f"+1919555{n:04d}", "first_name": f"R{n}"}
        )
        data = responder_client.post("/api/v1/field-responses/", body, format="json").json()
        from heart_cases.models import Case

        case_assign_auto(actor=system_actor("t"), case=Case.objects.get(pk=data["case"]["id"]))
        return data

    return users, pair, new_case


def api_client(users, role):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(users[role])
    return client


def debrief_for(created):
    """A debrief asked for on this field response (the debrief list's endpoints)."""
    from heart_cases.models import FieldResponse
    from heart_cases.services import debrief_request

    response = FieldResponse.objects.get(pk=created["id"])
    return debrief_request(actor=system_actor("t"), field_response=response, reason="t")


def expect(role, allowed, ok, forbidden):
    if role == "anonymous":
        return 401
    return ok if role in allowed else forbidden


@pytest.fixture
def expanded_hours(db):
    from navigation.models import ServiceSchedule

    ServiceSchedule.objects.update(active=False)
    ServiceSchedule.objects.filter(name__startswith="Expanded").update(active=True)


def test_every_api_endpoint_answers_each_role_as_it_should(world):
    users, pair, new_case = world
    now = timezone.now().isoformat()
    results = {}
    for index, role in enumerate(EVERYONE):
        created = new_case(index * 10)
        case_id, task_id = created["case"]["id"], created["follow_up"]["id"]
        client = api_client(users, role)
        checks = {
            "POST field-responses": (
                client.post(
                    "/api/v1/field-responses/",
                    field_response_body(incident_number=f"X-{role}"),
                    format="json",
                ).status_code,
                expect(role, {"responder", "supervisor"}, 201, 403),
            ),
            "POST eligible-calls": (
                client.post(
                    "/api/v1/eligible-calls/",
                    eligible_call_body(incident_number=f"EC-{role}"),
                    format="json",
                ).status_code,
                expect(role, {"responder", "supervisor"}, 201, 403),
            ),
            "POST eligible-calls batch": (
                client.post(
                    "/api/v1/eligible-calls/batch/",
                    {"calls": [eligible_call_body(incident_number=f"ECB-{role}")]},
                    format="json",
                ).status_code,
                expect(role, {"responder", "supervisor"}, 200, 403),
            ),
            "GET cases": (
                client.get("/api/v1/cases/").status_code,
                expect(role, NAVIGATORS, 200, 403),
            ),
            "GET case": (
                client.get(f"/api/v1/cases/{case_id}/").status_code,
                expect(role, NAVIGATORS, 200, 404),
            ),
            "GET case history": (
                client.get(f"/api/v1/cases/{case_id}/history/").status_code,
                expect(role, NAVIGATORS, 200, 404),
            ),
            "GET case notes": (
                client.get(f"/api/v1/cases/{case_id}/notes/").status_code,
                expect(role, NAVIGATORS, 200, 404),
            ),
            "POST case note": (
                client.post(
                    f"/api/v1/cases/{case_id}/notes/", {"text": "Called."}, format="json"
                ).status_code,
                expect(role, NAVIGATORS, 201, 403),
            ),
            "GET debriefs": (
                client.get("/api/v1/debriefs/").status_code,
                expect(role, {"supervisor"}, 200, 403),
            ),
            "POST debrief done": (
                client.post(
                    f"/api/v1/debriefs/{debrief_for(created).pk}/done/",
                    {"note": "Held."},
                    format="json",
                ).status_code,
                expect(role, {"supervisor"}, 200, 403),
            ),
            "GET tasks": (
                client.get("/api/v1/tasks/").status_code,
                expect(role, NAVIGATORS, 200, 403),
            ),
            "POST attempt": (
                client.post(
                    f"/api/v1/tasks/{task_id}/attempts/",
                    {"method": "phone", "outcome": "no_answer", "occurred_at": now},
                    format="json",
                ).status_code,
                expect(role, NAVIGATORS, 201, 403),
            ),
            "POST assign": (
                client.post(
                    f"/api/v1/cases/{case_id}/assign/", {"pair": pair.pk}, format="json"
                ).status_code,
                expect(role, {"supervisor"}, 200, 403),
            ),
            "GET access-log": (
                client.get("/api/v1/access-log/").status_code,
                expect(role, {"supervisor"}, 200, 403),
            ),
            "POST close": (
                client.post(
                    f"/api/v1/cases/{case_id}/close/", {"outcome": "other"}, format="json"
                ).status_code,
                expect(role, NAVIGATORS, 200, 403),
            ),
            "GET access-log export": (
                client.get("/api/v1/access-log/export/").status_code,
                expect(role, {"supervisor"}, 200, 403),
            ),
            # The HSDS directory API: any staff member (every role), never anonymous.
            **{
                f"GET {path}": (client.get(path).status_code, expect(role, set(ROLES), 200, 403))
                for path in (
                    "/hsds/",
                    "/hsds/services",
                    "/hsds/services?full=true",
                    "/hsds/organizations",
                    f"/hsds/organizations/{Provider.objects.get(slug='casa').hsds_id}",
                )
            },
            "GET neighbor export": (
                client.get(f"/api/v1/neighbors/{created['neighbor']['id']}/export/").status_code,
                expect(role, {"supervisor"}, 200, 403),
            ),
            "GET neighbors search": (
                client.get("/api/v1/neighbors/", {"q": "R1"}).status_code,
                expect(role, NAVIGATORS, 200, 403),
            ),
            "GET neighbor": (
                client.get(f"/api/v1/neighbors/{created['neighbor']['id']}/").status_code,
                expect(role, NAVIGATORS, 200, 404),
            ),
            "POST neighbor contact": (
                client.post(
                    f"/api/v1/neighbors/{created['neighbor']['id']}/contacts/",
                    {"name": "Sister"},
                    format="json",
                ).status_code,
                expect(role, NAVIGATORS, 201, 403),
            ),
            "GET possible duplicates": (
                client.get("/api/v1/possible-duplicates/").status_code,
                expect(role, {"supervisor"}, 200, 403),
            ),
            "POST possible duplicate link": (
                client.post(
                    "/api/v1/possible-duplicates/999999/link/",
                    {"into": 1, "reason": "r"},
                    format="json",
                ).status_code,
                expect(role, {"supervisor"}, 404, 403),
            ),
            "POST possible duplicate dismiss": (
                client.post(
                    "/api/v1/possible-duplicates/999999/dismiss/", {"reason": "r"}, format="json"
                ).status_code,
                expect(role, {"supervisor"}, 404, 403),
            ),
            "POST neighbor unlink": (
                client.post(
                    f"/api/v1/neighbors/{created['neighbor']['id']}/unlink/",
                    {"reason": "r"},
                    format="json",
                ).status_code,
                expect(role, {"supervisor"}, 409, 403),
            ),
            # FHIR for providers' systems: provider staff only; no referral of theirs here.
            "GET fhir Task search": (
                client.get("/fhir/Task", {"owner": "casa", "status": "requested"}).status_code,
                expect(role, {"provider"}, 200, 403),
            ),
            "GET fhir Task": (
                client.get("/fhir/Task/999999").status_code,
                expect(role, {"provider"}, 404, 403),
            ),
            "PUT fhir Task": (
                client.put(
                    "/fhir/Task/999999",
                    {"resourceType": "Task", "id": "999999", "status": "accepted"},
                    format="json",
                ).status_code,
                expect(role, {"provider"}, 404, 403),
            ),
            "GET metrics": (
                client.get(
                    "/api/v1/metrics/", {"start": "2026-10-01", "end": "2026-10-31"}
                ).status_code,
                expect(role, METRICS_READERS, 200, 403),
            ),
        }
        for name, (got, wanted) in checks.items():
            results[(role, name)] = (got, wanted)
    wrong = {key: value for key, value in results.items() if value[0] != value[1]}
    assert wrong == {}


def test_lists_show_a_navigator_only_their_own_pairs_tasks(world, make_pair):
    users, _pair, new_case = world
    mine = new_case(1)
    other_pair = make_pair("b")
    other = new_case(2)
    from heart_cases.models import Case
    from navigation.services import pair_assign

    pair_assign(
        actor=system_actor("t"),
        case=Case.objects.get(pk=other["case"]["id"]),
        pair=other_pair,
        reason="t",
    )
    for role in ("clinician", "peer"):
        ids = {t["id"] for t in api_client(users, role).get("/api/v1/tasks/").json()["results"]}
        assert mine["follow_up"]["id"] in ids
        assert other["follow_up"]["id"] not in ids


def test_every_page_answers_each_role_as_it_should(client, world):
    users, _, new_case = world
    created = new_case(5)
    case_id, neighbor_id = created["case"]["id"], created["neighbor"]["id"]
    # A page a role may not use is 403; a page about an object it may not see is 404.
    pages = {
        "/tasks/": (NAVIGATORS, 403),
        "/my-cases/": (NAVIGATORS, 403),
        "/cases/?status=open&ordering=status": (NAVIGATORS, 403),
        "/access-log/": ({"supervisor"}, 403),
        "/field-responses/new/": ({"responder", "supervisor"}, 403),
        "/debriefs/": ({"supervisor"}, 403),
        "/notifications/": (set(ROLES), 403),
        "/provider/": ({"provider"}, 403),
        "/metrics/": (METRICS_READERS, 403),
        "/metrics/reports/2026-10.csv": (METRICS_READERS, 403),
        f"/cases/{case_id}/": (NAVIGATORS, 404),
        f"/cases/{case_id}/refer/": (NAVIGATORS, 404),
        "/neighbors/?q=R5": (NAVIGATORS, 403),
        f"/neighbors/{neighbor_id}/": (NAVIGATORS, 404),
        "/possible-duplicates/": ({"supervisor"}, 403),
    }
    wrong = {}
    for role in EVERYONE:
        client.logout()
        if role != "anonymous":
            client.force_login(users[role])
        for path, (allowed, refused) in pages.items():
            code = client.get(path).status_code
            wanted = 302 if role == "anonymous" else 200 if role in allowed else refused
            if code != wanted:
                wrong[(role, path)] = (code, wanted)
    assert wrong == {}


def test_analysts_never_receive_a_neighbors_name_phone_or_birth_date(client, world):
    users, _, new_case = world
    case = new_case(7)
    from heart_cases.models import Neighbor

    neighbor = Neighbor.objects.get(pk=case["neighbor"]["id"])
    secrets = [neighbor.first_name, str(neighbor.phone), neighbor.phone.national_number, "1988"]
    api = api_client(users, "analyst")
    client.force_login(users["analyst"])
    responses = [
        api.get(path)
        for path in (
            "/api/v1/cases/",
            "/api/v1/cases/?ordering=status&program=CRT",
            f"/api/v1/cases/{case['case']['id']}/",
            f"/api/v1/cases/{case['case']['id']}/history/",
            "/api/v1/tasks/",
            "/api/v1/referrals/",
            "/api/v1/providers/",
            "/api/v1/access-log/",
        )
    ]
    today = timezone.localdate()
    responses.append(
        api.get("/api/v1/metrics/", {"start": str(today.replace(day=1)), "end": str(today)})
    )
    responses += [
        client.get(path)
        for path in (
            "/",
            "/tasks/",
            "/my-cases/",
            "/cases/",
            f"/cases/{case['case']['id']}/",
            "/provider/",
            "/metrics/",
            f"/metrics/reports/{today:%Y-%m}.csv",
        )
    ]
    # The analyst's own pages answered (a refusal would prove nothing).
    assert responses[-2].status_code == 200
    assert responses[-1].status_code == 200
    for response in responses:
        body = response.content.decode()
        for secret in secrets:
            assert str(secret) not in body, (response.wsgi_request.path, secret)
