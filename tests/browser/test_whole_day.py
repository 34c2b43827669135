"""Each role's day on the demo city, in Chromium (issue 13, "Done when"): a peer finds a
neighbor by a misspelt name, logs a call made two hours ago that reached the neighbor's sister
and writes a note; the clinician amends the note and refers; a supervisor links the two records
the demo holds as possible duplicates and unlinks them; a responder enters a police referral by
hand. What each person sees is asserted, and so is what the database then holds."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from heart_cases.models import Case, CaseNote, Contact, FieldResponse, Neighbor, PossibleDuplicate
from navigation.models import ContactAttempt, FollowUpTask
from navigation.selectors import case_current_pair
from navigation.services import open_task_q
from referrals.models import Referral

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "heart-demo"


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def misspelt(neighbor: Neighbor) -> str:
    """The neighbor's name with one letter of the longer name changed, as typed in a hurry."""
    first, last = neighbor.first_name, neighbor.last_name or neighbor.alias
    target = last if len(last) >= len(first) else first
    at = len(target) - 2
    wrong = "q" if target[at].lower() != "q" else "x"
    typo = target[:at] + wrong + target[at + 1 :]
    return f"{first} {typo}".strip() if target is last else f"{typo} {last}".strip()


def local_input(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_day_of_each_role_on_the_demo_city(live_server, page, artifacts):
    call_command("seed_demo", "--responses", "20", "--days", "7", stdout=io.StringIO())
    base = live_server.url
    sister = Contact.objects.select_related("neighbor").get(relationship="sister")
    neighbor = sister.neighbor
    case = Case.objects.get(neighbor=neighbor, status=Case.Status.OPEN)
    pair = case_current_pair(case)
    assert pair is not None
    task = FollowUpTask.objects.filter(open_task_q(), case=case).order_by("work_by").first()
    assert task is not None

    # The peer: finds the neighbor by a misspelt name.
    log_in(page, base, pair.peer.username)
    search = page.get_by_role("search").first
    search.get_by_role("searchbox").fill(misspelt(neighbor))
    search.get_by_role("searchbox").press("Enter")
    page.wait_for_url("**/neighbors/?q=*")
    found = page.locator("tr.neighbor-result").filter(has_text=neighbor.display_name)
    expect(found).to_have_count(1)
    found.get_by_role("link", name=neighbor.display_name).click()
    page.get_by_role("heading", name=neighbor.display_name).wait_for()
    expect(page.locator("#contacts")).to_contain_text("Marta Díaz")
    expect(page.locator("#cases")).to_contain_text(case.number)

    # ... logs the call she made two hours ago, which reached the neighbor's sister ...
    called = max(
        timezone.now() - timedelta(hours=2),
        case.field_responses.order_by("responded_at").first().responded_at + timedelta(minutes=5),
    ).replace(second=0, microsecond=0)
    page.goto(f"{base}/tasks/")
    row = page.locator(f"#task-{task.pk}")
    row.get_by_label("Time of the call").fill(local_input(called))
    row.get_by_label("Whom the call reached").select_option(label="Marta Díaz (sister)")
    row.get_by_label("Method").select_option("phone")
    row.get_by_label("Outcome").select_option(label="Reached")
    row.get_by_label("Minutes").fill("12")
    row.get_by_label("Notes").fill("Talked with her sister; he is staying with her.")
    row.get_by_role("button", name="Log").click()
    page.wait_for_load_state()
    steps = page.get_by_role("status", name=f"Case {case.number}: what next?")
    expect(steps).to_be_visible()
    attempt = ContactAttempt.objects.get(task=task)
    assert (attempt.outcome, attempt.contact_id, attempt.made_by) == (
        "reached",
        sister.pk,
        pair.peer,
    )
    assert attempt.occurred_at == called
    assert attempt.created_at - attempt.occurred_at >= timedelta(minutes=100)

    # ... and writes a note, from the next step the page offers.
    steps.get_by_role("link", name="Write a note on the case").click()
    notes = page.locator("#notes")
    notes.get_by_label("Note", exact=True).fill("Her sister Marta says he is sleeping better.")
    notes.get_by_role("button", name="Save the note").click()
    page.wait_for_load_state()
    expect(page.locator(".message.success")).to_contain_text("Note saved.")
    note = CaseNote.objects.get(case=case, author=pair.peer, text__startswith="Her sister Marta")
    page.screenshot(path=str(artifacts / "day-peer-case.png"), full_page=True)
    log_out(page)

    # The clinician: amends the note and refers the neighbor.
    log_in(page, base, pair.clinician.username)
    page.goto(f"{base}/cases/{case.pk}/")
    notes = page.locator("#notes")
    expect(notes).to_contain_text("Her sister Marta says he is sleeping better.")
    notes.get_by_label("Note", exact=True).fill("He is sleeping better since Monday, not all week.")
    notes.get_by_label("Amends an earlier note").select_option(str(note.pk))
    notes.get_by_role("button", name="Save the note").click()
    page.wait_for_load_state()
    amending = CaseNote.objects.get(case=case, amends=note)
    assert amending.author == pair.clinician
    assert CaseNote.objects.get(pk=note.pk).text == "Her sister Marta says he is sleeping better."
    page.goto(f"{base}/cases/{case.pk}/refer/?need=food")
    page.get_by_label("Community food pantry", exact=False).check()
    page.get_by_label("What the neighbor needs from the provider").fill("Groceries this week.")
    page.get_by_label("The neighbor consented to share").check()
    page.get_by_label("How").select_option("verbal")
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_selector(".message.success")
    referral = Referral.objects.filter(case=case).latest("id")
    assert (referral.status, referral.service.name, referral.requested_by) == (
        "requested",
        "Community food pantry",
        pair.clinician,
    )
    log_out(page)

    # The supervisor: links the two records the demo holds as one person, then unlinks them.
    log_in(page, base, "supervisor")
    duplicate = PossibleDuplicate.objects.filter(
        status="open", reason="same first and last name"
    ).get()
    keep, other = duplicate.neighbor, duplicate.other
    page.goto(f"{base}/possible-duplicates/")
    card = page.locator(f"#duplicate-{duplicate.pk}")
    expect(card).to_contain_text(keep.display_name)
    card.get_by_label(f"{keep.display_name} (#{keep.pk})").check()
    card.get_by_label("Why they are the same person").fill("Same man; the report's birth date")
    card.get_by_role("button", name="Link as the same person").click()
    page.wait_for_url(f"**/neighbors/{keep.pk}/")
    assert Neighbor.objects.get(pk=other.pk).linked_to_id == keep.pk
    page.locator("#linked-records").get_by_label("Not the same person because").fill(
        "His brother: different mother on the ID"
    )
    page.get_by_role("button", name="Unlink").click()
    page.wait_for_url(f"**/neighbors/{keep.pk}/")
    assert Neighbor.objects.get(pk=other.pk).linked_to_id is None
    duplicate.refresh_from_db()
    assert duplicate.status == "open"
    log_out(page)

    # The responder: enters a police referral by hand.
    log_in(page, base, "responder1")
    page.goto(f"{base}/field-responses/new/")
    page.get_by_label("Source").select_option("police_referral")
    page.get_by_label("Incident or report number").fill("DPD-26-051200")
    page.get_by_label("Unit, or the referring unit or officer").fill("Officer Ruiz 4417")
    page.get_by_label("Program").select_option("CRT")
    page.get_by_label("Call type").select_option("Nonviolent mental health crisis")
    began = timezone.localtime(timezone.now() - timedelta(hours=1))
    page.get_by_label("Response began at").fill(began.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("First name").fill("Marco")
    page.get_by_label("Last name").fill("Álvarez")
    page.get_by_label("Phone").fill("(919) 555-0166")
    consent = page.get_by_role("group", name="Does the neighbor consent to a follow-up?")
    consent.get_by_label("Yes").check()
    page.get_by_role("button", name="Record the field response").click()
    page.wait_for_load_state()
    recorded = FieldResponse.objects.get(incident_number="DPD-26-051200")
    assert (recorded.source, recorded.recorded_by.username) == ("police_referral", "responder1")
    expect(page.locator(".message.success")).to_contain_text(recorded.case.number)
    log_out(page)

    # At the end of the day the clinician closes the case from its page, in English.
    log_in(page, base, pair.clinician.username)
    page.goto(f"{base}/cases/{case.pk}/")
    form = page.locator("#close")
    form.get_by_label("Outcome").select_option(label="Connected to care")
    form.get_by_label("Closing note").fill("Food pantry this week; his sister will drive him.")
    form.get_by_role("button", name="Close the case").click()
    expect(page.locator(".message.success")).to_contain_text(f"Case {case.number} is closed")
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "connected_to_care")
    assert case.history.first().history_user == pair.clinician
