"""Nothing typed is lost (issue 13, item 8): the session ends on the server while a form is
open, the person presses its button, logs in again, and is back on the page that held the form
with what they typed (not on a 405 from the POST-only URL); sending it then saves it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from heart_cases.models import CaseNote, FieldResponse
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.services import pair_assign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "heart-demo-expired"
NOTE = "Talked with her sister at the door; call back Thursday after 5 pm"


def log_in(page: Any) -> None:
    page.get_by_label("Username").fill(page.username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def a_case(make_staff: Any, make_pair: Any) -> tuple[Any, Any]:
    cad, _ = make_staff("cad", "responder", service_account=True)
    pair = make_pair("a")
    pair.clinician.set_password(PASSWORD)
    pair.clinician.save()
    responded_at = timezone.now() - timedelta(hours=2)
    case = field_response_record(
        actor=cad,
        data=FieldResponseInput(
            incident_number="D2026-0000801",
            unit="CRT-1",
            program="CRT",
            call_type="Welfare check",
            responded_at=responded_at,
            cleared_at=responded_at + timedelta(minutes=30),
            follow_up_consent=True,
            neighbor=NeighborInput(first_name="Marta", last_name="Ruiz", phone="+19195550123"),
        ),
    ).case
    pair_assign(actor=pair.clinician, case=case, pair=pair, reason="Test: the pair on duty")
    return case, pair.clinician


def test_a_note_typed_before_the_session_ended_is_there_after_login(
    live_server, page, make_staff, make_pair
):
    case, clinician = a_case(make_staff, make_pair)
    page.username = clinician.username
    case_page = f"{live_server.url}/cases/{case.pk}/"
    page.goto(f"{live_server.url}/login/?next=/cases/{case.pk}/")
    log_in(page)
    assert page.url == case_page
    form = page.locator("form.note-form")
    form.get_by_label("Note", exact=True).fill(NOTE)

    # The session ends on the server (idle limit, or another tab logged out) while the form is
    # open; the person presses the button anyway.
    Session.objects.all().delete()
    with page.expect_navigation():
        form.get_by_role("button", name="Save the note").click()
    assert page.url.startswith(f"{live_server.url}/login/")
    assert page.get_by_role("heading", name="Log in").is_visible()
    expect(page.get_by_role("status")).to_contain_text("what you typed is still there")
    assert CaseNote.objects.count() == 0

    # After logging in: the case page (not the POST-only note URL), the note as typed.
    log_in(page)
    assert page.url == case_page
    form = page.locator("form.note-form")
    assert form.get_by_label("Note", exact=True).input_value() == NOTE
    assert CaseNote.objects.count() == 0

    with page.expect_navigation():
        form.get_by_role("button", name="Save the note").click()
    page.get_by_role("status").get_by_text("Note saved.").wait_for()
    assert page.locator("#notes .note-text").inner_text() == NOTE
    [note] = CaseNote.objects.all()
    assert (note.case_id, note.text, note.author) == (case.pk, NOTE, clinician)
    # Once saved, the draft goes: a reload shows an empty form, and nothing is saved twice.
    page.wait_for_function(
        "!Object.keys(sessionStorage).some(key => key.startsWith('heart-draft'))", timeout=5000
    )
    page.reload()
    assert page.locator("form.note-form").get_by_label("Note", exact=True).input_value() == ""
    assert CaseNote.objects.count() == 1


@pytest.mark.parametrize(
    ("endpoint", "form_page"),
    [
        ("/tasks/7/attempts/", "/tasks/"),
        ("/cases/5/notes/new/", "/cases/5/"),
        ("/cases/5/assign/", "/cases/5/"),
        ("/cases/5/referrals/3/cancel/", "/cases/5/"),
        ("/cases/5/consents/3/withdraw/", "/cases/5/"),
        ("/cases/5/close-connected/", "/cases/5/"),
        ("/neighbors/9/unlink/", "/neighbors/9/"),
        ("/possible-duplicates/4/link/", "/possible-duplicates/"),
        ("/possible-duplicates/4/dismiss/", "/possible-duplicates/"),
        ("/debriefs/2/done/", "/debriefs/"),
        # These take GET as well: their own URL is the form's page.
        ("/cases/5/refer/", "/cases/5/refer/"),
        ("/neighbors/9/contacts/", "/neighbors/9/contacts/"),
        ("/field-responses/new/", "/field-responses/new/"),
        ("/cases/5/", "/cases/5/"),
    ],
)
def test_without_a_referer_a_post_only_form_leads_back_to_its_page(client, endpoint, form_page):
    """No Referer (a strict browser or proxy): the page each POST-only endpoint belongs to. An
    off-site Referer is never followed; this site's is, with its query. Nothing is written."""
    for referer in ({}, {"HTTP_REFERER": "https://evil.example/tasks/"}):
        answer = client.post(endpoint, {"text": "x"}, **referer)
        assert (answer.status_code, login_next(answer)) == (302, form_page)
    answer = client.post(endpoint, {"text": "x"}, HTTP_REFERER="http://testserver/tasks/?pair=3")
    assert login_next(answer) == "/tasks/?pair=3"
    # The login page says why, and the next it is given is kept for after the login.
    shown = client.get(answer["Location"])
    assert "what you typed is still there" in shown.content.decode()
    assert 'name="next" value="/tasks/?pair=3"' in shown.content.decode()
    assert CaseNote.objects.count() == 0


def test_only_a_logged_out_post_is_sent_back_to_its_form(client, make_staff):
    """A GET keeps Django's own next, and so does a plain visit to the login page; logging out
    (logged in, or after the session ended) is no expired form."""
    answer = client.get("/debriefs/", HTTP_REFERER="http://testserver/tasks/")
    assert answer["Location"] == "/login/?next=/debriefs/"
    assert "what you typed" not in client.get("/login/?next=/debriefs/").content.decode()
    user, _ = make_staff("dana", "supervisor")
    client.force_login(user)
    for _time in ("logged in", "logged out"):
        answer = client.post("/logout/", HTTP_REFERER="http://testserver/debriefs/")
        assert (answer.status_code, answer["Location"]) == (302, "/login/")


def login_next(answer: Any) -> str:
    location = urlsplit(answer["Location"])
    assert location.path == "/login/"
    query = parse_qs(location.query)
    assert query["expired"] == ["1"]
    [next_page] = query["next"]
    return next_page


def test_every_kind_of_field_outlives_the_session(live_server, page, make_staff):
    """The field response by hand has text, dates, selects, radios and check boxes: all of
    them come back after the login, and the response is recorded once."""
    responder, _ = make_staff("rene", "responder", password=PASSWORD)
    page.username = responder.username
    began = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.goto(f"{live_server.url}/login/?next=/field-responses/new/")
    log_in(page)
    page.get_by_label("Source").select_option("police_referral")
    page.get_by_label("Incident or report number").fill("DPD-26-009001")
    page.get_by_label("Unit, or the referring unit or officer").fill("Officer Ruiz 4417")
    page.get_by_label("Program").select_option("CRT")
    page.get_by_label("Call type").select_option("Trespass")
    page.get_by_label("Response began at").fill(began)
    page.get_by_label("First name").fill("Marco")
    page.get_by_label("Last name").fill("Álvarez")
    page.get_by_label("Phone").fill("(919) 555-0142")
    page.get_by_role("group", name="Does the neighbor consent to a follow-up?").get_by_label(
        "Yes"
    ).check()
    page.get_by_label("Housing").check()
    page.get_by_label("Narrative").fill("Sleeping in the bus shelter; asked about the shelter.")

    Session.objects.all().delete()
    with page.expect_navigation():
        page.get_by_role("button", name="Record the field response").click()
    assert "/login/" in page.url
    assert not FieldResponse.objects.exists()
    log_in(page)
    assert page.url == f"{live_server.url}/field-responses/new/"
    assert page.get_by_label("Source").input_value() == "police_referral"
    assert page.get_by_label("Incident or report number").input_value() == "DPD-26-009001"
    assert page.get_by_label("Call type").input_value() == "Trespass"
    assert page.get_by_label("Response began at").input_value() == began
    assert page.get_by_label("Last name").input_value() == "Álvarez"
    consent = page.get_by_role("group", name="Does the neighbor consent to a follow-up?")
    assert consent.get_by_label("Yes").is_checked()
    assert page.get_by_label("Housing").is_checked()
    assert not page.get_by_label("Food").is_checked()
    assert page.get_by_label("Narrative").input_value().startswith("Sleeping in the bus")

    with page.expect_navigation():
        page.get_by_role("button", name="Record the field response").click()
    [recorded] = FieldResponse.objects.all()
    expect(page.get_by_role("status")).to_contain_text(recorded.case.number)
    assert (recorded.incident_number, recorded.call_type, recorded.recorded_by) == (
        "DPD-26-009001",
        "Trespass",
        responder,
    )
    assert list(recorded.needs) == ["housing"]
    assert recorded.follow_up_consent is True
