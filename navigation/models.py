"""Care navigation: clinician–peer pairs, which pair owns a case, and follow-up tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

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
        FOLLOW_UP = "follow_up", "Follow-up"
        RETRY_CALL = "retry_call", "Retry call"
        IN_PERSON_VISIT = "in_person_visit", "In-person visit"
        REFERRAL_CHECK = "referral_check", "Referral check"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="follow_up_tasks")
    field_response = models.ForeignKey(
        FieldResponse, null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.FOLLOW_UP)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    deadline = models.DateTimeField()
    # The last moment inside navigation service hours at or before the deadline.
    work_by = models.DateTimeField()
    pair = models.ForeignKey(
        Pair, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["status", "work_by"], name="task_status_work_by"),
            models.Index(fields=["pair", "status", "work_by"], name="task_pair_status_work_by"),
        ]
        permissions = [("view_all_tasks", "Can see every pair's tasks")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"
