"""The beat sweep: missed and escalated once, reminded once, unassigned picked up, lost
emails re-sent; two sweeps at once do nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from heart_cases.actors import system_actor
from navigation import sweeps
from navigation.models import FollowUpTask, Notice, Notification, PairAssignment
from navigation.services import case_assign_auto
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


@pytest.fixture
def case_on_monday(make_pair, open_case, make_staff):
    make_staff("boss", "supervisor", email="boss@example.org")
    pair = make_pair("a")
    pair.clinician.email = "maria@example.org"
    pair.clinician.save()
    with time_machine.travel(MONDAY_10):
        result = open_case(responded_at=MONDAY_10 - timedelta(hours=1))
        case_assign_auto(actor=system_actor("test"), case=result.case)
    return result, pair


def run_sweep(at):
    with time_machine.travel(at):
        return sweeps.sweep(now=at)


def test_a_passed_deadline_marks_the_follow_up_missed_and_escalates_once(case_on_monday):
    result, _ = case_on_monday
    deadline = MONDAY_10 - timedelta(hours=1) + timedelta(hours=48)
    run_sweep(deadline - timedelta(minutes=1))
    assert FollowUpTask.objects.get(pk=result.follow_up.id).status == "pending"
    run_sweep(deadline + timedelta(minutes=1))
    run_sweep(deadline + timedelta(minutes=2))
    task = FollowUpTask.objects.get(pk=result.follow_up.id)
    assert task.status == "missed"
    escalations = Notice.objects.filter(kind="missed")
    assert escalations.count() == 1
    notified = Notification.objects.filter(notice__kind="missed")
    assert [n.recipient.username for n in notified] == ["boss"]
    history = FollowUpTask.history.filter(id=task.pk).order_by("history_id").last()
    assert history.history_user.username == "system:navigation.sweep_follow_ups"
    # Missed stays on the list until resolved.
    from navigation.selectors import open_tasks

    assert open_tasks().filter(pk=task.pk).exists()


def test_a_beat_stopped_for_a_long_time_escalates_each_overdue_follow_up_once(
    case_on_monday, open_case
):
    with time_machine.travel(MONDAY_10):
        more = [open_case(responded_at=MONDAY_10 - timedelta(hours=1)) for _ in range(3)]
    later = MONDAY_10 + timedelta(days=4)
    run_sweep(later)
    run_sweep(later + timedelta(minutes=1))
    assert Notice.objects.filter(kind="missed").count() == 1 + len(more)


def test_the_pair_is_reminded_once_within_two_service_hours_of_work_by(case_on_monday):
    result, pair = case_on_monday
    task = FollowUpTask.objects.get(pk=result.follow_up.id)
    # Work-by Wednesday 09:00 (the deadline), opening time: two service hours before it is
    # Tuesday 17:00 (the evening and night are not service time).
    assert task.work_by == datetime(2026, 11, 25, 9, 0, tzinfo=NY)
    run_sweep(datetime(2026, 11, 24, 16, 55, tzinfo=NY))
    assert not Notice.objects.filter(kind="reminder").exists()
    run_sweep(datetime(2026, 11, 24, 17, 5, tzinfo=NY))
    run_sweep(datetime(2026, 11, 24, 17, 6, tzinfo=NY))
    reminders = Notification.objects.filter(notice__kind="reminder")
    assert {n.recipient for n in reminders} == {pair.clinician, pair.peer}


def test_reminders_are_in_the_recipients_language(case_on_monday, make_staff):
    _, pair = case_on_monday
    profile = pair.peer.staff_profile
    profile.languages = ["es", "en"]
    profile.save()
    run_sweep(datetime(2026, 11, 24, 18, 30, tzinfo=NY))
    peer_note = Notification.objects.get(notice__kind="reminder", recipient=pair.peer)
    clinician_note = Notification.objects.get(notice__kind="reminder", recipient=pair.clinician)
    assert peer_note.language == "es"
    assert peer_note.title.startswith("Seguimiento pendiente")
    assert "mié" in peer_note.title.lower()
    assert clinician_note.title.startswith("Follow-up due by Wed")


def test_notices_are_plain_text_not_html(case_on_monday):
    result, pair = case_on_monday
    neighbor = result.case.neighbor
    neighbor.first_name, neighbor.last_name = "Ana & Luis", "O'Brien <Jr>"
    neighbor.save()
    run_sweep(datetime(2026, 11, 24, 18, 30, tzinfo=NY))
    note = Notification.objects.get(notice__kind="reminder", recipient=pair.clinician)
    assert note.title == "Follow-up due by Wed Nov 25, 09:00: Ana & Luis O'Brien <Jr>"
    assert f"for case {result.case.number} must be worked by Wed Nov 25, 09:00" in note.body
    assert "(deadline Wed Nov 25, 09:00)" in note.body


def test_the_sweep_assigns_cases_nobody_assigned(make_pair, open_case, expanded_hours):
    result = open_case()
    assert not PairAssignment.objects.filter(case=result.case).exists()
    make_pair("late-joiner")
    sweeps.sweep(now=result.case.opened_at + timedelta(minutes=1))
    assert PairAssignment.objects.filter(case=result.case, ended_at__isnull=True).exists()


def test_emails_go_out_once_and_lost_ones_are_resent_by_the_sweep(case_on_monday):
    mail.outbox.clear()
    pending = Notification.objects.filter(email_pending=True)
    assert pending.count() == 1  # the assignment notice to the clinician (the peer has no email)
    sweeps.send_pending_emails(batch=10, older_than=None)
    sweeps.send_pending_emails(batch=10, older_than=None)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["maria@example.org"]
    assert not Notification.objects.filter(email_pending=True).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs SKIP LOCKED")
def test_two_sweeps_at_once_record_each_effect_once(make_pair, open_case, make_staff):
    make_staff("boss", "supervisor")
    make_pair("a", capacity=100)
    with time_machine.travel(MONDAY_10):
        for _ in range(40):
            result = open_case(responded_at=MONDAY_10 - timedelta(hours=1))
            case_assign_auto(actor=system_actor("test"), case=result.case)
    connections.close_all()
    later = MONDAY_10 + timedelta(days=3)

    def sweep_once():
        sweeps.sweep_missed(actor=system_actor("t"), now=later, batch=7)
        sweeps.sweep_missed(actor=system_actor("t"), now=later, batch=500)

    run_together(sweep_once)
    assert FollowUpTask.objects.filter(status="missed").count() == 40
    assert Notice.objects.filter(kind="missed").count() == 40
    assert Notification.objects.filter(notice__kind="missed").count() == 40


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs SKIP LOCKED")
def test_two_reminder_sweeps_at_once_remind_each_task_once(make_pair, open_case):
    pairs = [make_pair(f"r{i}", capacity=100) for i in range(2)]
    with time_machine.travel(MONDAY_10):
        for _ in range(60):
            result = open_case(responded_at=MONDAY_10 - timedelta(hours=1))
            case_assign_auto(actor=system_actor("test"), case=result.case)
    connections.close_all()
    # Work-by is Wednesday 09:00 (the deadline, inside service hours under either schedule);
    # just after it every task is due, whatever the active service hours.
    later = datetime(2026, 11, 25, 9, 30, tzinfo=NY)

    def sweep_until_done():
        while sweeps.sweep_reminders(now=later, batch=7):
            pass

    run_together(sweep_until_done)
    tasks = FollowUpTask.objects.filter(status="pending", pair__in=pairs)
    assert tasks.count() == 60
    assert Notice.objects.filter(kind="reminder").count() == 60
    assert set(Notice.objects.filter(kind="reminder").values_list("task_id", flat=True)) == set(
        tasks.values_list("id", flat=True)
    )
    # One per member of each pair, none doubled.
    assert Notification.objects.filter(notice__kind="reminder").count() == 120


def test_notice_templates_do_not_name_their_reader():
    """notices._notify renders a notice once per language and gives that text to everyone who
    reads it in that language: a template that names its reader would mislabel the others."""
    folder = Path(settings.BASE_DIR) / "templates" / "notices"
    templates = sorted(folder.glob("*.txt"))
    assert templates
    for template in templates:
        assert "recipient" not in template.read_text(), template.name


def test_queueing_a_follow_up_with_a_48_hour_countdown_fails_the_suite():
    """The guard in tests/conftest.py runs around every test; this shows it bites."""
    from navigation.tasks import assign_case

    with pytest.raises(pytest.fail.Exception, match="countdown of 172800"):
        assign_case.apply_async(args=[1], countdown=48 * 3600)
    with pytest.raises(pytest.fail.Exception, match="ETA"):
        assign_case.apply_async(args=[1], eta=timezone.now() + timedelta(hours=1))
