"""Time limits (issue 14, item 4; WCAG 2.2.1): before the idle limit ends the session the page
warns and offers to extend it, and a note typed on the task list is still there after the
session ends and the navigator logs in again. The page's clock is Playwright's, moved on by the
test; the server's is real, with a 90 s idle limit."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command

from navigation.models import ContactAttempt
from tests.browser.demo import first_open_task

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
NOTE = "Neighbor asked for a call after 5 pm; sister's number is in the case"


def log_in(page: Any, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("heart-demo")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def session_of(page: Any) -> Session:
    [key] = [c["value"] for c in page.context.cookies() if c["name"] == "sessionid"]
    return Session.objects.get(session_key=key)


def test_the_warning_extends_the_session_and_a_typed_note_outlives_it(live_server, page, settings):
    settings.SESSION_COOKIE_AGE = 90
    call_command("seed_demo", "--responses", "20", "--days", "7", stdout=io.StringIO())
    task = first_open_task("peer1")
    page.clock.install()
    page.goto(f"{live_server.url}/login/?next=/tasks/")
    log_in(page, "peer1")
    row = page.locator(f"#task-{task.pk}")
    row.get_by_label("Notes").fill(NOTE)

    # Leaving the page and coming back keeps the note (this tab's sessionStorage).
    page.goto(f"{live_server.url}/notifications/")
    page.goto(f"{live_server.url}/tasks/")
    assert row.get_by_label("Notes").input_value() == NOTE
    row.get_by_label("Notes").focus()

    # Some time later (22.5 s before the 90 s end) the warning shows, its button focused.
    expiry = session_of(page).expire_date
    warning = page.get_by_role("alertdialog", name="Your session is about to end")
    assert not warning.is_visible()
    page.clock.run_for(70_000)
    warning.wait_for()
    stay = warning.get_by_role("button", name="Stay logged in")
    assert stay.evaluate("element => element === document.activeElement")
    with page.expect_response(lambda r: r.url.endswith("/session/extend/")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    warning.wait_for(state="hidden")
    assert session_of(page).expire_date > expiry
    # Focus goes back to where the navigator was typing.
    assert row.get_by_label("Notes").evaluate("element => element === document.activeElement")

    # Then nobody answers it: the session ends on the server, the page goes to the login page,
    # and after logging in again the note is where it was typed.
    Session.objects.all().delete()
    with page.expect_navigation():
        page.clock.run_for(95_000)
    assert "/login/" in page.url
    log_in(page, "peer1")
    assert page.url.endswith("/tasks/")
    assert row.get_by_label("Notes").input_value() == NOTE

    # Once the attempt is logged the draft goes.
    row.get_by_label("Outcome").select_option("reached")
    row.get_by_role("button", name="Log").click()
    page.get_by_role("status").get_by_text("Logged").wait_for()
    assert ContactAttempt.objects.get(task=task).notes == NOTE
    page.wait_for_function(
        "!Object.keys(sessionStorage).some(key => key.startsWith('heart-draft'))", timeout=5000
    )
