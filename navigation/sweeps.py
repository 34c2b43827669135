"""The minute-by-minute sweeps Celery beat runs (DESIGN.md step 4).

Each part claims a bounded batch of rows with SELECT … FOR UPDATE SKIP LOCKED, so several
workers can sweep at once without doing the same work; each effect is recorded once (task
status, or a Notice with its unique constraint), so a second sweep is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core import mail
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_noop

from heart_cases.actors import stamp, system_actor
from heart_cases.models import Case, neighbor_display_name

from . import hours, services
from .models import FollowUpTask, Notice, Notification, Pair, PairAssignment
from .notices import NoticeItem, notices_send_bulk
from .selectors import supervisors

logger = logging.getLogger(__name__)

SWEEP_NAME = "navigation.sweep_follow_ups"
BATCH = 500
ASSIGN_BATCH = 100
EMAIL_BATCH = 200
REMIND_WITHIN = timedelta(hours=2)  # of service time before work-by
# A wall-clock bound on which tasks could be within 2 service hours of their work-by (two
# service hours can stretch over a long weekend).
REMIND_LOOKAHEAD = timedelta(days=5)


PARTS = ("missed", "unassigned", "reminders", "emails")


def sweep(*, now: datetime, parts: Collection[str] = PARTS) -> set[str]:
    """One pass of the given parts (beat: every part). Returns the parts that filled their
    batch (more of their work waits); empty when all is done.

    A continuation runs only the parts that had more: with 100,000 reminders due at once, a
    part with nothing to do (the look for open cases without a pair reads every open case)
    would otherwise run again with each of the 200 batches, a fifth of the sweep's time."""
    actor = system_actor(SWEEP_NAME)
    more: set[str] = set()
    if "missed" in parts and sweep_missed(actor=actor, now=now, batch=BATCH):
        more.add("missed")
    if "unassigned" in parts and sweep_unassigned(actor=actor, now=now, batch=ASSIGN_BATCH):
        more.add("unassigned")
    if "reminders" in parts and sweep_reminders(now=now, batch=BATCH):
        more.add("reminders")
    if "emails" in parts and send_pending_emails(
        batch=EMAIL_BATCH, older_than=now - timedelta(minutes=2)
    ):
        more.add("emails")
    return more


def sweep_unassigned(*, actor: User, now: datetime, batch: int) -> bool:
    """Open cases with owed tasks and no pair: assignment was never queued, or its message
    was lost, or no pair could take it then."""
    has_pair = PairAssignment.objects.filter(case=OuterRef("pk"), ended_at__isnull=True)
    owed = FollowUpTask.objects.filter(services.open_task_q(), case=OuterRef("pk"))
    case_ids = list(
        Case.objects.filter(status=Case.Status.OPEN)
        .filter(Exists(owed), ~Exists(has_pair))
        .order_by("opened_at", "id")
        .values_list("id", flat=True)[:batch]
    )
    assigned = 0
    for case_id in case_ids:
        case = Case.objects.filter(pk=case_id).first()
        if case is not None and services.case_assign_auto(actor=actor, case=case) is not None:
            assigned += 1
    # A full batch that assigned nothing means no pair can take more now: stop until the
    # next beat rather than spin.
    return len(case_ids) == batch and assigned > 0


@transaction.atomic
def sweep_missed(*, actor: User, now: datetime, batch: int) -> bool:
    """Follow-ups whose 48-hour deadline passed without a successful contact: mark them
    missed and tell the supervisors, once. One whose 48 hours fell outside service hours is
    missed only once its first window of service has ended too: before that nobody was on
    duty to call (DESIGN.md)."""
    tasks = list(
        FollowUpTask.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            kind=FollowUpTask.Kind.FOLLOW_UP,
            status=FollowUpTask.Status.PENDING,
            deadline__lt=now,
        )
        .exclude(missed_after__gt=now)
        .select_related("case__neighbor")
        .order_by("deadline", "id")[:batch]
    )
    if not tasks:
        return False
    for task in tasks:
        task.status = FollowUpTask.Status.MISSED
        reason = (
            gettext_noop(
                "The first service window after the encounter ended without a successful contact "
                "(its 48 hours fell outside service hours)"
            )
            if task.outside_service_hours
            else gettext_noop("The 48-hour deadline passed without a successful contact")
        )
        stamp(task, actor=actor, reason=reason).save()
    bosses = supervisors()
    notices_send_bulk(
        kind=Notice.Kind.MISSED,
        items=[
            NoticeItem(
                subject_key=f"task:{task.pk}",
                recipients=bosses,
                context={"task": task, "case": task.case, "neighbor": task.case.neighbor},
                case=task.case,
                task=task,
                link=f"/cases/{task.case_id}/",
            )
            for task in tasks
        ],
        created_by=SWEEP_NAME,
    )
    return len(tasks) == batch


@transaction.atomic
def sweep_reminders(*, now: datetime, batch: int) -> bool:
    """Remind the pair when a task's work-by is within 2 service hours (or already passed),
    once per task."""
    # Claim the ids alone, from the partial index of unreminded tasks in work-by order: the
    # claim reads about one batch of index entries however many are due, and sorting and
    # locking narrow rows is far cheaper than doing it over the join the notices need. A
    # task another sweeper reminded meanwhile changed (reminded_at), so the lock re-checks it
    # and skips it.
    claimed = list(
        FollowUpTask.objects.select_for_update(skip_locked=True)
        .filter(
            status=FollowUpTask.Status.PENDING,
            next_task__isnull=True,
            pair__isnull=False,
            reminded_at__isnull=True,
            work_by__lte=now + REMIND_LOOKAHEAD,
        )
        .order_by("work_by", "id")
        .values_list("id", flat=True)[:batch]
    )
    if not claimed:
        return False
    # The columns a reminder names, without model instances: a batch of 500 built 1,500 of
    # them (task, case, neighbor) for a dozen values.
    tasks = list(
        FollowUpTask.objects.filter(id__in=claimed)
        .order_by("work_by", "id")
        .values_list("id", "case_id", "pair_id", "kind", "work_by", "deadline")
    )
    cases = {
        row[0]: row
        for row in Case.objects.filter(id__in={task[1] for task in tasks}).values_list(
            "id",
            "number",
            "neighbor_id",
            "neighbor__first_name",
            "neighbor__last_name",
            "neighbor__alias",
        )
    }
    # Pairs (with both navigators) once per batch: a batch names a few dozen.
    pairs = Pair.objects.select_related("clinician__staff_profile", "peer__staff_profile").in_bulk(
        {task[2] for task in tasks}
    )
    labels = {kind: str(label) for kind, label in FollowUpTask.Kind.choices}
    service = hours.active_hours()
    # Once per distinct work-by: tasks due together share one (work-by clamps to the close of
    # service hours).
    within: dict[datetime, bool] = {}
    for work_by in {task[4] for task in tasks}:
        within[work_by] = (
            work_by <= now or hours.service_time_between(now, work_by, service) <= REMIND_WITHIN
        )
    due = [task for task in tasks if within[task[4]]]
    items = []
    for task_id, case_id, pair_id, kind, work_by, deadline in due:
        _, number, neighbor_id, first_name, last_name, alias = cases[case_id]
        pair = pairs[pair_id]
        items.append(
            NoticeItem(
                subject_key=f"task:{task_id}",
                recipients=[pair.clinician, pair.peer],
                context={
                    "work_by": work_by,
                    "deadline": deadline,
                    "kind_label": labels.get(kind, kind),
                    "case_number": number,
                    "neighbor_name": neighbor_display_name(
                        neighbor_id, first_name, last_name, alias
                    ),
                },
                case_id=case_id,
                task_id=task_id,
                link="/tasks/",
            )
        )
    notices_send_bulk(kind=Notice.Kind.REMINDER, items=items, created_by=SWEEP_NAME)
    # Bookkeeping beside the notices (history leaves reminded_at out: the notice is the record).
    FollowUpTask.objects.filter(id__in=[task[0] for task in due]).update(reminded_at=now)
    # Tasks not yet due stay in the candidate set; only a full batch of due ones means more.
    return len(claimed) == batch and len(due) == len(tasks)


def send_pending_emails(*, batch: int, older_than: datetime | None = None) -> bool:
    """Send the emails of notifications that want one, over one connection. Called right
    after the notices commit, and by the sweep for any whose message was lost."""
    with transaction.atomic():
        pending = Notification.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            email_pending=True
        )
        if older_than is not None:
            pending = pending.filter(created_at__lt=older_than)
        rows = list(pending.select_related("recipient").order_by("created_at", "id")[:batch])
        if not rows:
            return False
        from django.conf import settings

        messages = [
            mail.EmailMessage(
                subject=row.title,
                body=f"{row.body}\n\n{settings.HEART_BASE_URL}{row.link}".strip(),
                to=[row.recipient.email],
            )
            for row in rows
        ]
        # At-least-once: a crash after sending and before commit sends these again.
        with mail.get_connection() as connection:
            connection.send_messages(messages)
        sent_at = timezone.now()
        for row in rows:
            row.email_pending = False
            row.emailed_at = sent_at
        Notification.objects.bulk_update(rows, ["email_pending", "emailed_at"])
    return len(rows) == batch
