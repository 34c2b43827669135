"""A peer opens a case of another pair: the page asks why before showing anything of it; with a
reason it shows the case. The supervisor then finds that read, flagged, with its reason, in the
access log (issue 16, "Done when")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from heart_cases.models import AccessLog
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.services import pair_assign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "heart-demo-break-glass"
REASON = "Neighbor called the peer line at 7 pm; pair B is off duty"


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def test_a_peer_breaks_the_glass_and_the_supervisor_sees_it_flagged(
    live_server, page, artifacts, make_staff, make_pair
):
    cad, _ = make_staff("cad", "responder", service_account=True)
    supervisor, _ = make_staff("dana", "supervisor", password=PASSWORD)
    pair_a, pair_b = make_pair("a"), make_pair("b")
    pair_a.peer.set_password(PASSWORD)
    pair_a.peer.save()
    case = field_response_record(
        actor=cad,
        data=FieldResponseInput(
            incident_number="D2026-0090001",
            unit="CRT-2",
            program="CRT",
            call_type="Trespass",
            responded_at=timezone.now() - timedelta(hours=2),
            follow_up_consent=True,
            neighbor=NeighborInput(first_name="Rosa", last_name="Mejía", phone="+19195550199"),
        ),
    ).case
    pair_assign(actor=supervisor, case=case, pair=pair_b, reason="pair B's case")

    log_in(page, live_server.url, pair_a.peer.username)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.get_by_role("heading", name="This case is not your pair's").wait_for()
    assert "Rosa" not in page.content()
    assert case.number not in page.content()
    page.get_by_label("Reason for opening this case").fill(REASON)
    page.get_by_role("button", name="Open the case").click()
    page.get_by_role("heading", name="Neighbor").wait_for()
    assert page.url == f"{live_server.url}/cases/{case.pk}/"  # no reason in the address
    assert "Rosa Mejía" in page.locator("main").inner_text()
    assert REASON in page.get_by_role("status").inner_text()
    read = AccessLog.objects.get(user=pair_a.peer, outcome="allowed", case_id=case.pk)
    assert read.reason == REASON

    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server.url, supervisor.username)
    page.get_by_role("link", name="Access log").click()
    page.get_by_label("Break-the-glass reads only").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/access-log/?*break_glass=true*")
    rows = page.get_by_role("row").filter(has_text=REASON)
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert pair_a.peer.username in row
    assert "Break the glass" in row
    assert case.number in row
    assert page.get_by_role("row").filter(has_text=pair_b.peer.username).count() == 0
    assert (
        page.get_by_role("link", name="Download these entries as CSV")
        .get_attribute("href")
        .endswith("break_glass=true")
    )
    page.screenshot(path=str(artifacts / "access-log-break-glass.png"), full_page=True)
