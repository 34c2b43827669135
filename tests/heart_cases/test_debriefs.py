"""The supervisors' debrief list (API.md): `GET /api/v1/debriefs/?status=open|done`, `POST
/api/v1/debriefs/{id}/done/` `{"note"}`, and the `/debriefs/` page."""

from __future__ import annotations

import pytest

from heart_cases.models import AccessLog, Debrief
from tests.conftest import ROLES, as_user, field_response_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(responder):
    """Two field responses whose responders asked for a debrief, one that did not."""
    _, cad = responder
    ids = []
    for n, wanted in enumerate([True, True, False]):
        body = field_response_body(
            incident_number=f"DB-{n}",
            debrief_requested=wanted,
            neighbor={"phone": f"+1 919 555 01{n:02d}", "first_name": f"N{n}"},
        )
        response = cad.post("/api/v1/field-responses/", body, format="json")
        assert response.status_code == 201
        ids.append(response.json()["id"])
    return ids


def test_a_supervisor_lists_the_open_debriefs_in_the_shape_api_md_gives(requested, supervisor):
    _, client = supervisor
    response = client.get("/api/v1/debriefs/", {"status": "open"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [d["field_response"]["incident_number"] for d in results] == ["DB-0", "DB-1"]
    first = results[0]
    assert set(first) >= {
        "id",
        "field_response",
        "requested_at",
        "status",
        "done_at",
        "done_by",
        "note",
    }
    assert set(first["field_response"]) >= {
        "id",
        "incident_number",
        "unit",
        "program",
        "responded_at",
    }
    assert first["field_response"]["id"] == requested[0]
    assert (first["status"], first["done_at"], first["done_by"], first["note"]) == (
        "open",
        None,
        None,
        "",
    )
    assert client.get("/api/v1/debriefs/", {"status": "done"}).json()["results"] == []
    shown = AccessLog.objects.filter(object_type="debrief", action="list")
    assert shown.count() == 2  # one entry per case shown, for the open list


def test_a_supervisor_marks_a_debrief_done_with_a_note(requested, supervisor):
    user, client = supervisor
    debrief = Debrief.objects.get(field_response_id=requested[0])
    response = client.post(
        f"/api/v1/debriefs/{debrief.pk}/done/", {"note": "Talked it through."}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["done_by"], body["note"]) == ("done", "dana", "Talked it through.")
    debrief.refresh_from_db()
    assert (debrief.status, debrief.done_by, debrief.note) == ("done", user, "Talked it through.")
    assert debrief.done_at is not None
    latest = debrief.history.order_by("-history_id").first()
    assert latest.history_user == user
    assert [d["id"] for d in client.get("/api/v1/debriefs/?status=done").json()["results"]] == [
        debrief.pk
    ]
    assert len(client.get("/api/v1/debriefs/?status=open").json()["results"]) == 1
    again = client.post(f"/api/v1/debriefs/{debrief.pk}/done/", {"note": "again"}, format="json")
    assert again.status_code == 409
    debrief.refresh_from_db()
    assert debrief.note == "Talked it through."


@pytest.mark.parametrize(
    "body", [{"note": "x" * 5001}, {"note": {"text": "x"}}, {"note": ["a"]}, {"note": "a\x00b"}]
)
def test_a_bad_note_is_a_400_and_changes_nothing(requested, supervisor, body):
    _, client = supervisor
    debrief = Debrief.objects.get(field_response_id=requested[0])
    response = client.post(f"/api/v1/debriefs/{debrief.pk}/done/", body, format="json")
    assert response.status_code == 400, response.content
    assert "note" in response.json()["errors"]
    debrief.refresh_from_db()
    assert debrief.status == "open"


def test_a_bad_status_filter_is_a_400(supervisor):
    _, client = supervisor
    response = client.get("/api/v1/debriefs/", {"status": "later"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_an_unknown_debrief_is_a_404(supervisor):
    _, client = supervisor
    assert client.post("/api/v1/debriefs/999999/done/", {}, format="json").status_code == 404


def test_only_supervisors_see_or_hold_debriefs(requested, make_staff):
    debrief = Debrief.objects.get(field_response_id=requested[0])
    for role in ROLES:
        if role == "supervisor":
            continue
        user, _ = make_staff(f"{role}-d", role)
        client = as_user(user)
        assert client.get("/api/v1/debriefs/").status_code == 403, role
        done = client.post(f"/api/v1/debriefs/{debrief.pk}/done/", {}, format="json")
        assert done.status_code == 403, role
    debrief.refresh_from_db()
    assert debrief.status == "open"


# --- the page -----------------------------------------------------------------------------


def test_the_debriefs_page_lists_them_and_marks_one_done(client, requested, supervisor):
    user, _ = supervisor
    client.force_login(user)
    page = client.get("/debriefs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "DB-0" in html
    assert "DB-1" in html
    assert "DB-2" not in html
    debrief = Debrief.objects.get(field_response_id=requested[1])
    response = client.post(f"/debriefs/{debrief.pk}/done/", {"note": "Held on the phone."})
    assert response.status_code == 302
    debrief.refresh_from_db()
    assert (debrief.status, debrief.note, debrief.done_by) == ("done", "Held on the phone.", user)
    done = client.get("/debriefs/?status=done").content.decode()
    assert "Held on the phone." in done


def test_the_debriefs_page_is_refused_to_other_roles(client, requested, make_staff):
    debrief = Debrief.objects.get(field_response_id=requested[0])
    for role in ("responder", "clinician", "peer", "provider", "analyst"):
        user, _ = make_staff(f"{role}-p", role)
        client.force_login(user)
        assert client.get("/debriefs/").status_code == 403, role
        assert client.post(f"/debriefs/{debrief.pk}/done/", {"note": "x"}).status_code == 403
    debrief.refresh_from_db()
    assert debrief.status == "open"
