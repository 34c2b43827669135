"""A navigator opens the task list on a Sunday under the weekday pilot schedule: Saturday
morning's follow-up is upcoming, not overdue, and says that its 48 hours fell outside service
hours; the navigator reaches the neighbor from the row (issue 18)."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps

from heart_cases.actors import system_actor
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.models import FollowUpTask, ServiceSchedule, ServiceWindow
from navigation.services import case_assign_auto

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
NY = ZoneInfo("America/New_York")
SATURDAY_7 = datetime(2026, 11, 21, 7, 0, tzinfo=NY)
SUNDAY_NOON = datetime(2026, 11, 22, 12, 0, tzinfo=NY)


def test_a_saturday_follow_up_is_upcoming_on_sunday_and_says_why(
    live_server, page, artifacts, make_staff, make_pair
):
    # The weekday pilot schedule, whatever an earlier test left active (data only). Under
    # live_server an earlier transactional test's flush may have emptied the table without
    # the serialized data coming back: ship the schedules again as their migration does.
    if not ServiceSchedule.objects.exists():
        shipped = importlib.import_module(
            "navigation.migrations.0003_ship_pilot_and_expanded_schedules"
        )
        shipped.forwards(django_apps, None)
    ServiceSchedule.objects.filter(program="CN").update(active=False)
    assert ServiceSchedule.objects.filter(name__startswith="Pilot").update(active=True) == 1
    cad, _ = make_staff("cad", "responder", service_account=True)
    pair = make_pair("weekend")
    pair.clinician.set_password("heart-demo-weekend")
    pair.clinician.save()
    with time_machine.travel(SATURDAY_7 + timedelta(minutes=50), tick=False):
        result = field_response_record(
            actor=cad,
            data=FieldResponseInput(
                incident_number="D2026-0070001",
                unit="CRT-2",
                program="CRT",
                call_type="Trespass",
                responded_at=SATURDAY_7,
                follow_up_consent=True,
                neighbor=NeighborInput(first_name="Rosa", last_name="Mejía", phone="+19195550199"),
            ),
        )
        case_assign_auto(actor=system_actor("test"), case=result.case)
    task = FollowUpTask.objects.get(pk=result.follow_up.id)
    assert task.outside_service_hours, (
        task.work_by,
        list(ServiceWindow.objects.values_list("schedule__name", "weekday", "opens", "closes")),
    )

    with time_machine.travel(SUNDAY_NOON, tick=True):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(pair.clinician.username)
        page.get_by_label("Password").fill("heart-demo-weekend")
        page.get_by_role("button", name="Log in").click()
        row = page.locator(f"#upcoming #task-{task.pk}")
        row.wait_for()
        assert page.locator(f"#overdue #task-{task.pk}").count() == 0
        assert "48 hours fell outside service hours" in row.inner_text()
        assert "Mon Nov 23, 09:00" in row.inner_text()
        page.screenshot(path=str(artifacts / "task-list-weekend.png"), full_page=True)

        row.get_by_label("Method").select_option("phone")
        row.get_by_label("Outcome").select_option("reached")
        row.get_by_label("Notes").fill("Reached on Sunday; wants a call back on Monday")
        row.get_by_role("button", name="Log").click()
        page.wait_for_selector(".message.success")
        assert "Follow-up complete" in page.locator(".message.success").inner_text()

    task.refresh_from_db()
    assert task.status == "done"
    assert task.completed_at is not None
