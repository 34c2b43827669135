"""The metrics read model: one row per field response, per 48-hour follow-up and per eligible
call, holding what the metrics count, already worked out (local dates, the neighbor's earlier
responses, the first contact attempt, whether HEART answered a call and how fast), and their
counts per local day. Aggregates over a year read these instead of joining field responses,
neighbors, follow-ups, contact attempts and calls again for every request.

The rows are derived data and are never edited by hand. Database triggers (migrations 0002 and
0005) add a `FactChange` row, in the writer's own transaction, whenever a field response, a
neighbor, a follow-up task, a contact attempt or an eligible call changes in a way the metrics
see; `metrics.facts.refresh`
folds those changes in (the beat task every minute, and each read that can write first), so a
read on the primary database counts the data as it is committed.
METRICS.md defines each metric on these rows and on the source tables alike.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ResponseFact(models.Model):
    """A field response as the metrics count it. `person_id` is the neighbor record the
    response's record is linked to, or the record itself: linked duplicates are one neighbor."""

    field_response_id = models.BigIntegerField(primary_key=True)
    neighbor_id = models.BigIntegerField(db_index=True)
    person_id = models.BigIntegerField(db_index=True)
    # The program's local date (settings.TIME_ZONE) of responded_at, and its week's Monday.
    local_date = models.DateField(db_index=True)
    week_start = models.DateField()
    program = models.CharField(max_length=3)
    transported = models.BooleanField()
    felt_safe = models.BooleanField(null=True)
    # The earliest eligible response of its incident: counts the incident as one eligible call.
    first_eligible_of_incident = models.BooleanField()
    # Local dates of the same neighbor's 1st..5th responses before this one (null: none).
    prev1 = models.DateField(null=True, db_index=True)
    prev2 = models.DateField(null=True)
    prev3 = models.DateField(null=True)
    prev4 = models.DateField(null=True)
    prev5 = models.DateField(null=True)
    # The neighbor's (linked record's) demographics, for aggregate breakdowns only.
    # No database constraint: derived rows, consistent by construction, and a rebuild may
    # TRUNCATE them in the transaction that inserted them.
    profile = models.ForeignKey(
        "DemographicProfile",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    birth_date = models.DateField(null=True)

    def __str__(self) -> str:
        return f"field response {self.field_response_id} on {self.local_date}"


class DemographicProfile(models.Model):
    """One combination of the demographics neighbors are recorded with. Response facts point at
    it, so that breaking the year down groups by one small number instead of five texts."""

    gender = models.CharField(max_length=40)
    race = models.CharField(max_length=80)
    ethnicity = models.CharField(max_length=80)
    language = models.CharField(max_length=16)
    unsheltered = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gender", "race", "ethnicity", "language", "unsheltered"],
                name="demographic_profile_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.gender}/{self.race}/{self.ethnicity}/{self.language}/{self.unsheltered}"


class FollowUpFact(models.Model):
    """A 48-hour follow-up as the metrics count it."""

    task_id = models.BigIntegerField(primary_key=True)
    case_id = models.BigIntegerField(db_index=True)
    deadline = models.DateTimeField()
    # The program's local date of the deadline, and its week's Monday.
    due_date = models.DateField(db_index=True)
    due_week = models.DateField()
    # False when the case closed and cancelled the follow-up before it fell due.
    counted = models.BooleanField()
    # A contact attempt on the case at or after the field response and at or before the
    # deadline; and one whose outcome was a successful contact (reached or declined).
    attempted_in_time = models.BooleanField()
    contacted_in_time = models.BooleanField()
    # No service time lay between the encounter and the deadline (DESIGN.md); and a successful
    # contact by the end of the first service window after the encounter (for the others, by
    # the deadline: the same as contacted_in_time).
    outside_service_hours = models.BooleanField(default=False)
    contacted_by_first_window = models.BooleanField(default=False)
    # Hours from the field response to the first contact attempt on the case after it (any
    # time). A number rather than an interval: a year's median sorts it several times faster.
    hours_to_first_attempt = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"follow-up {self.task_id} due {self.due_date}"


class ResponseDay(models.Model):
    """The response facts of one local date and program, counted: what a period's totals and
    weekly series add up (the counts that do not depend on where the period starts). Kept by
    adding what facts come and subtracting what facts go, hence plain integers."""

    local_date = models.DateField()
    program = models.CharField(max_length=3)
    responses = models.IntegerField()
    transported = models.IntegerField()
    felt_safe = models.IntegerField()
    safety_answered = models.IntegerField()
    eligible_calls = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["local_date", "program"], name="response_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.local_date} {self.program}: {self.responses}"


class FollowUpDay(models.Model):
    """The counted follow-up facts due on one local date, counted."""

    due_date = models.DateField(unique=True)
    due = models.IntegerField()
    attempted_in_time = models.IntegerField()
    contacted_in_time = models.IntegerField()
    outside_service_hours = models.IntegerField(default=0)
    contacted_by_first_window = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.due_date}: {self.contacted_in_time}/{self.due}"


class CaseFact(models.Model):
    """A case as counted: on the local date it opened. Tells a case counted already from a new
    one when it is noted again."""

    case_id = models.BigIntegerField(primary_key=True)
    opened_on = models.DateField()

    def __str__(self) -> str:
        return f"case {self.case_id} opened {self.opened_on}"


class CaseDay(models.Model):
    """Cases opened on one local date."""

    opened_on = models.DateField(unique=True)
    cases = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.opened_on}: {self.cases}"


class CallFact(models.Model):
    """An eligible call (calls.EligibleCall) as the metrics count it, with what its field
    responses (the same incident number) add: whether HEART responded, when the first HEART
    unit arrived, and the time HEART units spent on it."""

    call_id = models.BigIntegerField(primary_key=True)
    # The program's local date and hour (0-23) of received_at.
    local_date = models.DateField()
    hour = models.SmallIntegerField()
    program = models.CharField(max_length=3)
    outcome = models.CharField(max_length=24)
    # Outcome heart_responded, or a field response with the call's incident number.
    responded = models.BooleanField()
    in_service_area = models.BooleanField(null=True)
    # Whole minutes (rounded, half up) from received_at to the first HEART unit's arrival;
    # null when no arrival is known or it is logged before the call was received.
    response_minutes = models.IntegerField(null=True)
    # Seconds HEART units spent on the call (dispatch, else arrival, else response, to clear),
    # summed over its field responses; the call's own times where it has none.
    responder_seconds = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"eligible call {self.call_id} on {self.local_date}"


class CallDay(models.Model):
    """The call facts of one local date and hour, program, outcome and answer, counted: what a
    period's totals and its hour-of-week picture add up. `weekday` (0 = Monday) follows from
    the date; it is kept so that the picture groups by a column."""

    local_date = models.DateField()
    weekday = models.SmallIntegerField()
    hour = models.SmallIntegerField()
    program = models.CharField(max_length=3)
    outcome = models.CharField(max_length=24)
    responded = models.BooleanField()
    calls = models.IntegerField()
    responder_seconds = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["local_date", "weekday", "hour", "program", "outcome", "responded"],
                name="call_day_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} {self.hour:02d}h {self.program} {self.outcome}: {self.calls}"


class ResponseMinuteDay(models.Model):
    """Responded calls of one local date and program by whole minutes to arrival: the
    histogram the median and 90th percentile of a period are read from, exactly."""

    local_date = models.DateField()
    program = models.CharField(max_length=3)
    minutes = models.IntegerField()
    calls = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["local_date", "program", "minutes"], name="response_minute_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_date} {self.program} {self.minutes} min: {self.calls}"


class FactChange(models.Model):
    """Append-only queue of what changed since the facts were last refreshed: a neighbor record
    (kind "n"), a case (kind "c") or an eligible call (kind "e"). Written by database
    triggers, drained by facts.refresh."""

    class Kind(models.TextChoices):
        NEIGHBOR = "n", _("Neighbor record")
        CASE = "c", _("Case")
        ELIGIBLE_CALL = "e", _("Eligible call")

    kind = models.CharField(max_length=1, choices=Kind.choices)
    key = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class FactState(models.Model):
    """One row: what the facts were built with, and when they were last brought up to date. A
    different time zone or definition rebuilds them; refreshes lock this row so that two of
    them never interleave."""

    signature = models.CharField(max_length=200)
    built_at = models.DateTimeField()
    # When the last refresh that folded changes in (or the last rebuild) started: the facts
    # count every change committed before it. Null until the facts are first built. A read
    # that cannot write (a replica) reports it, with the changes still waiting.
    refreshed_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"facts built {self.built_at:%Y-%m-%d %H:%M} ({self.signature})"
