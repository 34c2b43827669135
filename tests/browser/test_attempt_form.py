"""The attempt form in Chromium (issue #13 item 6): the time of the call refused in the future
and then taken; "declined" asks to confirm and closes the case only then; after "reached" the
case's next steps are offered (in Spanish); a retry shows its earliest time and its 48-hour
deadline; and the whole form works from the keyboard alone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from heart_cases.actors import system_actor
from heart_cases.models import Case
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.models import ContactAttempt, FollowUpTask
from navigation.services import pair_assign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "heart-demo-attempts"


@pytest.fixture
def follow_up(make_staff, make_pair) -> tuple[Any, FollowUpTask]:
    """A field response an hour and a half ago, its case on pair "form"; the peer logs in."""
    cad, _ = make_staff("cad", "responder", service_account=True)
    pair = make_pair("form")
    pair.peer.set_password(PASSWORD)
    pair.peer.save()
    result = field_response_record(
        actor=cad,
        data=FieldResponseInput(
            incident_number="D2026-0120001",
            unit="CRT-3",
            program="CRT",
            call_type="Welfare check",
            responded_at=timezone.now() - timedelta(minutes=90),
            follow_up_consent=True,
            neighbor=NeighborInput(first_name="Ana", last_name="Ruiz", phone="+19195550123"),
        ),
    )
    pair_assign(actor=system_actor("test"), case=result.case, pair=pair, reason="test")
    return pair, FollowUpTask.objects.get(pk=result.follow_up.id)


def log_in(page: Any, url: str, username: str, *, language: str | None = None) -> None:
    if language:
        site = re.match(r"https?://[^/]+", url).group(0)  # type: ignore[union-attr]
        page.context.add_cookies([{"name": "django_language", "value": language, "url": site}])
    page.goto(f"{url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")


def local_input(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def tab_until(page: Any, target: Any, *, most: int = 10) -> None:
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError("Tab never reached the field")


def test_declined_is_confirmed_before_the_case_closes(live_server, page, artifacts, follow_up):
    pair, task = follow_up
    log_in(page, live_server.url, pair.peer.username)
    row = page.locator(f"#task-{task.pk}")
    row.wait_for()
    time_of_call = row.get_by_label("Time of the call")
    expect(time_of_call).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$"))

    # A time an hour ahead: the server's words, the form again, nothing written.
    time_of_call.fill(local_input(timezone.now() + timedelta(hours=1)))
    row.get_by_label("Outcome").select_option(label="Declined")
    row.get_by_label("Notes").fill("Does not want calls")
    row.get_by_role("button", name="Log").click()
    row = page.locator(f"#task-{task.pk}")
    expect(page.get_by_role("alert")).to_contain_text("Not logged: Time of the call:")
    expect(row.locator("p.error")).to_be_visible()
    expect(row).to_contain_text("minutes ahead of the server's clock")
    expect(row.get_by_label("Time of the call")).to_have_attribute("aria-invalid", "true")
    assert not ContactAttempt.objects.exists()

    called = timezone.now() - timedelta(minutes=20)
    row.get_by_label("Time of the call").fill(local_input(called))
    row.get_by_label("Outcome").select_option(label="Declined")
    row.get_by_role("button", name="Log").click()
    expect(page.get_by_role("heading", name="Confirm: this closes the case")).to_be_visible()
    case = task.case
    expect(page.locator("main")).to_contain_text(
        f"this closes case {case.number} as “Follow-up declined” and ends the follow-ups"
    )
    page.screenshot(path=str(artifacts / "attempt-confirm-declined.png"), full_page=True)
    assert Case.objects.get(pk=case.pk).status == "open"
    assert not ContactAttempt.objects.exists()

    page.get_by_role("button", name="Confirm and close the case").click()
    expect(page.locator(".message.success")).to_contain_text(f"Case {case.number} is closed.")
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "follow_up_declined")
    attempt = ContactAttempt.objects.get()
    assert attempt.outcome == "declined"
    assert attempt.notes == "Does not want calls"
    assert attempt.occurred_at == called.replace(second=0, microsecond=0)


def test_after_reached_the_next_steps_are_offered_in_spanish(
    live_server, page, artifacts, follow_up
):
    pair, task = follow_up
    log_in(page, live_server.url, pair.peer.username, language="es")
    row = page.locator(f"#task-{task.pk}")
    row.wait_for()
    row.get_by_label("Resultado").select_option(label="Se le localizó")
    row.get_by_role("button", name="Registrar").click()
    steps = page.locator("#next-steps")
    expect(steps).to_have_attribute("role", "status")
    expect(steps).to_contain_text(f"Caso {task.case.number}: ¿qué sigue?")
    refer = steps.get_by_role("link", name="Referir al vecino a un proveedor")
    expect(refer).to_have_attribute("href", f"/cases/{task.case_id}/refer/")
    expect(steps.get_by_role("link", name="Escribir una nota en el caso")).to_be_visible()
    expect(steps.get_by_role("link", name="Cerrar el caso")).to_be_visible()
    page.screenshot(path=str(artifacts / "attempt-next-steps-es.png"), full_page=True)
    task.refresh_from_db()
    assert task.status == "done"

    # The close link lands on the case page's close form, which closes with any outcome.
    steps.get_by_role("link", name="Cerrar el caso").click()
    form = page.locator("#close")
    form.get_by_label("Resultado").select_option(label="Conectado a servicios")
    form.get_by_label("Nota de cierre").fill("Conectado con su clínica")
    form.get_by_role("button", name="Cerrar el caso").click()
    expect(page.locator(".message.success")).to_contain_text(f"El caso {task.case.number}")
    case = Case.objects.get(pk=task.case_id)
    assert (case.status, case.outcome, case.outcome_note) == (
        "closed",
        "connected_to_care",
        "Conectado con su clínica",
    )


def test_a_retry_shows_its_earliest_time_and_the_48_hour_deadline(live_server, page, follow_up):
    pair, task = follow_up
    log_in(page, live_server.url, pair.peer.username)
    row = page.locator(f"#task-{task.pk}")
    row.wait_for()
    row.get_by_label("Outcome").select_option(label="No answer")
    row.get_by_role("button", name="Log").click()
    expect(page.locator(".message.success")).to_contain_text("Next: retry call")
    task.refresh_from_db()
    retry = task.next_task
    assert retry is not None
    assert retry.due_at is not None
    window = page.locator(f"#task-{retry.pk}-window")
    expect(window).to_contain_text("Earliest sensible time to call again")
    expect(window).to_contain_text("48-hour deadline")
    deadline = timezone.localtime(task.deadline)
    expect(window).to_contain_text(f"{deadline:%H:%M}")
    expect(window).to_contain_text(f"{timezone.localtime(retry.due_at):%H:%M}")


def test_the_attempt_form_works_from_the_keyboard_alone(live_server, page, follow_up):
    pair, task = follow_up
    log_in(page, live_server.url, pair.peer.username)
    row = page.locator(f"#task-{task.pk}")
    row.wait_for()
    # The time of the call first, keeping its default (now); Chromium steps through its date
    # and time parts one Tab each.
    row.get_by_label("Time of the call").focus()
    tab_until(page, row.get_by_label("Method"))
    page.keyboard.press("Tab")
    expect(row.get_by_label("Outcome")).to_be_focused()
    page.keyboard.type("Reached")
    expect(row.get_by_label("Outcome")).to_have_value("reached")
    page.keyboard.press("Tab")
    expect(row.get_by_label("Minutes")).to_be_focused()
    page.keyboard.type("12")
    page.keyboard.press("Tab")
    page.keyboard.type("Talked about housing")
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Log")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#next-steps")).to_be_visible()
    attempt = ContactAttempt.objects.get()
    assert (attempt.outcome, attempt.duration_minutes, attempt.notes) == (
        "reached",
        12,
        "Talked about housing",
    )
    assert timezone.now() - attempt.occurred_at < timedelta(minutes=5)
