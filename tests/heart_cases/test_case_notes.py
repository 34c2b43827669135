"""Case notes (API.md, "Case notes and closing"): written by the pair or a supervisor, never
edited or deleted, corrected by amending notes; in the history; behind break the glass; every
read in the access log."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from heart_cases import notes
from heart_cases.models import AccessLog, Case, CaseNote
from heart_cases.views import SESSION_ACCESS_REASONS
from navigation.services import pair_assign
from tests.conftest import as_user, record_case

pytestmark = pytest.mark.django_db
REASON = "The neighbor called the peer line; pair B is off today"


@pytest.fixture
def world(make_staff, make_pair, responder):
    """Pairs A and B; a case of pair A's (its field response an hour ago) and one of B's."""
    pair_a, pair_b = make_pair("a"), make_pair("b")
    supervisor, _ = make_staff("dana", "supervisor")
    ours = record_case(responder[0], n=1, first_name="Rosa", last_name="Mejía", prefix="N")
    theirs = record_case(responder[0], n=2, first_name="Iván", last_name="Soto", prefix="N")
    pair_assign(actor=supervisor, case=ours, pair=pair_a, reason="test")
    pair_assign(actor=supervisor, case=theirs, pair=pair_b, reason="test")
    return pair_a, pair_b, supervisor, ours, theirs


def url(case: Case, reason: str | None = None) -> str:
    query = f"?access_reason={quote(reason)}" if reason else ""
    return f"/api/v1/cases/{case.pk}/notes/{query}"


def test_a_peer_writes_a_note_and_reads_it_back(world):
    pair_a, _, _, case, _ = world
    peer = as_user(pair_a.peer)
    called = timezone.now() - timedelta(minutes=30)
    response = peer.post(
        url(case),
        {"text": "Called; sister answered.", "occurred_at": called.isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "author", "at", "occurred_at", "text", "amends"}
    assert body["author"] == "a-p"
    assert body["amends"] is None
    assert parse_datetime(body["occurred_at"]) == called
    note = CaseNote.objects.get()
    assert (note.case, note.author, note.text, note.occurred_at) == (
        case,
        pair_a.peer,
        "Called; sister answered.",
        called,
    )
    assert abs((note.at - timezone.now()).total_seconds()) < 60
    history = note.history.get()
    assert (history.history_user, history.history_change_reason) == (pair_a.peer, "Note written")
    listed = peer.get(url(case))
    assert listed.status_code == 200
    assert [n["id"] for n in listed.json()["results"]] == [note.pk]
    assert set(listed.json()) == {"next", "previous", "results"}


def test_the_time_of_the_event_defaults_to_when_the_note_is_written(world):
    pair_a, _, _, case, _ = world
    response = as_user(pair_a.clinician).post(
        url(case), {"text": "Met at the shelter."}, format="json"
    )
    assert response.status_code == 201
    note = CaseNote.objects.get()
    assert note.occurred_at == note.at


def test_a_correction_amends_the_earlier_note_and_both_stay(world):
    pair_a, _, _, case, _ = world
    peer, clinician = as_user(pair_a.peer), as_user(pair_a.clinician)
    first = peer.post(url(case), {"text": "Sister is Marta."}, format="json").json()
    second = clinician.post(
        url(case), {"text": "Sister is Marisa, not Marta.", "amends": first["id"]}, format="json"
    )
    assert second.status_code == 201, second.content
    assert second.json()["amends"] == first["id"]
    assert CaseNote.objects.get(pk=first["id"]).text == "Sister is Marta."
    assert CaseNote.objects.count() == 2
    assert (
        CaseNote.history.get(id=second.json()["id"]).history_change_reason
        == f"Note amending note #{first['id']}"
    )


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_note_is_never_edited_or_deleted(world, method):
    pair_a, _, supervisor, case, _ = world
    as_user(pair_a.peer).post(url(case), {"text": "Original."}, format="json")
    response = getattr(as_user(supervisor), method)(url(case), {"text": "Changed."}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert list(CaseNote.objects.values_list("text", flat=True)) == ["Original."]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   \n "}, "text"),
        ({"text": "x" * (notes.NOTE_TEXT_MAX_LENGTH + 1)}, "text"),
        ({"text": "nul \x00 inside"}, "text"),
        ({"text": 12}, "text"),
        ({"text": "ok", "occurred_at": "2026-11-20T14:05:00"}, "occurred_at"),
        ({"text": "ok", "occurred_at": "yesterday"}, "occurred_at"),
        ({"text": "ok", "occurred_at": "1999-01-01T00:00:00+00:00"}, "occurred_at"),
        ({"text": "ok", "amends": "first"}, "amends"),
        ({"text": "ok", "amends": 0}, "amends"),
        ({"text": "ok", "amends": 2**70}, "amends"),
        ({"text": "ok", "amends": 987654}, "amends"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(world, body, field):
    pair_a, _, _, case, _ = world
    response = as_user(pair_a.peer).post(url(case), body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not CaseNote.objects.exists()


def test_a_note_about_the_future_is_refused(world):
    pair_a, _, _, case, _ = world
    ahead = (timezone.now() + timedelta(hours=2)).isoformat()
    response = as_user(pair_a.peer).post(
        url(case), {"text": "Will call.", "occurred_at": ahead}, format="json"
    )
    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert not CaseNote.objects.exists()


def test_a_note_about_a_time_before_the_first_field_response_is_refused(world):
    pair_a, _, _, case, _ = world
    before = case.field_responses.get().responded_at - timedelta(minutes=5)
    response = as_user(pair_a.peer).post(
        url(case), {"text": "Earlier.", "occurred_at": before.isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert "field response" in response.json()["errors"]["occurred_at"][0]
    assert not CaseNote.objects.exists()


def test_a_note_cannot_amend_a_note_of_another_case(world):
    pair_a, _, supervisor, ours, theirs = world
    other = as_user(supervisor).post(url(theirs), {"text": "B's note."}, format="json").json()
    response = as_user(pair_a.peer).post(
        url(ours), {"text": "Correction.", "amends": other["id"]}, format="json"
    )
    assert response.status_code == 400
    assert "amends" in response.json()["errors"]
    assert CaseNote.objects.count() == 1


def test_roles_that_may_not_see_cases_get_nothing(world, make_staff):
    pair_a, _, _, case, _ = world
    as_user(pair_a.peer).post(url(case), {"text": "Private."}, format="json")
    for role in ("responder", "provider", "analyst"):
        user, _ = make_staff(f"{role}-x", role)
        client = as_user(user)
        read = client.get(url(case))
        assert read.status_code == 404, role
        assert "Private" not in read.content.decode()
        assert client.post(url(case), {"text": "x"}, format="json").status_code == 403, role
    assert CaseNote.objects.count() == 1


def test_another_pairs_case_needs_a_reason_and_the_access_log_keeps_it(world):
    pair_a, _, _, _, theirs = world
    peer = as_user(pair_a.peer)
    refused = peer.get(url(theirs))
    assert refused.status_code == 403
    assert refused.json()["reason_required"] is True
    denied = AccessLog.objects.get(user=pair_a.peer, case_id=theirs.pk)
    assert (denied.outcome, denied.object_type) == ("denied", "case_note")
    write_refused = peer.post(url(theirs), {"text": "Called."}, format="json")
    assert write_refused.status_code == 403
    assert write_refused.json()["reason_required"] is True
    assert not CaseNote.objects.exists()

    assert peer.get(url(theirs, REASON)).status_code == 200
    written = peer.post(url(theirs, REASON), {"text": "Called for pair B."}, format="json")
    assert written.status_code == 201
    allowed = AccessLog.objects.filter(user=pair_a.peer, outcome="allowed", case_id=theirs.pk)
    assert allowed.count() == 2
    assert set(allowed.values_list("reason", flat=True)) == {REASON}


def test_supervisors_and_the_pair_need_no_reason_and_each_read_is_logged(world):
    pair_a, _, supervisor, ours, theirs = world
    assert as_user(supervisor).get(url(theirs)).status_code == 200
    assert as_user(pair_a.peer).get(url(ours)).status_code == 200
    entries = AccessLog.objects.filter(object_type="case_note", action="view", outcome="allowed")
    assert sorted(entries.values_list("case_id", "reason")) == sorted(
        [(theirs.pk, ""), (ours.pk, "")]
    )


def test_notes_are_in_the_case_history(world):
    pair_a, _, _, case, _ = world
    peer = as_user(pair_a.peer)
    note = peer.post(url(case), {"text": "In the history."}, format="json").json()
    history = peer.get(f"/api/v1/cases/{case.pk}/history/").json()["results"]
    entry = next(e for e in history if e["object"] == f"note #{note['id']}")
    assert entry["action"] == "created"
    assert entry["actor"] == "a-p"
    assert entry["changes"]["text"] == [None, "In the history."]


def test_the_notes_list_stays_within_its_query_budget(world, django_assert_max_num_queries):
    pair_a, _, _, case, _ = world
    peer = as_user(pair_a.peer)
    for n in range(5):
        peer.post(url(case), {"text": f"Note {n}"}, format="json")
    with django_assert_max_num_queries(12):
        response = peer.get(url(case))
    assert len(response.json()["results"]) == 5


# --- the page ---------------------------------------------------------------------------


def test_the_note_form_writes_a_note_and_goes_back_to_the_case(client, world):
    pair_a, _, _, case, _ = world
    client.force_login(pair_a.peer)
    when = timezone.localtime(timezone.now() - timedelta(minutes=20)).replace(second=0)
    response = client.post(
        f"/cases/{case.pk}/notes/new/",
        {
            "text": "Left a message with the front desk.",
            "occurred_at": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/#notes"
    note = CaseNote.objects.get()
    assert note.occurred_at == when.replace(microsecond=0)
    assert note.author == pair_a.peer


def test_the_note_form_refuses_what_the_api_refuses_with_its_message(client, world):
    pair_a, _, _, case, _ = world
    client.force_login(pair_a.peer)
    response = client.post(f"/cases/{case.pk}/notes/new/", {"text": "  "}, follow=True)
    assert "cannot be blank" in response.content.decode()
    assert not CaseNote.objects.exists()


def test_the_note_form_on_another_pairs_case_needs_the_reason_first(client, world):
    pair_a, _, _, _, theirs = world
    client.force_login(pair_a.peer)
    response = client.post(f"/cases/{theirs.pk}/notes/new/", {"text": "Called."})
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{theirs.pk}/"
    assert not CaseNote.objects.exists()
    session = client.session
    session[SESSION_ACCESS_REASONS] = {str(theirs.pk): REASON}
    session.save()
    response = client.post(f"/cases/{theirs.pk}/notes/new/", {"text": "Called."})
    assert response["Location"].endswith("#notes")
    assert CaseNote.objects.get().case == theirs


def test_the_note_form_is_refused_to_roles_that_may_not_see_cases(client, world, make_staff):
    _, _, _, case, _ = world
    analyst, _ = make_staff("ann", "analyst")
    client.force_login(analyst)
    assert client.post(f"/cases/{case.pk}/notes/new/", {"text": "x"}).status_code == 404
    assert not CaseNote.objects.exists()


def test_the_notes_include_shows_each_note_its_amendments_and_the_form(world):
    """templates/heart_cases/_case_notes.html, with the case page's context provider."""
    pair_a, _, _, case, _ = world
    first = notes.note_create(actor=pair_a.peer, case=case, text="Sister is Marta.")
    notes.note_create(
        actor=pair_a.clinician, case=case, text="Sister is Marisa.", amends_id=first.pk
    )
    request = RequestFactory().get(f"/cases/{case.pk}/")
    request.user = pair_a.peer
    context = {"case": case, **notes.case_page_context(case=case, user=pair_a.peer)}
    html = render_to_string("heart_cases/_case_notes.html", context, request=request)
    assert "Sister is Marta." in html
    assert "Sister is Marisa." in html
    assert f'href="#note-{first.pk}"' in html
    assert f'action="/cases/{case.pk}/notes/new/"' in html
    assert 'name="amends"' in html
