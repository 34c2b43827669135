"""The neighbor's record and contacts (API.md, "Neighbors: find, see, link"; issue 13): the
fields API.md lists, behind break the glass like a case, in the access log; a contact added is
in history with its actor; bad input is a 400 naming the field and writes nothing."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from heart_cases.models import AccessLog, Contact
from heart_cases.services import neighbor_link
from navigation.services import pair_assign
from tests.conftest import as_user, record_case

pytestmark = pytest.mark.django_db
REASON = "Her sister called the peer line; pair B is off today"


@pytest.fixture
def world(make_staff, make_pair, responder):
    """Pairs A and B; a case of pair B's for Rosa Mejía."""
    pair_a, pair_b = make_pair("a"), make_pair("b")
    supervisor, _ = make_staff("dana", "supervisor")
    case = record_case(responder[0], n=1, first_name="Rosa", last_name="Mejía", prefix="NB")
    pair_assign(actor=supervisor, case=case, pair=pair_b, reason="test")
    return pair_a, pair_b, supervisor, case


def test_the_pairs_navigator_reads_the_record_with_every_field_api_md_lists(world):
    _, pair_b, _, case = world
    response = as_user(pair_b.peer).get(f"/api/v1/neighbors/{case.neighbor_id}/")
    assert response.status_code == 200
    body = response.json()
    assert {
        "id",
        "display_name",
        "first_name",
        "last_name",
        "alias",
        "date_of_birth",
        "phones",
        "language",
        "unsheltered",
        "linked_records",
        "contacts",
        "cases",
    } <= set(body)
    assert body["display_name"] == "Rosa Mejía"
    assert body["phones"] == ["+19195550001"]
    assert body["cases"] == [
        {
            "id": case.pk,
            "number": case.number,
            "neighbor": case.neighbor_id,
            "status": "open",
            "outcome": None,
            "opened_at": body["cases"][0]["opened_at"],
            "closed_at": None,
        }
    ]
    entries = AccessLog.objects.filter(user=pair_b.peer, object_type="neighbor")
    assert {(e.action, e.case_id, e.outcome, e.reason) for e in entries} == {
        ("view", None, "allowed", ""),
        ("view", case.pk, "allowed", ""),
    }


def test_another_pairs_navigator_gives_a_reason_first_and_the_log_keeps_it(world):
    pair_a, _, _, case = world
    peer = as_user(pair_a.peer)
    refused = peer.get(f"/api/v1/neighbors/{case.neighbor_id}/")
    assert refused.status_code == 403
    assert refused.json()["reason_required"] is True
    assert "Mejía" not in refused.content.decode()
    assert AccessLog.objects.filter(user=pair_a.peer, outcome="denied", case_id=case.pk).exists()
    read = peer.get(f"/api/v1/neighbors/{case.neighbor_id}/?access_reason={quote(REASON)}")
    assert read.status_code == 200
    assert read.json()["display_name"] == "Rosa Mejía"
    allowed = AccessLog.objects.filter(user=pair_a.peer, outcome="allowed", object_type="neighbor")
    assert {e.reason for e in allowed} == {REASON}
    assert {e.case_id for e in allowed} == {None, case.pk}
    too_long = peer.get(f"/api/v1/neighbors/{case.neighbor_id}/", {"access_reason": "x" * 1001})
    assert too_long.status_code == 400
    assert "access_reason" in too_long.json()["errors"]


def test_a_supervisor_needs_no_reason(world):
    _, _, supervisor, case = world
    response = as_user(supervisor).get(f"/api/v1/neighbors/{case.neighbor_id}/")
    assert response.status_code == 200
    assert AccessLog.objects.filter(user=supervisor, reason="", outcome="allowed").exists()


def test_roles_that_may_not_see_neighbors_get_a_404_and_a_missing_one_is_a_404(world, make_staff):
    _, _, supervisor, case = world
    for role in ("provider", "analyst", "responder"):
        user, _ = make_staff(f"{role}-x", role)
        response = as_user(user).get(f"/api/v1/neighbors/{case.neighbor_id}/")
        assert response.status_code == 404, role
        assert "Mejía" not in response.content.decode()
    assert as_user(supervisor).get("/api/v1/neighbors/999999/").status_code == 404
    assert as_user(supervisor).get("/api/v1/neighbors/99999999999999999999/").status_code == 404


def test_a_linked_record_shows_on_the_record_it_is_linked_to(world, responder):
    _, pair_b, supervisor, case = world
    twin = record_case(responder[0], n=2, first_name="Rosa", last_name="Mejia", prefix="NB")
    neighbor_link(actor=supervisor, neighbor=twin.neighbor, into=case.neighbor, reason="same")
    body = as_user(supervisor).get(f"/api/v1/neighbors/{case.neighbor_id}/").json()
    (linked,) = body["linked_records"]
    assert linked["id"] == twin.neighbor_id
    assert linked["linked_by"] == "dana"
    assert linked["linked_at"] is not None
    assert {c["number"] for c in body["cases"]} == {case.number, twin.number}
    assert set(body["phones"]) == {"+19195550001", "+19195550002"}
    # The pair of either record's case reads the person without a reason.
    assert as_user(pair_b.peer).get(f"/api/v1/neighbors/{case.neighbor_id}/").status_code == 200
    twin_body = as_user(supervisor).get(f"/api/v1/neighbors/{twin.neighbor_id}/").json()
    assert twin_body["linked_to"] == {"id": case.neighbor_id, "display_name": "Rosa Mejía"}


def test_the_record_takes_the_same_number_of_queries_whatever_it_holds(world, responder):
    _, _, supervisor, case = world
    client = as_user(supervisor)
    path = f"/api/v1/neighbors/{case.neighbor_id}/"
    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    for n in range(3):
        twin = record_case(responder[0], n=10 + n, first_name="Rosa", last_name=f"M{n}")
        neighbor_link(actor=supervisor, neighbor=twin.neighbor, into=case.neighbor, reason="x")
        client.post(f"{path}contacts/", {"name": f"Contact {n}"}, format="json")
    with CaptureQueriesContext(connection) as large:
        body = client.get(path).json()
    assert len(body["linked_records"]) == 3
    assert len(body["contacts"]) == 3
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_contact_is_added_with_its_actor_in_history(world):
    _, pair_b, _, case = world
    response = as_user(pair_b.peer).post(
        f"/api/v1/neighbors/{case.neighbor_id}/contacts/",
        {
            "name": "Lucía Mejía",
            "relationship": "sister",
            "phone": "(919) 555-0177",
            "language": "es",
            "may_contact": True,
            "note": "Answers evenings",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Lucía Mejía"
    assert body["phone"] == "+19195550177"
    assert body["created_by"] == pair_b.peer.username
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.neighbor_id, contact.relationship, contact.may_contact) == (
        case.neighbor_id,
        "sister",
        True,
    )
    (row,) = contact.history.all()
    assert row.history_user == pair_b.peer
    assert "sister" in row.history_change_reason
    listed = as_user(pair_b.peer).get(f"/api/v1/neighbors/{case.neighbor_id}/").json()
    assert [c["name"] for c in listed["contacts"]] == ["Lucía Mejía"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({}, "name"),
        ({"name": "Lucía", "phone": "555"}, "phone"),
        ({"name": "Lucía", "phone": "not a phone"}, "phone"),
        ({"name": "Lucía", "language": "Spanish!"}, "language"),
        ({"name": "Lucía", "may_contact": "perhaps"}, "may_contact"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Lu\x00cía"}, "name"),
    ],
)
def test_a_bad_contact_is_a_400_naming_the_field_and_writes_nothing(world, body, field):
    _, pair_b, _, case = world
    response = as_user(pair_b.peer).post(
        f"/api/v1/neighbors/{case.neighbor_id}/contacts/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Contact.objects.count() == 0


def test_another_pair_adds_a_contact_only_with_a_reason(world):
    pair_a, _, _, case = world
    path = f"/api/v1/neighbors/{case.neighbor_id}/contacts/"
    refused = as_user(pair_a.peer).post(path, {"name": "Lucía"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["reason_required"] is True
    assert Contact.objects.count() == 0
    done = as_user(pair_a.peer).post(
        f"{path}?access_reason={quote(REASON)}", {"name": "Lucía"}, format="json"
    )
    assert done.status_code == 201
    assert Contact.objects.count() == 1


def test_roles_that_may_not_see_neighbors_cannot_add_contacts(world, make_staff):
    _, _, _, case = world
    for role in ("provider", "analyst", "responder"):
        user, _ = make_staff(f"{role}-y", role)
        response = as_user(user).post(
            f"/api/v1/neighbors/{case.neighbor_id}/contacts/", {"name": "X"}, format="json"
        )
        assert response.status_code == 403, role
    assert Contact.objects.count() == 0


# --- pages ---------------------------------------------------------------------------------


def test_the_search_page_lists_people_and_logs_one_search(world, client):
    _, pair_b, _, case = world
    client.force_login(pair_b.peer)
    empty = client.get("/neighbors/")
    assert empty.status_code == 200
    assert not AccessLog.objects.filter(action="search").exists()
    response = client.get("/neighbors/", {"q": "Rosa Mejai"})
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="/neighbors/{case.neighbor_id}/"' in body
    assert "(919) 555-0001" in body
    assert "English" in body
    entry = AccessLog.objects.get(action="search")
    assert (entry.object_ids, entry.path) == ([case.neighbor_id], "/neighbors/?kind=name")
    bad = client.get("/neighbors/", {"q": "x"})
    assert bad.status_code == 400
    assert "At least 2 characters" in bad.content.decode()
    assert AccessLog.objects.filter(action="search").count() == 1


def test_the_neighbor_page_asks_another_pair_why_and_keeps_the_reason_in_the_session(world, client):
    pair_a, _, _, case = world
    client.force_login(pair_a.peer)
    path = f"/neighbors/{case.neighbor_id}/"
    asked = client.get(path)
    assert asked.status_code == 403
    assert "Mejía" not in asked.content.decode()
    blank = client.post(path, {"access_reason": "  "})
    assert blank.status_code == 403
    assert "A reason is needed" in blank.content.decode()
    given = client.post(path, {"access_reason": REASON})
    assert given.status_code == 302
    page = client.get(path)
    assert page.status_code == 200
    assert "Rosa Mejía" in page.content.decode()
    assert REASON in page.content.decode()
    assert case.number in page.content.decode()
    reads = AccessLog.objects.filter(user=pair_a.peer, outcome="allowed", object_type="neighbor")
    assert {e.reason for e in reads} == {REASON}
    added = client.post(f"{path}contacts/", {"name": "Lucía", "phone": "919-555-0177"})
    assert added.status_code == 302
    assert Contact.objects.get().created_by == pair_a.peer
    refused = client.post(f"{path}contacts/", {"name": "", "phone": "12"})
    assert refused.status_code == 400
    assert Contact.objects.count() == 1


def test_the_neighbor_page_is_a_404_for_roles_that_may_not_see_neighbors(world, client, make_staff):
    _, _, _, case = world
    for role in ("provider", "analyst", "responder"):
        user, _ = make_staff(f"{role}-p", role)
        client.force_login(user)
        response = client.get(f"/neighbors/{case.neighbor_id}/")
        assert response.status_code == 404, role
        assert "Mejía" not in response.content.decode()
        assert client.post(
            f"/neighbors/{case.neighbor_id}/contacts/", {"name": "X"}
        ).status_code in (
            403,
            404,
        )
    assert Contact.objects.count() == 0


def test_the_neighbor_page_takes_the_same_number_of_queries_with_more_records(
    world, client, responder
):
    _, _, supervisor, case = world
    client.force_login(supervisor)
    path = f"/neighbors/{case.neighbor_id}/"
    client.get(path)
    with CaptureQueriesContext(connection) as small:
        assert client.get(path).status_code == 200
    for n in range(3):
        twin = record_case(responder[0], n=30 + n, first_name="Rosa", last_name=f"Q{n}")
        neighbor_link(actor=supervisor, neighbor=twin.neighbor, into=case.neighbor, reason="x")
        Contact.objects.create(neighbor=case.neighbor, name=f"C{n}", created_by=supervisor)
    with CaptureQueriesContext(connection) as large:
        response = client.get(path)
    assert response.content.decode().count('class="contact"') == 3
    # Each case shown costs the same few queries (its sections); nothing else grows.
    per_case = (len(large.captured_queries) - len(small.captured_queries)) / 3
    assert per_case <= 12, per_case


def test_a_records_request_includes_the_contacts_with_their_history(world):
    _, pair_b, supervisor, case = world
    as_user(pair_b.peer).post(
        f"/api/v1/neighbors/{case.neighbor_id}/contacts/",
        {"name": "Lucía Mejía", "relationship": "sister"},
        format="json",
    )
    body = as_user(supervisor).get(f"/api/v1/neighbors/{case.neighbor_id}/export/").json()
    (contact,) = body["contacts"]
    assert contact["name"] == "Lucía Mejía"
    assert [(h["action"], h["actor"]) for h in contact["history"]] == [
        ("created", pair_b.peer.username)
    ]
