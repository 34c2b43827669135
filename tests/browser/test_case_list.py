"""The cases list in Chromium (issue 13): a clinician filters by status and by the dates a case
opened, sorts, and opens a case from the list; then the same page in Spanish, with a bad range
refused in Spanish."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from heart_cases.actors import system_actor
from heart_cases.models import AccessLog
from heart_cases.services import (
    FieldResponseInput,
    NeighborInput,
    case_close,
    field_response_record,
)
from navigation.services import pair_assign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "heart-demo-case-list"
LOCAL = ZoneInfo("America/New_York")


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def open_case(cad: Any, n: int, opened: datetime, first_name: str, program: str = "CRT") -> Any:
    with time_machine.travel(opened, tick=False):
        return field_response_record(
            actor=cad,
            data=FieldResponseInput(
                incident_number=f"B-{n}",
                unit="CRT-2",
                program=program,
                call_type="Trespass" if program == "CRT" else "Threat",
                responded_at=opened - timedelta(minutes=20),
                follow_up_consent=True,
                neighbor=NeighborInput(
                    first_name=first_name, last_name="Lopez", phone=f"+1919555{n:04d}"
                ),
            ),
        ).case


@pytest.fixture
def three_cases(make_staff, make_pair):
    cad, _ = make_staff("cad", "responder", service_account=True)
    pair = make_pair("a")
    pair.clinician.set_password(PASSWORD)
    pair.clinician.save()
    day = datetime(2026, 10, 1, 9, tzinfo=LOCAL)
    first = open_case(cad, 1, day, "Alma")
    second = open_case(cad, 2, day + timedelta(days=10), "Beto", program="COR")
    third = open_case(cad, 3, day + timedelta(days=20), "Cira")
    actor = system_actor("t")
    for case in (first, second, third):
        pair_assign(actor=actor, case=case, pair=pair, reason="t")
    with time_machine.travel(day + timedelta(days=12), tick=False):
        second = case_close(actor=actor, case=second, outcome="connected_to_care")
    return pair, first, second, third


def rows(page: Any) -> list[str]:
    return page.locator("table.list tbody tr").all_inner_texts()


def test_a_clinician_filters_sorts_and_opens_a_case_from_the_list(
    live_server, page, artifacts, three_cases
):
    pair, first, second, third = three_cases
    log_in(page, live_server.url, pair.clinician.username)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Cases", exact=True
        ).click()
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    listed = rows(page)
    assert len(listed) == 3
    for row, case in zip(listed, (third, second, first), strict=True):
        assert case.number in row

    page.get_by_label("Status").select_option(label="Closed")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    listed = rows(page)
    assert len(listed) == 1
    assert second.number in listed[0]
    assert "Connected to care" in listed[0]
    assert "Co-Response" in listed[0]
    assert "Closed" in listed[0]

    page.get_by_label("Status").select_option(label="Any status")
    page.get_by_label("Opened from").fill("2026-10-01")
    page.get_by_label("Opened to").fill("2026-10-11")
    page.get_by_label("Sort by").select_option(label="Oldest opened first")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    listed = rows(page)
    assert len(listed) == 2
    assert first.number in listed[0]
    assert second.number in listed[1]
    assert "Thu Oct 1, 09:00" in listed[0]  # the local time the case opened
    expect(page.get_by_label("Opened from")).to_have_value("2026-10-01")
    expect(page.get_by_label("Sort by")).to_have_value("opened_at")
    page.screenshot(path=str(artifacts / "case-list.png"), full_page=True)
    entry = AccessLog.objects.filter(action="list", object_type="case").order_by("-id").first()
    assert entry is not None
    assert entry.path == "/cases/"
    assert entry.object_ids == [first.pk, second.pk]

    with page.expect_navigation():
        page.get_by_role("link", name=first.number).click()
    assert page.url.endswith(f"/cases/{first.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(first.number)


def test_the_case_list_in_spanish_refuses_a_reversed_range(live_server, page, three_cases):
    pair, first, _, third = three_cases
    log_in(page, live_server.url, pair.clinician.username)
    menu = page.locator("header form.language-menu")
    with page.expect_navigation():
        menu.get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Principal").get_by_role(
            "link", name="Casos", exact=True
        ).click()
    expect(page.get_by_role("heading", name="Casos", exact=True)).to_be_visible()
    page.get_by_label("Estado").select_option(label="Abierto")
    page.get_by_label("Ordenar por").select_option(label="Número de caso, descendente")
    with page.expect_navigation():
        page.get_by_role("button", name="Mostrar").click()
    listed = rows(page)
    assert len(listed) == 2
    assert third.number in listed[0]
    assert first.number in listed[1]
    assert "Abierto" in listed[0]

    page.get_by_label("Abierto desde").fill("2026-10-20")
    page.get_by_label("Abierto hasta").fill("2026-10-02")
    with page.expect_navigation():
        page.get_by_role("button", name="Mostrar").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Abierto desde: El inicio del intervalo es posterior a su final.")
    expect(page.get_by_label("Abierto desde")).to_have_attribute("aria-invalid", "true")
    assert rows(page) == ["Corrija los filtros para ver los casos."]
