"""Care navigation: clinician–peer pairs, which pair owns a case, and follow-up tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from heart_cases.history import HistoricalRecords
from heart_cases.models import Case, FieldResponse


class Pair(models.Model):
    """A licensed clinician and a peer support specialist who own follow-up work together."""

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pairs_as_clinician"
    )
    peer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pairs_as_peer"
    )
    active = models.BooleanField(default=True)
    capacity = models.PositiveIntegerField(default=25, help_text="Open tasks at most.")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinician", "peer"],
                condition=Q(active=True),
                name="one_active_pair_per_clinician_peer",
            ),
        ]

    def __str__(self) -> str:
        return f"Pair {self.pk}: {self.clinician.get_username()} + {self.peer.get_username()}"


class PairAssignment(models.Model):
    """Which pair owns a case, from when, and why; the current one has ended_at unset."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="pair_assignments")
    pair = models.ForeignKey(Pair, on_delete=models.PROTECT, related_name="assignments")
    assigned_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(ended_at__isnull=True),
                name="one_current_pair_per_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} -> pair {self.pair_id}"


class FollowUpTask(models.Model):
    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", _("Follow-up")
        RETRY_CALL = "retry_call", _("Retry call")
        IN_PERSON_VISIT = "in_person_visit", _("In-person visit")
        REFERRAL_CHECK = "referral_check", _("Referral check")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="follow_up_tasks")
    field_response = models.ForeignKey(
        FieldResponse, null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.FOLLOW_UP)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    deadline = models.DateTimeField()
    # The last moment inside navigation service hours at or before the deadline; or, when no
    # service time lay between the task's start and its deadline, the first moment of service
    # after the start (hours.task_work_by).
    work_by = models.DateTimeField()
    # Its 48 hours fell outside service hours: shown on the task and counted by the metrics.
    # A database default too: rows written by a worker still running the code before this
    # field (a rolling deploy), or in bulk by SQL, are not outside service hours.
    outside_service_hours = models.BooleanField(default=False, db_default=False)
    # Such a task is missed only once its first window of service ended without a contact,
    # not at a deadline that passed before anyone was on duty. Null for every other task.
    missed_after = models.DateTimeField(null=True, blank=True)
    # No index of its own: task_pair_status_work_by leads with it, and one index fewer is one
    # entry fewer written with every task and every reminder (the sweep's update of a task
    # touches each of the table's indexes).
    pair = models.ForeignKey(
        Pair, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks", db_index=False
    )
    # When the task may be worked (a retry waits for its window; a follow-up is actionable
    # at once).
    due_at = models.DateTimeField(null=True, blank=True)
    # The step an unsuccessful attempt scheduled after this one. A task with a next task is
    # off the list: its obligation (the 48-hour deadline) stays, the next task is the action.
    next_task = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="previous_task"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # A missed task stays visible until resolved (a later contact, or the case closing).
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When the sweep reminded the pair (the Notice row is the record of it). Kept on the task
    # so that the sweep claims only unreminded tasks from an index, and so that a second
    # sweeper's lock re-checks it; bookkeeping, not care, so history leaves it out.
    reminded_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["reminded_at"])

    # Fields history leaves out, which QuerySet.update() may therefore set.
    UNTRACKED_FIELDS = frozenset({"reminded_at"})

    class Meta:
        indexes = [
            models.Index(fields=["status", "work_by"], name="task_status_work_by"),
            # What the reminder sweep claims, in the order it claims it.
            models.Index(
                fields=["work_by", "id"],
                name="task_to_remind",
                condition=models.Q(
                    status="pending",
                    next_task__isnull=True,
                    pair__isnull=False,
                    reminded_at__isnull=True,
                ),
            ),
            models.Index(fields=["pair", "status", "work_by"], name="task_pair_status_work_by"),
            models.Index(fields=["status", "deadline"], name="task_status_deadline"),
            # Exactly the tasks selectors.open_tasks() lists, by pair in work-by order: a
            # pair's list reads its open work, never its history (4.5 -> 1.1 ms at 1M cases).
            models.Index(
                fields=["pair", "work_by", "id"],
                name="task_open_by_pair",
                condition=models.Q(next_task__isnull=True)
                & (
                    models.Q(status="pending") | models.Q(status="missed", resolved_at__isnull=True)
                ),
            ),
        ]
        permissions = [("view_all_tasks", "Can see every pair's tasks")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


class Notice(models.Model):
    """One effect that must happen once: 'remind the pair about task 12', 'escalate task 12',
    'chase referral 7'. The unique constraint makes a second sweep, a second beat or a
    redelivered message harmless: whoever inserts the row does the work."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("Case assigned")
        REMINDER = "reminder", _("Follow-up due soon")
        MISSED = "missed", _("Follow-up missed")
        REFERRAL_SENT = "referral_sent", _("New referral")
        REFERRAL_UPDATE = "referral_update", _("Referral update")
        REFERRAL_CHASED = "referral_chased", _("Referral not acknowledged")
        REFERRAL_EXPIRED = "referral_expired", _("Referral expired")
        CONSENT_EXPIRED = "consent_expired", _("Consent to share expired")
        CLOSE_PROMPT = "close_prompt", _("Ready to close")
        BREAK_GLASS = "break_glass", _("Break-the-glass reads")

    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject_key = models.CharField(max_length=80, help_text="What it is about, e.g. task:12.")
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    task = models.ForeignKey(
        FollowUpTask, null=True, blank=True, on_delete=models.PROTECT, related_name="notices"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, help_text="The person or system task.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject_key"], name="notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_key}"


class Notification(models.Model):
    """A notice as one person receives it: in the app (badge and list) and by email."""

    # No index of their own: the unique (notice, recipient) and the (recipient, read_at) index
    # serve every lookup by either, and a sweep writes two notifications per reminder.
    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    language = models.CharField(max_length=16, default="en")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the recipient should also get it by email; cleared when the email went out.
    email_pending = models.BooleanField(default=False)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "recipient"], name="notification_once_per_recipient"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(
                fields=["created_at"],
                condition=Q(email_pending=True),
                name="notification_email_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.title}"


class ServiceSchedule(models.Model):
    """When a program works: weekly windows, whether holidays are worked, its time zone.
    One schedule per program is active; switching is a change of data, not of code."""

    program = models.CharField(max_length=8, default="CN")
    name = models.CharField(max_length=80)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    works_holidays = models.BooleanField(default=False)
    active = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program"], condition=Q(active=True), name="one_active_schedule"
            ),
            models.UniqueConstraint(fields=["program", "name"], name="schedule_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.program}: {self.name}{' (active)' if self.active else ''}"


class ServiceWindow(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    schedule = models.ForeignKey(ServiceSchedule, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=Q(opens__lt=F("closes")), name="window_opens_first"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class PairDutyWindow(models.Model):
    """When a pair is on duty in a week. A pair without windows works the active service
    hours."""

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="duty_windows")
    weekday = models.PositiveSmallIntegerField(choices=ServiceWindow.Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=Q(starts__lt=F("ends")), name="duty_starts_first"),
        ]

    def __str__(self) -> str:
        day = self.get_weekday_display()
        return f"pair {self.pair_id} {day} {self.starts:%H:%M}–{self.ends:%H:%M}"


class ContactAttempt(models.Model):
    class Method(models.TextChoices):
        PHONE = "phone", _("Phone")
        IN_PERSON = "in_person", _("In person")
        TEXT = "text", _("Text message")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_VOICEMAIL = "left_voicemail", _("Left voicemail")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        DECLINED = "declined", _("Declined")

    task = models.ForeignKey(FollowUpTask, on_delete=models.PROTECT, related_name="attempts")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contact_attempts")
    method = models.CharField(max_length=16, choices=Method.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    occurred_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    # Whom the call was to when not the neighbor: one of the neighbor's contacts (family and
    # others the pair may call). Null: the neighbor.
    contact = models.ForeignKey(
        "heart_cases.Contact",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attempts",
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contact_attempts"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["task", "occurred_at"], name="attempt_task_time")]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.get_outcome_display()}"
