"""The navigator's workspace in Chromium (issue 13, "Done when"): a peer finds a neighbor by a
misspelt name, opens the record (giving a reason, as it is another pair's), and adds the
neighbor's sister as a contact; a supervisor links two duplicate records and unlinks them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from heart_cases.models import AccessLog, Contact, Neighbor, PossibleDuplicate
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.services import pair_assign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "heart-demo-neighbors"
REASON = "Her sister called the peer line; pair B is off today"


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def intake(cad, n: int, **neighbor):
    return field_response_record(
        actor=cad,
        data=FieldResponseInput(
            incident_number=f"D2026-00{n:05d}",
            unit="CRT-2",
            program="CRT",
            call_type="Trespass",
            responded_at=timezone.now() - timedelta(hours=2),
            follow_up_consent=True,
            neighbor=NeighborInput(**neighbor),
        ),
    ).case


def test_a_peer_finds_a_neighbor_by_a_misspelt_name_and_adds_a_contact(
    live_server, page, artifacts, make_staff, make_pair
):
    cad, _ = make_staff("cad", "responder", service_account=True)
    supervisor, _ = make_staff("dana", "supervisor")
    pair_a, pair_b = make_pair("a"), make_pair("b")
    pair_a.peer.set_password(PASSWORD)
    pair_a.peer.save()
    case = intake(
        cad, 1, first_name="José", last_name="De la Cruz", phone="+19195550142", language="es"
    )
    intake(cad, 2, first_name="Ana", last_name="Diaz", phone="+19195550199")
    pair_assign(actor=supervisor, case=case, pair=pair_b, reason="pair B's case")

    log_in(page, live_server.url, pair_a.peer.username)
    search = page.get_by_role("search").first
    search.get_by_role("searchbox").fill("Jsoe Delacruz")
    search.get_by_role("searchbox").press("Enter")
    page.wait_for_url("**/neighbors/?q=*")
    results = page.locator("tr.neighbor-result")
    assert results.count() == 1
    row = results.first.inner_text()
    assert "José De la Cruz" in row
    assert "(919) 555-0142" in row
    assert "Spanish" in row
    assert case.number in row
    entry = AccessLog.objects.filter(user=pair_a.peer, action="search").get()
    assert entry.object_ids == [case.neighbor_id]
    assert "jsoe" not in entry.path.lower()

    results.first.get_by_role("link", name="José De la Cruz").click()
    page.get_by_role("heading", name="This neighbor is not your pair's").wait_for()
    assert "De la Cruz" not in page.locator("main").inner_text()
    page.get_by_label("Reason for opening this record").fill(REASON)
    page.get_by_role("button", name="Open the record").click()
    page.get_by_role("heading", name="José De la Cruz").wait_for()
    assert page.url == f"{live_server.url}/neighbors/{case.neighbor_id}/"
    assert REASON in page.get_by_role("status").first.inner_text()
    assert "Spanish" in page.locator("#identity .language").inner_text()
    assert case.number in page.locator("#cases").inner_text()
    assert AccessLog.objects.filter(
        user=pair_a.peer, object_type="neighbor", outcome="allowed", reason=REASON
    ).exists()

    form = page.locator("form.add-contact")
    form.get_by_label("Name").fill("Lucía De la Cruz")
    form.get_by_label("Relationship").fill("sister")
    form.get_by_label("Phone").fill("919 555 0177")
    form.get_by_label("Language").select_option("es")
    form.get_by_role("button", name="Add contact").click()
    page.locator("li.contact").first.wait_for()
    shown = page.locator("#contacts").inner_text()
    assert "Lucía De la Cruz" in shown
    assert "(sister)" in shown
    assert "(919) 555-0177" in shown
    contact = Contact.objects.get()
    assert (contact.neighbor_id, str(contact.phone), contact.created_by) == (
        case.neighbor_id,
        "+19195550177",
        pair_a.peer,
    )
    assert contact.history.get().history_user == pair_a.peer

    # A bad phone is refused with the field named, and nothing is written.
    form = page.locator("form.add-contact")
    form.get_by_label("Name").fill("Someone")
    form.get_by_label("Phone").fill("12")
    form.get_by_role("button", name="Add contact").click()
    page.locator("#contact-errors").wait_for()
    assert "Phone" in page.locator("#contact-errors").inner_text()
    assert Contact.objects.count() == 1
    page.screenshot(path=str(artifacts / "neighbor-page.png"), full_page=True)


def test_a_supervisor_links_two_duplicates_and_unlinks_them(
    live_server, page, artifacts, make_staff
):
    cad, _ = make_staff("cad", "responder", service_account=True)
    supervisor, _ = make_staff("dana", "supervisor", password=PASSWORD)
    first = intake(cad, 11, first_name="Rosa", last_name="Mejía", phone="+19195550111")
    second = intake(cad, 12, first_name="Rosa", last_name="Mejia", phone="+19195550112")
    duplicate = PossibleDuplicate.objects.get()

    log_in(page, live_server.url, supervisor.username)
    page.goto(f"{live_server.url}/possible-duplicates/")
    card = page.locator(f"#duplicate-{duplicate.pk}")
    text = card.inner_text()
    assert "(919) 555-0111" in text
    assert "(919) 555-0112" in text
    assert first.number in text
    assert second.number in text
    card.get_by_label(f"Rosa Mejía (#{first.neighbor_id})").check()
    card.get_by_label("Why they are the same person").fill("Same person: same DOB on both IDs")
    card.get_by_role("button", name="Link as the same person").click()
    page.wait_for_url(f"**/neighbors/{first.neighbor_id}/")
    linked = page.locator("#linked-records").inner_text()
    assert "Rosa Mejia" in linked
    assert "dana" in linked
    assert second.number in page.locator("#cases").inner_text()
    assert Neighbor.objects.get(pk=second.neighbor_id).linked_to_id == first.neighbor_id
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.resolved_by) == ("linked", supervisor)
    records_request = page.get_by_role("link", name="Records request (JSON)")
    assert records_request.get_attribute("href") == (
        f"/api/v1/neighbors/{first.neighbor_id}/export/"
    )

    page.locator("#linked-records").get_by_label("Not the same person because").fill(
        "Different mothers' names"
    )
    page.get_by_role("button", name="Unlink").click()
    page.wait_for_url(f"**/neighbors/{first.neighbor_id}/")
    assert "Rosa Mejia" not in page.locator("#linked-records").inner_text()
    gone = Neighbor.objects.get(pk=second.neighbor_id)
    assert gone.linked_to_id is None
    row = gone.history.first()
    assert row.history_user == supervisor
    assert "Different mothers" in row.history_change_reason
    duplicate.refresh_from_db()
    assert duplicate.status == "open"

    page.goto(f"{live_server.url}/possible-duplicates/")
    card = page.locator(f"#duplicate-{duplicate.pk}")
    card.get_by_label("Why they are not the same person").fill("Different birth dates")
    card.get_by_role("button", name="Not the same person").click()
    page.wait_for_url("**/possible-duplicates/")
    assert page.locator(f"#duplicate-{duplicate.pk}").count() == 0
    duplicate.refresh_from_db()
    assert duplicate.status == "dismissed"
    assert Neighbor.objects.filter(pk__in=[first.neighbor_id, second.neighbor_id]).count() == 2
    page.screenshot(path=str(artifacts / "possible-duplicates.png"), full_page=True)
