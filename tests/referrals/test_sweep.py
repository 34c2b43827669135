"""Chasing and expiring referrals by the beat sweep: after 2 business days unacknowledged, once;
after 5 business days unanswered, cancelled as expired, once."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection

from navigation.models import FollowUpTask, Notice
from referrals import conf
from referrals.models import ProviderEmail, Referral
from referrals.services import referral_accept, referral_acknowledge, referral_transition
from referrals.tasks import sweep_referrals

from .conftest import run_queued

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
# A Wednesday well away from holidays: chased from Friday 10:00, expired from next Wednesday.
MADE = datetime(2026, 12, 2, 10, 0, tzinfo=NY)


def at(*args: int) -> time_machine.travel:
    return time_machine.travel(datetime(*args, tzinfo=NY), tick=False)


def sweep_at(*args: int) -> dict[str, int]:
    with at(*args):
        return sweep_referrals()


@pytest.fixture
def made(city):
    with time_machine.travel(MADE, tick=False):
        return city.refer()


def test_a_referral_is_not_chased_before_two_business_days(city, made):
    assert sweep_at(2026, 12, 4, 9, 59)["chased"] == 0
    made.refresh_from_db()
    assert made.chased_at is None
    assert not Notice.objects.filter(kind="referral_chased").exists()


def test_an_unacknowledged_referral_is_chased_once_after_two_business_days(city, made):
    assert sweep_at(2026, 12, 4, 10, 1)["chased"] == 1
    made.refresh_from_db()
    assert made.status == "requested"
    assert made.business_status == "chased"
    assert made.chased_at == datetime(2026, 12, 4, 10, 1, tzinfo=NY)
    history = made.history.latest()
    assert history.history_user.username == "system:referrals.sweep_referrals"
    provider_notice = Notice.objects.get(kind="referral_chased", subject_key=f"referral:{made.pk}")
    assert [n.recipient for n in provider_notice.notifications.all()] == [city.casa_staff]
    navigators = Notice.objects.get(
        kind="referral_chased", subject_key=f"referral:{made.pk}:navigators"
    )
    assert {n.recipient for n in navigators.notifications.all()} == {city.navigator, city.peer}
    [task] = FollowUpTask.objects.filter(case=city.case, kind="referral_check")
    assert task.deadline == made.expire_at
    assert task.status == "pending"

    # The next minute's sweep, and the one after, do nothing more.
    assert sweep_at(2026, 12, 4, 10, 2)["chased"] == 0
    assert sweep_at(2026, 12, 7, 9, 0)["chased"] == 0
    assert Notice.objects.filter(kind="referral_chased").count() == 2
    assert FollowUpTask.objects.filter(case=city.case, kind="referral_check").count() == 1


def test_weekends_and_holidays_do_not_count_as_business_days(city):
    with at(2026, 12, 4, 15, 0):  # a Friday afternoon
        friday = city.refer()
    assert sweep_at(2026, 12, 7, 16, 0)["chased"] == 0  # Monday: one business day
    assert sweep_at(2026, 12, 8, 15, 1)["chased"] == 1  # Tuesday: two
    # The Wednesday before Thanksgiving: Thursday and Friday are NC holidays.
    with at(2026, 11, 25, 9, 0):
        before_holiday = city.refer(service=city.clinic)
    assert before_holiday.chase_at == datetime(2026, 12, 1, 9, 0, tzinfo=NY)
    friday.refresh_from_db()
    assert friday.chased_at is not None


def test_an_acknowledged_referral_is_not_chased_but_still_expires_unanswered(city, made):
    with at(2026, 12, 3, 9, 0):
        referral_acknowledge(actor=city.casa_staff, referral=made)
    assert sweep_at(2026, 12, 4, 10, 1)["chased"] == 0
    assert sweep_at(2026, 12, 9, 10, 1)["expired"] == 1
    made.refresh_from_db()
    assert made.status == "cancelled"


def test_an_unanswered_referral_expires_once_after_five_business_days(city, made):
    first = sweep_at(2026, 12, 9, 9, 59)
    assert first == {"consents_expired": 0, "expired": 0, "chased": 1, "emails_requeued": 0}
    result = sweep_at(2026, 12, 9, 10, 1)
    assert result["expired"] == 1
    assert result["chased"] == 0  # past its expiry there is nothing to chase
    made.refresh_from_db()
    assert made.status == "cancelled"
    assert made.status_reason == "expired"
    assert made.ended_at == datetime(2026, 12, 9, 10, 1, tzinfo=NY)
    assert made.status_changed_by.username == "system:referrals.sweep_referrals"
    expired = Notice.objects.get(kind="referral_expired", subject_key=f"referral:{made.pk}")
    recipients = {n.recipient for n in expired.notifications.all()}
    assert recipients == {city.navigator, city.peer}
    assert "refer elsewhere" in expired.notifications.first().title
    assert Notice.objects.filter(subject_key=f"referral:{made.pk}:cancelled:provider").exists()
    chase, refer_elsewhere = FollowUpTask.objects.filter(
        case=city.case, kind="referral_check"
    ).order_by("id")
    assert chase.history.earliest().history_change_reason.endswith("call the provider")
    assert refer_elsewhere.history.earliest().history_change_reason.endswith("refer elsewhere")
    assert refer_elsewhere.deadline == datetime(2026, 12, 10, 10, 1, tzinfo=NY)
    # Nobody need call the provider about a referral that expired; referring elsewhere is owed.
    assert chase.status == "done"
    assert "expired" in chase.history.latest().history_change_reason.lower()
    assert refer_elsewhere.status == "pending"
    assert sweep_at(2026, 12, 9, 10, 2)["expired"] == 0
    assert sweep_at(2026, 12, 14, 10, 2)["expired"] == 0
    assert Notice.objects.filter(kind="referral_expired").count() == 1
    assert FollowUpTask.objects.filter(case=city.case, kind="referral_check").count() == 2


@pytest.mark.parametrize("answer", ["acknowledge", "accept"])
def test_the_call_the_provider_check_is_settled_when_the_provider_answers(city, made, answer):
    sweep_at(2026, 12, 4, 10, 1)
    [check] = FollowUpTask.objects.filter(case=city.case, kind="referral_check")
    made.refresh_from_db()
    assert made.chase_task_id == check.pk
    assert check.status == "pending"
    with at(2026, 12, 4, 14, 0):
        referral_transition(actor=city.casa_staff, referral=made, action=answer)
    check.refresh_from_db()
    assert check.status == "done"
    assert check.completed_at == datetime(2026, 12, 4, 14, 0, tzinfo=NY)
    settled = check.history.latest()
    assert settled.history_user == city.casa_staff
    assert settled.history_change_reason.startswith(f"Referral #{made.pk}: ")
    # A later answer settles nothing twice.
    later = "accept" if answer == "acknowledge" else "confirm-handoff"
    with at(2026, 12, 4, 15, 0):
        referral_transition(actor=city.casa_staff, referral=made, action=later)
    assert check.history.count() == 2


def test_an_answered_referral_never_expires(city, made):
    with at(2026, 12, 3, 9, 0):
        referral_accept(actor=city.casa_staff, referral=made)
    assert sweep_at(2026, 12, 30, 10, 0) == {
        "consents_expired": 0,
        "expired": 0,
        "chased": 0,
        "emails_requeued": 0,
    }
    made.refresh_from_db()
    assert made.status == "accepted"


def test_a_provider_without_accounts_is_chased_by_email_at_its_intake_address(
    city, queued, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(MADE, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        referral = city.refer(service=city.groceries)
    assert run_queued(queued, "referrals.email_provider") == 1
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_at(2026, 12, 4, 10, 1)
    assert run_queued(queued, "referrals.email_provider") == 1
    assert [m.to for m in mail.outbox] == [["intake@pantry.example"], ["intake@pantry.example"]]
    assert "Reminder" in mail.outbox[1].subject
    assert "/r/" in mail.outbox[1].body
    assert ProviderEmail.objects.filter(referral=referral, sent_at__isnull=False).count() == 2


def test_emails_a_lost_message_left_unsent_are_queued_again_by_the_sweep(city, queued):
    with time_machine.travel(MADE, tick=False):
        referral = city.refer(service=city.groceries)
    queued.clear()  # the broker was down: the message never left
    assert sweep_at(2026, 12, 2, 10, 1)["emails_requeued"] == 0  # too soon to call it lost
    assert sweep_at(2026, 12, 2, 10, 5)["emails_requeued"] == 1
    queued.clear()  # lost again
    # Each retry waits twice as long as the one before: 4 minutes now.
    assert sweep_at(2026, 12, 2, 10, 8)["emails_requeued"] == 0
    assert sweep_at(2026, 12, 2, 10, 9)["emails_requeued"] == 1
    assert run_queued(queued, "referrals.email_provider") == 1
    assert len(mail.outbox) == 1
    assert sweep_at(2026, 12, 2, 12, 0)["emails_requeued"] == 0
    email = ProviderEmail.objects.get(referral=referral)
    assert email.sent_at is not None
    assert email.attempts == 2


def test_a_full_batch_makes_the_sweep_run_again(city, intake, queued, monkeypatch):
    from heart_cases.models import Case

    monkeypatch.setattr(conf, "SWEEP_BATCH", 2)
    with time_machine.travel(MADE, tick=False):
        city.refer()
        city.refer(service=city.clinic)
        other = Case.objects.get(
            pk=intake(
                incident_number="D-2", neighbor={"phone": "+1 919 555 0199", "last_name": "Z"}
            )["case"]["id"]
        )
        city.refer(case=other)
    queued.clear()
    assert sweep_at(2026, 12, 4, 10, 1)["chased"] == 2
    assert [task.name for task, _ in queued] == ["referrals.sweep_referrals"]
    queued.clear()
    assert sweep_at(2026, 12, 4, 10, 1)["chased"] == 1
    assert queued == []
    assert Referral.objects.filter(chased_at__isnull=False).count() == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_chase_each_referral_once(city, intake):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")  # pragma: no cover
    from heart_cases.models import Case

    with time_machine.travel(MADE, tick=False):
        for n in range(6):
            case = Case.objects.get(
                pk=intake(
                    incident_number=f"D-{n}",
                    neighbor={"phone": f"+1 919 555 03{n:02d}", "last_name": f"L{n}"},
                )["case"]["id"]
            )
            city.refer(case=case)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(sweep_referrals())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    with at(2026, 12, 4, 10, 1):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sum(r["chased"] for r in results) == 6
    assert Notice.objects.filter(kind="referral_chased").count() == 12
    assert FollowUpTask.objects.filter(kind="referral_check").count() == 6
