"""The attempt form of the task list (issue #13 item 6): the time of the call (now by default,
refused in the future or before the field response, with the API's words), a retry's earliest
time and 48-hour deadline, a confirmation before an outcome that closes the case, the next steps
after "reached", and whom the call reached. And the case page's close form."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from heart_cases.actors import system_actor
from heart_cases.models import AccessLog, Case, Contact
from navigation.models import ContactAttempt, FollowUpTask
from navigation.services import attempt_record, case_assign_auto

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


@pytest.fixture
def assigned(make_pair, open_case):
    """A case whose field response was at 08:00 Monday, assigned to pair a."""
    pair = make_pair("a")
    with time_machine.travel(MONDAY_10 - timedelta(hours=1), tick=False):
        result = open_case(responded_at=MONDAY_10 - timedelta(hours=2))
        case_assign_auto(actor=system_actor("test"), case=result.case)
    return result, pair


@pytest.fixture
def at_ten():
    with time_machine.travel(MONDAY_10, tick=False):
        yield


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, task_id: int, **fields):
    body = {"method": "phone", "outcome": "reached", **fields}
    return client.post(f"/tasks/{task_id}/attempts/", body)


def form_of(html: str, task_id: int) -> str:
    start = html.index(f'action="/tasks/{task_id}/attempts/"')
    return html[start : html.index("</form>", start)]


def add_contact(case: Case, *, name: str, may_contact: bool = True) -> Contact:
    return Contact.objects.create(
        neighbor=case.neighbor,
        name=name,
        relationship="sister",
        phone="+19195550177",
        may_contact=may_contact,
        created_by=system_actor("test"),
    )


# --- the time of the call ----------------------------------------------------------------


def test_the_time_of_the_call_defaults_to_now_on_the_local_clock(assigned, at_ten):
    result, pair = assigned
    html = logged_in(pair.peer).get("/tasks/").content.decode()
    form = form_of(html, result.follow_up.id)
    label = f'<label for="task-{result.follow_up.id}-occurred-at">Time of the call</label>'
    assert label in form
    assert 'type="datetime-local" value="2026-11-23T10:00"' in form


def test_a_local_time_of_the_call_is_kept_in_the_programs_time_zone(assigned, at_ten):
    result, pair = assigned
    response = post(logged_in(pair.peer), result.follow_up.id, occurred_at="2026-11-23T09:30")
    assert response.status_code == 302
    assert ContactAttempt.objects.get().occurred_at == datetime(2026, 11, 23, 9, 30, tzinfo=NY)


def test_a_call_in_the_future_is_refused_with_the_apis_words_and_writes_nothing(assigned, at_ten):
    result, pair = assigned
    response = post(
        logged_in(pair.peer),
        result.follow_up.id,
        occurred_at="2026-11-23T10:30",
        notes="kept as typed",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Time of the call: This is more than 5 minutes ahead of the server&#x27;s clock" in html
    form = form_of(html, result.follow_up.id)
    assert 'aria-invalid="true"' in form
    assert 'value="2026-11-23T10:30"' in form
    assert 'value="kept as typed"' in form
    assert not ContactAttempt.objects.exists()
    assert FollowUpTask.objects.get(pk=result.follow_up.id).status == "pending"


def test_a_call_within_the_clock_skew_is_taken(assigned, at_ten):
    result, pair = assigned
    response = post(logged_in(pair.peer), result.follow_up.id, occurred_at="2026-11-23T10:04")
    assert response.status_code == 302
    assert ContactAttempt.objects.count() == 1


def test_a_call_before_the_field_response_is_refused_and_writes_nothing(assigned, at_ten):
    result, pair = assigned
    response = post(logged_in(pair.peer), result.follow_up.id, occurred_at="2026-11-23T07:59")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Time of the call: This is before the field response (2026-11-23 08:00 EST)" in html
    assert not ContactAttempt.objects.exists()


def test_a_time_that_is_not_a_time_is_a_400_naming_the_field(assigned, at_ten):
    result, pair = assigned
    response = post(logged_in(pair.peer), result.follow_up.id, occurred_at="next tuesday")
    assert response.status_code == 400
    assert "Time of the call:" in response.content.decode()
    assert not ContactAttempt.objects.exists()


def test_an_attempt_without_an_outcome_re_shows_the_form_with_the_error(assigned, at_ten):
    result, pair = assigned
    response = post(logged_in(pair.peer), result.follow_up.id, outcome="", notes="hm")
    assert response.status_code == 400
    form = form_of(response.content.decode(), result.follow_up.id)
    assert f'id="task-{result.follow_up.id}-outcome-error"' in form
    assert not ContactAttempt.objects.exists()


# --- a retry's earliest time and deadline -------------------------------------------------


def test_a_retry_shows_its_earliest_time_and_the_48_hour_deadline(assigned, at_ten):
    result, pair = assigned
    first = attempt_record(
        actor=pair.peer,
        task=FollowUpTask.objects.get(pk=result.follow_up.id),
        method="phone",
        outcome="no_answer",
        occurred_at=MONDAY_10,
    )
    retry = first.next_task
    assert retry is not None
    assert retry.kind == "retry_call"
    html = logged_in(pair.peer).get("/tasks/").content.decode()
    row = html[html.index(f'id="task-{retry.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Earliest sensible time to call again: <strong>Mon Nov 23, 14:00</strong>" in row
    assert "(4 h 0 min left)" in row
    deadline = FollowUpTask.objects.get(pk=result.follow_up.id).deadline
    assert deadline == datetime(2026, 11, 25, 8, 0, tzinfo=NY)  # 48 hours after the response
    assert "48-hour deadline: <strong>Wed Nov 25, 08:00</strong>" in row


# --- outcomes that close the case ---------------------------------------------------------


def test_declined_asks_to_confirm_and_records_nothing_until_confirmed(assigned, at_ten):
    result, pair = assigned
    client = logged_in(pair.peer)
    response = post(client, result.follow_up.id, outcome="declined", notes="not now")
    assert response.status_code == 200
    html = response.content.decode()
    number = result.case.number
    assert f"this closes case {number} as “Follow-up declined” and ends the follow-ups" in html
    assert 'name="confirm" value="yes"' in html
    assert "Confirm and close the case" in html
    assert not ContactAttempt.objects.exists()
    assert Case.objects.get(pk=result.case.pk).status == "open"
    assert AccessLog.objects.filter(object_type="task", case_id=result.case.pk).exists()

    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    response = client.post(f"/tasks/{result.follow_up.id}/attempts/", hidden)
    assert response.status_code == 302
    case = Case.objects.get(pk=result.case.pk)
    assert (case.status, case.outcome) == ("closed", "follow_up_declined")
    attempt = ContactAttempt.objects.get()
    assert (attempt.outcome, attempt.notes, attempt.occurred_at) == (
        "declined",
        "not now",
        MONDAY_10,
    )
    assert case.history.latest().history_user == pair.peer
    page = client.get("/tasks/").content.decode()
    assert f"Logged: Declined. Case {number} is closed." in page


def test_the_last_failed_visit_asks_to_confirm_but_the_first_does_not(assigned, at_ten):
    result, pair = assigned
    client = logged_in(pair.peer)
    task = FollowUpTask.objects.get(pk=result.follow_up.id)
    step = attempt_record(
        actor=pair.peer, task=task, method="phone", outcome="wrong_number", occurred_at=MONDAY_10
    )
    visit = step.next_task
    assert visit is not None
    response = post(client, visit.pk, method="in_person", outcome="no_answer")
    assert response.status_code == 302  # the first failed visit: another visit follows
    second = FollowUpTask.objects.get(pk=visit.pk).next_task
    assert second is not None
    assert ContactAttempt.objects.count() == 2

    response = post(client, second.pk, method="in_person", outcome="no_answer")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"this closes case {result.case.number} as “Unable to reach”" in html
    assert ContactAttempt.objects.count() == 2
    assert Case.objects.get(pk=result.case.pk).status == "open"

    response = post(client, second.pk, method="in_person", outcome="no_answer", confirm="yes")
    assert response.status_code == 302
    case = Case.objects.get(pk=result.case.pk)
    assert (case.status, case.outcome) == ("closed", "unable_to_reach")


def test_an_outcome_that_does_not_close_the_case_needs_no_confirmation(assigned, at_ten):
    result, pair = assigned
    response = post(logged_in(pair.peer), result.follow_up.id, outcome="no_answer")
    assert response.status_code == 302
    assert ContactAttempt.objects.get().outcome == "no_answer"


# --- after "reached" -----------------------------------------------------------------------


def test_after_reached_the_page_offers_the_cases_next_steps_once(assigned, at_ten):
    result, pair = assigned
    client = logged_in(pair.peer)
    response = post(client, result.follow_up.id)
    assert response.status_code == 302
    assert response["Location"] == "/tasks/#next-steps"
    html = client.get("/tasks/").content.decode()
    section = html[html.index('id="next-steps"') :]
    section = section[: section.index("</section>")]
    case_id = result.case.pk
    assert 'role="status"' in section
    assert f"Case {result.case.number}: what next?" in section
    assert f'href="/cases/{case_id}/refer/"' in section
    assert f'href="/cases/{case_id}/#notes"' in section
    assert f'href="/cases/{case_id}/#close"' in section
    assert "Logged: Reached. Follow-up complete." in html
    assert 'id="next-steps"' not in client.get("/tasks/").content.decode()


# --- whom the call reached ---------------------------------------------------------------


def test_the_form_offers_only_the_contacts_the_pair_may_call(assigned, at_ten):
    result, pair = assigned
    add_contact(result.case, name="Marisa")
    add_contact(result.case, name="Tomás", may_contact=False)
    form = form_of(logged_in(pair.peer).get("/tasks/").content.decode(), result.follow_up.id)
    assert "Whom the call reached" in form
    assert "Marisa (sister)" in form
    assert "Tomás" not in form


def test_without_contacts_the_form_does_not_ask_whom_the_call_reached(assigned, at_ten):
    result, pair = assigned
    form = form_of(logged_in(pair.peer).get("/tasks/").content.decode(), result.follow_up.id)
    assert "Whom the call reached" not in form


def test_a_call_that_reached_a_contact_is_recorded_as_such(assigned, at_ten):
    result, pair = assigned
    sister = add_contact(result.case, name="Marisa")
    response = post(logged_in(pair.peer), result.follow_up.id, contact=str(sister.pk))
    assert response.status_code == 302
    assert ContactAttempt.objects.get().contact == sister


def test_a_contact_who_may_not_be_called_is_refused_and_nothing_is_written(assigned, at_ten):
    result, pair = assigned
    brother = add_contact(result.case, name="Tomás", may_contact=False)
    response = post(logged_in(pair.peer), result.follow_up.id, contact=str(brother.pk))
    assert response.status_code == 400
    assert "Tomás may not be contacted about the neighbor." in response.content.decode()
    assert not ContactAttempt.objects.exists()


# --- closing from the case page ----------------------------------------------------------


def test_the_pair_closes_a_case_from_its_page_with_any_outcome_and_a_note(assigned, at_ten):
    result, pair = assigned
    client = logged_in(pair.clinician)
    page = client.get(f"/cases/{result.case.pk}/").content.decode()
    assert 'id="close"' in page
    assert f'action="/cases/{result.case.pk}/close/"' in page
    response = client.post(
        f"/cases/{result.case.pk}/close/", {"outcome": "moved_away", "note": "Moved to Durham"}
    )
    assert response.status_code == 302
    case = Case.objects.get(pk=result.case.pk)
    assert (case.status, case.outcome, case.outcome_note) == (
        "closed",
        "moved_away",
        "Moved to Durham",
    )
    assert case.history.latest().history_user == pair.clinician
    assert FollowUpTask.objects.get(pk=result.follow_up.id).status == "cancelled"
    page = client.get(f"/cases/{result.case.pk}/").content.decode()
    assert f"Case {case.number} is closed: Moved away." in page
    assert 'id="close"' not in page


def test_a_supervisor_closes_any_case_from_its_page(assigned, supervisor, at_ten):
    result, _ = assigned
    boss, _ = supervisor
    response = logged_in(boss).post(f"/cases/{result.case.pk}/close/", {"outcome": "other"})
    assert response.status_code == 302
    assert Case.objects.get(pk=result.case.pk).outcome == "other"


def test_closing_without_a_known_outcome_says_so_and_closes_nothing(assigned, at_ten):
    result, pair = assigned
    client = logged_in(pair.peer)
    response = client.post(f"/cases/{result.case.pk}/close/", {"outcome": "vanished"}, follow=True)
    assert "The case was not closed. Outcome:" in response.content.decode()
    assert Case.objects.get(pk=result.case.pk).status == "open"


def test_another_pairs_clinician_must_give_a_reason_before_closing(assigned, make_pair, at_ten):
    result, _ = assigned
    other = make_pair("b")
    response = logged_in(other.clinician).post(
        f"/cases/{result.case.pk}/close/", {"outcome": "other"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{result.case.pk}/"
    assert Case.objects.get(pk=result.case.pk).status == "open"


@pytest.mark.parametrize("role", ["provider", "analyst", "responder"])
def test_other_roles_cannot_close_a_case_from_the_page(assigned, make_staff, role, at_ten):
    result, _ = assigned
    user, _ = make_staff(f"{role}-x", role)
    response = logged_in(user).post(f"/cases/{result.case.pk}/close/", {"outcome": "other"})
    assert response.status_code in (403, 404)
    assert Case.objects.get(pk=result.case.pk).status == "open"


def test_an_outcome_that_does_not_fit_a_visit_is_named_by_its_label(assigned, at_ten):
    result, pair = assigned
    response = post(
        logged_in(pair.peer), result.follow_up.id, method="in_person", outcome="left_voicemail"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "&#x27;Left voicemail&#x27; does not apply to a visit in person." in html
    assert "left_voicemail&#x27;" not in html
    assert not ContactAttempt.objects.exists()
