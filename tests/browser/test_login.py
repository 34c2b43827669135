from __future__ import annotations

import pytest
from django.core.management import call_command

from heart_cases.models import Case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_clinician_logs_in_and_sees_their_open_cases(live_server, page, artifacts):
    call_command("seed_demo", "--responses", "20", "--days", "7", stdout=None)
    mine = list(
        Case.objects.filter(
            status="open",
            pair_assignments__ended_at__isnull=True,
            pair_assignments__pair__clinician__username="clinician1",
        ).values_list("number", flat=True)
    )
    assert mine, "the demo gives clinician1 open cases"

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("#id_username", "clinician1")
    page.fill("#id_password", "wrong password")
    page.click("main button[type=submit]")
    assert page.locator(".error").is_visible()

    page.fill("#id_username", "clinician1")
    page.fill("#id_password", "heart-demo")
    page.click("main button[type=submit]")
    page.wait_for_selector("h1")
    assert "/tasks/" in page.url
    page.click("text=Cases")
    page.wait_for_selector("table.list")
    assert page.locator("h1").inner_text().startswith("My open cases")
    numbers = page.locator("table.list tbody tr td:first-child").all_inner_texts()
    assert sorted(numbers) == sorted(mine)
    page.screenshot(path=str(artifacts / "home-clinician.png"), full_page=True)

    page.click(f"text={mine[0]}")
    page.wait_for_selector("ol.timeline li")
    assert mine[0] in page.locator("h1").inner_text()
    page.screenshot(path=str(artifacts / "case-page.png"), full_page=True)
