from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.browser.demo import first_open_task

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_peer_logs_an_attempt_from_the_task_list_and_sees_the_next_task(
    live_server, page, artifacts
):
    call_command("seed_demo", "--responses", "20", "--days", "7", stdout=None)
    task = first_open_task("peer1")

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "peer1")
    page.fill("#id_password", "heart-demo")
    page.click("main button[type=submit]")
    page.wait_for_selector(f"#task-{task.pk}")
    page.screenshot(path=str(artifacts / "task-list-peer.png"), full_page=True)

    row = page.locator(f"#task-{task.pk}")
    row.locator("select[name=method]").select_option("phone")
    row.locator("select[name=outcome]").select_option("no_answer")
    row.locator("input[name=notes]").fill("Rang out, no voicemail set up")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(".message.success")
    assert "Next: retry call" in page.locator(".message.success").inner_text()

    task.refresh_from_db()
    assert task.next_task is not None
    nxt = task.next_task
    assert nxt.kind == "retry_call"
    assert page.locator(f"#task-{nxt.pk}").is_visible()
    assert "Retry call" in page.locator(f"#task-{nxt.pk}").inner_text()
    assert page.locator(f"#task-{task.pk}").count() == 0
    page.screenshot(path=str(artifacts / "task-list-after-attempt.png"), full_page=True)
