"""Eligible calls: every call the CAD flagged as eligible for a HEART program, whether or not a
HEART unit took it (API.md "Eligible calls"). They are the demand the program is sized against.

One row per incident number, always the CAD's latest version of it; earlier versions stay in the
history with who recorded them and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from heart_cases.history import HistoricalRecords
from heart_cases.models import Program

if TYPE_CHECKING:
    from heart_cases.models import FieldResponse


class Outcome(models.TextChoices):
    HEART_RESPONDED = "heart_responded", _("HEART responded")
    HEART_UNAVAILABLE = "heart_unavailable", _("No HEART unit available")
    OUTSIDE_HOURS = "outside_hours", _("Outside service hours")
    OUTSIDE_SERVICE_AREA = "outside_service_area", _("Outside the service area")
    OTHER_RESPONDER = "other_responder", _("Another department responded")
    CANCELLED = "cancelled", _("Cancelled")


class OtherResponder(models.TextChoices):
    POLICE = "police", _("Police")
    EMS = "ems", _("EMS")
    FIRE = "fire", _("Fire department")


class CallSource(models.TextChoices):
    JSON = "json", _("CAD (JSON)")
    EIDO = "eido", _("CAD (EIDO)")
    CSV = "csv", _("CAD export (CSV)")


class EligibleCall(models.Model):
    """The CAD's latest word on one eligible call."""

    incident_number = models.CharField(max_length=64, unique=True)
    program = models.CharField(max_length=3, choices=Program.choices)
    call_type = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    address = models.CharField(max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    # Who took the call instead: set exactly when the outcome is other_responder.
    other_responder = models.CharField(
        max_length=8, choices=OtherResponder.choices, blank=True, default=""
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    # The CAD's own time of this version: a version is replaced only by a newer one, since CAD
    # feeds resend and reorder.
    updated_at = models.DateTimeField()
    # Inside the program's service area (calls.areas); null without a location or an area.
    in_service_area = models.BooleanField(null=True, blank=True)
    source = models.CharField(max_length=8, choices=CallSource.choices)
    # When and by whom the version now held was recorded (the service sets both on every
    # applied change; history keeps the earlier ones).
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["received_at"], name="eligible_call_received"),
            models.Index(fields=["outcome", "received_at"], name="eligible_call_outcome_recv"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(outcome="other_responder") & ~Q(other_responder="")
                    | ~Q(outcome="other_responder") & Q(other_responder="")
                ),
                name="eligible_call_other_responder_iff_outcome",
            ),
        ]

    def __str__(self) -> str:
        return self.incident_number

    def field_responses(self) -> models.QuerySet[FieldResponse]:
        """The field responses to this call: they carry its incident number (one per unit that
        went). Joined by value, not a foreign key, because either may be recorded first."""
        from heart_cases.models import FieldResponse

        return FieldResponse.objects.filter(incident_number=self.incident_number)
