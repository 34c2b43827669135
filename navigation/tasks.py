"""Celery tasks: thin, named, take ids, re-read state, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from heart_cases.actors import system_actor
from heart_cases.models import Case
from heart_cases.queueing import enqueue_now

from . import notices, services, sweeps


@shared_task(name="navigation.assign_case", max_retries=3, default_retry_delay=30)
def assign_case(case_id: int) -> None:
    """Give an open case without a pair to one. Does nothing if it has one or is closed."""
    case = Case.objects.filter(pk=case_id, status=Case.Status.OPEN).first()
    if case is None:
        return
    services.case_assign_auto(actor=system_actor("navigation.assign_case"), case=case)


@shared_task(name="navigation.sweep_follow_ups", max_retries=0)
def sweep_follow_ups(parts: list[str] | None = None) -> None:
    """Beat, every minute: assign, remind, mark missed and escalate, re-send lost emails. Each
    part takes a bounded batch; when one was full the sweep queues HEART_SWEEP_FANOUT more
    runs of the parts that were full, so that every worker can take a share (SKIP LOCKED keeps
    them apart). A run that finds only partial batches queues nothing, so the fan-out dies out
    with the work; the next beat runs every part again whatever a continuation skipped."""
    chosen = [part for part in (parts or sweeps.PARTS) if part in sweeps.PARTS]
    more = sweeps.sweep(now=timezone.now(), parts=chosen or sweeps.PARTS)
    if more:
        for _ in range(settings.HEART_SWEEP_FANOUT):
            enqueue_now(sweep_follow_ups, sorted(more))


@shared_task(name="navigation.send_pending_emails", max_retries=5, default_retry_delay=60)
def send_pending_emails() -> None:
    more = sweeps.send_pending_emails(batch=sweeps.EMAIL_BATCH)
    if more:
        enqueue_now(send_pending_emails)


@shared_task(name="navigation.notify_break_glass_reads", max_retries=3, default_retry_delay=300)
def notify_break_glass_reads() -> None:
    """Beat, daily: tell the supervisors of yesterday's break-the-glass reads. Once a day: the
    notice's subject is the date, so a second run, a second beat or a redelivery adds nothing."""
    notices.break_glass_notice_send(
        day=timezone.localdate() - timedelta(days=1),
        created_by="navigation.notify_break_glass_reads",
    )
