"""Reading cases: list, detail, history, close (API.md)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from heart_cases.models import AccessLog, Case
from navigation.models import FollowUpTask
from navigation.services import pair_assign, pair_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def intake(responder, body):
    _, client = responder

    def post(**overrides):
        response = client.post("/api/v1/field-responses/", body(**overrides), format="json")
        assert response.status_code in (200, 201), response.content
        return response.json()

    return post


@pytest.fixture
def navigator(make_staff):
    from tests.conftest import token_client

    user, token = make_staff("maria", "clinician", languages=["en", "es"])
    return user, token_client(token)


@pytest.fixture
def on_her_pair(navigator, make_staff, supervisor):
    """Give a case to a pair the navigator is on: once closed, a case that never had a pair is
    no longer waiting for one, and reading it would need a reason (break the glass)."""

    def assign(case_id):
        peer, _ = make_staff("jamal", "peer")
        pair = pair_create(actor=supervisor[0], clinician=navigator[0], peer=peer)
        pair_assign(actor=supervisor[0], case=Case.objects.get(pk=case_id), pair=pair, reason="t")

    return assign


def test_case_list_is_paginated_and_filtered(intake, navigator):
    _, client = navigator
    first = intake()
    intake(incident_number="D2", neighbor={"phone": "+1 919 555 0100", "first_name": "Bo"})
    intake(
        incident_number="D3",
        follow_up_consent=False,
        neighbor={"phone": "+1 919 555 0101", "first_name": "Cy"},
    )
    everything = client.get("/api/v1/cases/").json()
    assert set(everything) == {"next", "previous", "results"}
    assert len(everything["results"]) == 3
    open_cases = client.get("/api/v1/cases/?status=open").json()["results"]
    assert {c["status"] for c in open_cases} == {"open"}
    assert len(open_cases) == 2
    by_neighbor = client.get(f"/api/v1/cases/?neighbor={first['neighbor']['id']}").json()
    assert [c["id"] for c in by_neighbor["results"]] == [first["case"]["id"]]
    page = client.get("/api/v1/cases/?page_size=2").json()
    assert len(page["results"]) == 2
    assert page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 1


def test_case_list_filters_by_pair(intake, navigator, make_staff, supervisor):
    user, client = navigator
    peer, _ = make_staff("jamal", "peer")
    pair = pair_create(actor=supervisor[0], clinician=user, peer=peer)
    first = intake()
    intake(incident_number="D2", neighbor={"phone": "+1 919 555 0100", "first_name": "Bo"})
    pair_assign(
        actor=supervisor[0], case=Case.objects.get(pk=first["case"]["id"]), pair=pair, reason="t"
    )
    results = client.get(f"/api/v1/cases/?pair={pair.pk}").json()["results"]
    assert [c["id"] for c in results] == [first["case"]["id"]]
    # The pending follow-up now belongs to the pair.
    assert FollowUpTask.objects.get(pk=first["follow_up"]["id"]).pair_id == pair.pk


@pytest.mark.parametrize(
    "query", ["status=pending", "pair=abc", "neighbor=-1", "page_size=abc", "cursor=zzz"]
)
def test_bad_case_list_queries_are_4xx_not_500(navigator, query):
    _, client = navigator
    response = client.get(f"/api/v1/cases/?{query}")
    assert response.status_code in (400, 404), response.content


def test_case_detail_has_the_contract_fields_and_writes_an_access_log_entry(
    intake, navigator, django_assert_max_num_queries
):
    user, client = navigator
    created = intake()
    with django_assert_max_num_queries(15):
        response = client.get(f"/api/v1/cases/{created['case']['id']}/")
    assert response.status_code == 200
    case = response.json()
    assert {
        "id",
        "number",
        "status",
        "outcome",
        "opened_at",
        "closed_at",
        "neighbor",
        "pair",
        "field_responses",
        "follow_ups",
        "referrals",
    } <= set(case)
    assert case["neighbor"]["first_name"] == "Ana"
    assert case["neighbor"]["phones"] == ["+19195550142"]
    assert case["pair"] is None
    assert [f["id"] for f in case["follow_ups"]] == [created["follow_up"]["id"]]
    assert case["field_responses"][0]["incident_number"] == "D2026-0012345"
    entry = AccessLog.objects.filter(action="view").get()
    assert entry.user_id == user.pk
    assert entry.case_id == created["case"]["id"]
    assert entry.outcome == "allowed"
    assert entry.request_id


def test_roles_without_case_access_get_404_for_details_and_403_for_lists(intake, clients_by_role):
    case_id = intake()["case"]["id"]
    expectations = {
        "clinician": (200, 200),
        "peer": (200, 200),
        "supervisor": (200, 200),
        "responder": (403, 404),
        "provider": (403, 404),
        "analyst": (403, 404),
        "anonymous": (401, 401),
    }
    for role, (list_code, detail_code) in expectations.items():
        client = clients_by_role[role]
        assert client.get("/api/v1/cases/").status_code == list_code, role
        assert client.get(f"/api/v1/cases/{case_id}/").status_code == detail_code, role
        assert client.get(f"/api/v1/cases/{case_id}/history/").status_code == detail_code, role
    denied = AccessLog.objects.filter(outcome="denied", case_id=None)
    assert denied.count() == 6  # responder, provider and analyst: detail and history each


def test_a_case_that_does_not_exist_is_404(navigator):
    _, client = navigator
    assert client.get("/api/v1/cases/999999/").status_code == 404


def test_history_lists_every_change_oldest_first_with_who_did_it(
    intake, navigator, responder, on_her_pair
):
    _, client = navigator
    created = intake()
    on_her_pair(created["case"]["id"])
    client.post(
        f"/api/v1/cases/{created['case']['id']}/close/",
        {"outcome": "moved_away", "note": "Moved to Raleigh."},
        format="json",
    )
    history = client.get(f"/api/v1/cases/{created['case']['id']}/history/").json()["results"]
    times = [entry["at"] for entry in history]
    assert times == sorted(times)
    objects = [entry["object"] for entry in history]
    assert objects[0].startswith("neighbor #")
    assert any(o.startswith("field response D2026-0012345") for o in objects)
    assert any(o.startswith("follow-up #") for o in objects)
    closing = [e for e in history if e["object"].startswith("case") and e["action"] == "changed"]
    assert closing[-1]["actor"] == "maria"
    assert closing[-1]["changes"]["status"] == ["open", "closed"]
    assert closing[-1]["changes"]["outcome"] == ["", "moved_away"]
    assert "Moved to Raleigh." in closing[-1]["reason"]
    cancelled = [e for e in history if e["object"].startswith("follow-up") and e["changes"]]
    assert cancelled[-1]["changes"]["status"] == ["pending", "cancelled"]
    assert history[0]["actor"] == responder[0].username


def test_closing_a_case_twice_is_409_and_bad_outcomes_are_400(intake, navigator, on_her_pair):
    _, client = navigator
    case_id = intake()["case"]["id"]
    on_her_pair(case_id)  # once closed, another pair's case would need a reason (break the glass)
    bad = client.post(f"/api/v1/cases/{case_id}/close/", {"outcome": "solved"}, format="json")
    assert bad.status_code == 400
    assert "outcome" in bad.json()["errors"]
    ok = client.post(
        f"/api/v1/cases/{case_id}/close/", {"outcome": "connected_to_care"}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "closed"
    again = client.post(
        f"/api/v1/cases/{case_id}/close/", {"outcome": "connected_to_care"}, format="json"
    )
    assert again.status_code == 409


def test_a_neighbor_cannot_have_two_open_cases(intake):
    case = Case.objects.get(pk=intake()["case"]["id"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(
            number="HC-2026-999999", neighbor=case.neighbor, opened_at=case.opened_at
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_access_log_refuses_update_and_delete(intake, navigator):
    _, client = navigator
    client.get(f"/api/v1/cases/{intake()['case']['id']}/")
    entry = AccessLog.objects.get(action="view")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLog.objects.filter(pk=entry.pk).update(action="list")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLog.objects.filter(pk=entry.pk).delete()
    assert AccessLog.objects.get(pk=entry.pk).action == "view"


def test_supervisors_review_the_access_log_by_case_and_by_user(intake, navigator, supervisor):
    reader, client = navigator
    case_id = intake()["case"]["id"]
    client.get(f"/api/v1/cases/{case_id}/")
    _, boss = supervisor
    by_case = boss.get(f"/api/v1/access-log/?case={case_id}").json()["results"]
    assert [(e["user"], e["action"], e["case"]) for e in by_case] == [("maria", "view", case_id)]
    by_user = boss.get(f"/api/v1/access-log/?user={reader.pk}").json()["results"]
    assert {e["user"] for e in by_user} == {"maria"}
    assert client.get("/api/v1/access-log/").status_code == 403
    assert boss.get("/api/v1/access-log/?case=x").status_code == 400


def test_the_access_log_page_is_for_supervisors(client, intake, supervisor, navigator):
    client.force_login(navigator[0])
    assert client.get("/access-log/").status_code == 403
    client.force_login(supervisor[0])
    page = client.get("/access-log/").content.decode()
    assert "Access log" in page


def test_the_timeline_says_each_change_in_plain_words(intake, navigator, client, on_her_pair):
    reader, api_client = navigator
    case_id = intake()["case"]["id"]
    on_her_pair(case_id)
    api_client.post(
        f"/api/v1/cases/{case_id}/close/",
        {"outcome": "moved_away", "note": "Moved to Raleigh."},
        format="json",
    )
    history = api_client.get(f"/api/v1/cases/{case_id}/history/").json()["results"]
    closing = [e for e in history if e["object"].startswith("case") and e["action"] == "changed"]
    assert "status: Open → Closed" in closing[-1]["changes_text"]
    assert "outcome: — → Moved away" in closing[-1]["changes_text"]
    client.force_login(reader)
    page = client.get(f"/cases/{case_id}/").content.decode()
    assert "status: Open → Closed" in page
    assert "Moved to Raleigh." in page
