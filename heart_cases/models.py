"""The core domain: neighbors, field responses, cases, and the access log.

Every model that holds a neighbor's care keeps its history (django-simple-history). Writes go
through `services.py`, which sets the acting user and the reason on each history row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from phonenumber_field.modelfields import PhoneNumberField

from .history import HistoricalRecords


class Program(models.TextChoices):
    CCD = "CCD", _("Crisis Call Diversion")
    CRT = "CRT", _("Community Response Team")
    COR = "COR", _("Co-Response")


# The program's published table of eligible call types (DESIGN.md): what the CAD sends, kept
# as is; marked for the catalog so that the by-hand form can show each in Spanish.
ELIGIBLE_CALL_TYPES: dict[str, tuple[str, ...]] = {
    Program.CCD: (gettext_noop("Mental health crisis"), gettext_noop("Suicide threat")),
    Program.CRT: (
        gettext_noop("Nonviolent mental health crisis"),
        gettext_noop("Suicide threat"),
        gettext_noop("Trespass"),
        gettext_noop("Intoxicated person"),
        gettext_noop("Lost person (assist)"),
        gettext_noop("Panhandling / nuisance"),
        gettext_noop("Indecency / lewdness"),
        gettext_noop("Prostitution"),
        gettext_noop("Nonurgent and urgent welfare check"),
        gettext_noop("Verbal disturbance"),
    ),
    Program.COR: (
        gettext_noop("Mental health crisis – violent / weapon"),
        gettext_noop("Attempted suicide"),
        gettext_noop("Trespass with weapon"),
        gettext_noop("Intoxicated person w/ weapon"),
        gettext_noop("Custody issue (assist)"),
        gettext_noop("Panhandling / nuisance w/ weapon"),
        gettext_noop("Indecency / lewdness w/ weapon"),
        gettext_noop("Prostitution w/ weapon"),
        gettext_noop("Physical disturbance"),
        gettext_noop("Disturbance w/ weapon"),
        gettext_noop("Harassment w/ weapon"),
        gettext_noop("Threat w/ weapon"),
        gettext_noop("Reckless activity"),
        gettext_noop("Abuse"),
        gettext_noop("Harassment"),
        gettext_noop("Threat"),
        gettext_noop("Domestic violence"),
        gettext_noop("Domestic violence w/ weapon"),
        gettext_noop("Drugs"),
        gettext_noop("Involuntary commitment"),
    ),
}


class Need(models.TextChoices):
    MENTAL_HEALTH = "mental_health", _("Mental health")
    SUBSTANCE_USE = "substance_use", _("Substance use")
    HOUSING = "housing", _("Housing")
    FOOD = "food", _("Food")
    MEDICAL = "medical", _("Medical")
    BENEFITS = "benefits", _("Benefits")
    TRANSPORTATION = "transportation", _("Transportation")
    LEGAL = "legal", _("Legal")
    FAMILY = "family", _("Family")
    OTHER = "other", _("Other")


class Disposition(models.TextChoices):
    RESOLVED_ON_SCENE = "resolved_on_scene", _("Resolved on scene")
    TRANSPORTED = "transported", _("Transported")
    REFERRED = "referred", _("Referred")
    DECLINED_SERVICES = "declined_services", _("Declined services")
    POLICE_REQUESTED = "police_requested", _("Police requested")
    OTHER = "other", _("Other")


class FieldResponseSource(models.TextChoices):
    CAD = "cad", _("CAD")
    MANUAL = "manual", _("Entered by hand")
    POLICE_REFERRAL = "police_referral", _("Police referral")
    FIRE_REFERRAL = "fire_referral", _("Fire department referral")
    EMS_REFERRAL = "ems_referral", _("EMS referral")


class Neighbor(models.Model):
    """A person the program served. Never merged destructively: duplicates are linked."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    alias = models.CharField(max_length=100, blank=True)
    # Case-, accent- and whitespace-folded names, for matching (services.name_key).
    first_name_key = models.CharField(max_length=100, blank=True, editable=False)
    last_name_key = models.CharField(max_length=100, blank=True, editable=False)
    alias_key = models.CharField(max_length=100, blank=True, editable=False)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = PhoneNumberField(blank=True, help_text="Primary phone, E.164.")
    language = models.CharField(max_length=16, default="en")
    unsheltered = models.BooleanField(default=False)
    gender = models.CharField(max_length=40, blank=True)
    race = models.CharField(max_length=80, blank=True)
    ethnicity = models.CharField(max_length=80, blank=True)
    # Set when a supervisor links this record to another as the same person. The link keeps
    # both records and their histories; undoing it clears this field.
    linked_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="linked_records"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by the retention sweep (heart_cases.retention) when it de-identified the record.
    # `birth_year` is all it keeps of the birth date, so the published age bands still count.
    erased_at = models.DateTimeField(null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(
                fields=["last_name_key", "first_name_key", "date_of_birth"],
                name="neighbor_name_dob",
            ),
            models.Index(fields=["alias_key"], name="neighbor_alias"),
            models.Index(fields=["phone"], name="neighbor_phone"),
            models.Index(fields=["date_of_birth"], name="neighbor_date_of_birth"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(linked_to=F("id")), name="neighbor_not_linked_to_itself"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return neighbor_display_name(self.pk, self.first_name, self.last_name, self.alias)


def neighbor_display_name(pk: int | None, first_name: str, last_name: str, alias: str) -> str:
    """A neighbor's name as people read it, from the columns alone (sweeps load no model)."""
    full = f"{first_name} {last_name}".strip()
    if full and alias:
        return f"{full} ({alias})"
    return full or alias or f"Neighbor #{pk}"


class NeighborPhone(models.Model):
    """Every phone number a neighbor was reached at or gave, in E.164; matching looks here."""

    neighbor = models.ForeignKey(Neighbor, on_delete=models.CASCADE, related_name="phones")
    number = PhoneNumberField()
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["neighbor", "number"], name="neighbor_phone_unique"),
        ]
        indexes = [models.Index(fields=["number"], name="neighbor_phone_number")]

    def __str__(self) -> str:
        return str(self.number)


class PossibleDuplicate(models.Model):
    """Two neighbor records alike enough that a supervisor should decide if they are one person."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        LINKED = "linked", _("Linked")
        DISMISSED = "dismissed", _("Not the same person")

    neighbor = models.ForeignKey(Neighbor, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Neighbor, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["neighbor", "other"], name="possible_duplicate_unique"),
            models.CheckConstraint(
                condition=Q(neighbor__lt=F("other")), name="possible_duplicate_ordered_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.neighbor_id} ~ {self.other_id}: {self.reason}"


class Contact(models.Model):
    """Family or others the pair may call about a neighbor (issue 13). Never deleted."""

    neighbor = models.ForeignKey(Neighbor, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=100, blank=True)
    phone = PhoneNumberField(blank=True, help_text="E.164.")
    language = models.CharField(max_length=16, blank=True)
    may_contact = models.BooleanField(default=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["neighbor", "created_at"], name="contact_neighbor_created")]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        CONNECTED_TO_CARE = "connected_to_care", _("Connected to care")
        FOLLOW_UP_DECLINED = "follow_up_declined", _("Follow-up declined")
        UNABLE_TO_REACH = "unable_to_reach", _("Unable to reach")
        MOVED_AWAY = "moved_away", _("Moved away")
        OTHER = "other", _("Other")

    number = models.CharField(max_length=32, unique=True)
    neighbor = models.ForeignKey(Neighbor, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    previous_case = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_cases"
    )

    history = HistoricalRecords()

    class Meta:
        constraints = [
            # Intake attaches to the open case; two open cases for one record would split work.
            models.UniqueConstraint(
                fields=["neighbor"], condition=Q(status="open"), name="one_open_case_per_neighbor"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="open", closed_at__isnull=True, outcome="")
                    | (Q(status="closed", closed_at__isnull=False) & ~Q(outcome=""))
                ),
                name="case_closed_has_outcome_and_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "opened_at"], name="case_status_opened")]
        permissions = [
            ("assign_case", "Can assign a case to a pair"),
            ("view_metrics", "Can see aggregate, de-identified metrics"),
        ]

    def __str__(self) -> str:
        return self.number


class CaseNumber(models.Model):
    """Hands out case numbers without a lock: each case takes the next id of this table."""

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.pk)


class FieldResponse(models.Model):
    """One CCD, CRT or COR encounter, as posted by a responder or the CAD integration."""

    incident_number = models.CharField(max_length=64)
    unit = models.CharField(max_length=64)
    program = models.CharField(max_length=3, choices=Program.choices)
    call_type = models.CharField(max_length=100)
    responded_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    address = models.CharField(max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # Inside its program's service area (calls.areas, API.md "Eligible calls"); null without a
    # location or without an area for the program.
    in_service_area = models.BooleanField(null=True, blank=True)
    neighbor = models.ForeignKey(Neighbor, on_delete=models.PROTECT, related_name="field_responses")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="field_responses")
    needs = models.JSONField(default=list, blank=True)
    disposition = models.CharField(max_length=32, choices=Disposition.choices, blank=True)
    follow_up_consent = models.BooleanField()
    responder_felt_safe = models.BooleanField(null=True, blank=True)
    narrative = models.TextField(blank=True)
    # Where the record came from (API.md, "Field responses from other sources"). Database
    # defaults too: a worker still running the code before these columns (a rolling deploy)
    # keeps inserting CAD responses without debriefs.
    source = models.CharField(
        max_length=20, choices=FieldResponseSource.choices, default="cad", db_default="cad"
    )
    dispatched_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    debrief_requested = models.BooleanField(default=False, db_default=False)
    # SHA-256 of the canonical request body: a repeat post is the same only if this matches.
    body_fingerprint = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident_number", "unit"], name="field_response_incident_unit_unique"
            ),
        ]
        indexes = [models.Index(fields=["responded_at"], name="field_response_responded")]
        permissions = [("record_field_response", "Can post field responses")]

    def __str__(self) -> str:
        return f"{self.incident_number}/{self.unit}"


class CaseNote(models.Model):
    """A progress note on a case (API.md, "Case notes and closing"). Never edited or deleted
    (only the retention sweep erases): a correction is a new note that amends an earlier one of
    the same case, and both stay."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_notes"
    )
    at = models.DateTimeField(help_text="When the note was written (the server's clock).")
    occurred_at = models.DateTimeField(help_text="When what the note tells of happened.")
    text = models.TextField()
    amends = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="amendments"
    )

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["case", "at"], name="case_note_case_at")]
        constraints = [
            models.CheckConstraint(condition=~Q(amends=F("id")), name="case_note_not_self_amend"),
        ]

    def __str__(self) -> str:
        return f"note #{self.pk} on case {self.case_id}"


class Debrief(models.Model):
    """A responder asked, in the post-response survey, for a debrief with a supervisor: one
    per field response, open until a supervisor marks it done."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    field_response = models.OneToOneField(
        FieldResponse, on_delete=models.PROTECT, related_name="debrief"
    )
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["status", "requested_at"], name="debrief_status_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", done_at__isnull=True)
                | Q(status="done", done_at__isnull=False),
                name="debrief_done_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"debrief for field response {self.field_response_id} ({self.status})"


class StaffProfile(models.Model):
    """What the program needs to know of a staff member beyond the login: languages spoken."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    languages = models.JSONField(default=list, blank=True)
    is_service_account = models.BooleanField(default=False)
    # The interface language the person chose in the header's menu; blank: the browser's.
    language = models.CharField(max_length=8, blank=True, default="", choices=settings.LANGUAGES)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.user} ({', '.join(self.languages)})"


class AccessLog(models.Model):
    """Append-only: who read which neighbor's data, when, from where. PostgreSQL refuses
    UPDATE and DELETE on this table (migration 0002) and TRUNCATE (0003); the runtime role
    may only read and append (`manage.py db_runtime_role`)."""

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        LIST = "list", _("Listed")
        EXPORT = "export", _("Exported")
        SEARCH = "search", _("Searched")
        ERASE = "erase", _("Erased")

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        DENIED = "denied", _("Denied")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=40)
    object_ids = models.JSONField(default=list)
    case_id = models.BigIntegerField(null=True, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.ALLOWED)
    client_address = models.GenericIPAddressField(null=True)
    request_id = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=300, blank=True)
    # Why a navigator opened a case outside their pair ("break the glass"); blank for every
    # other read. Supervisors review the reads that carry one. A default in the database too:
    # writers that predate the column (a rolling deploy) still append.
    reason = models.TextField(blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["user", "at"], name="access_log_user_at"),
            # The break-the-glass reads, newest first: a few among millions of entries.
            models.Index(fields=["at"], condition=~Q(reason=""), name="access_log_break_glass"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action} {self.object_type}"
