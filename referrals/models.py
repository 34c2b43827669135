"""Referrals to community providers: the directory (providers, their services and locations, in
the shape of Open Referral HSDS), the neighbor's consent to share, and the referral itself.

Referral statuses are HL7 FHIR R4 `Task.status` codes as the Gravity Project's referral-management
profile allows them (no `ready`, no `received`). Every model here keeps its history; writes go
through `services.py`, which names the actor and the reason of each change.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from heart_cases.history import HistoricalRecords
from heart_cases.models import Case, Need, Neighbor


def new_hsds_id() -> str:
    """A fresh HSDS id (a UUID) for a directory row the program made itself."""
    return str(uuid.uuid4())


class Provider(models.Model):
    """A community provider organization. Its staff are tied to it by its slug."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    accepting_referrals = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    # Where referrals go for an organization without staff accounts: the signed-link email.
    email = models.EmailField(blank=True, help_text="Referral intake address.")
    contact_language = models.CharField(
        max_length=16, default="en", help_text="Language of the emails sent to the intake address."
    )
    phone = models.CharField(max_length=40, blank=True)
    website = models.URLField(max_length=300, blank=True)
    # The organization's id in an Open Referral HSDS package; a re-import updates by it. The
    # program's own organizations get a UUID minted for them: the HSDS API's id.
    hsds_id = models.CharField(max_length=100, blank=True, default=new_hsds_id)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hsds_id"], condition=~Q(hsds_id=""), name="provider_hsds_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ProviderMembership(models.Model):
    """Provider staff belong to exactly one organization and see only its referrals."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_membership"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="members")

    history = HistoricalRecords()

    class Meta:
        permissions = [("respond_referral", "Can answer referrals sent to their organization")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.provider}"


class Location(models.Model):
    """Where a provider serves neighbors."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    hsds_id = models.CharField(max_length=100, blank=True, default=new_hsds_id)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hsds_id"], condition=~Q(hsds_id=""), name="location_hsds_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.address or f"Location #{self.pk}"


class Service(models.Model):
    """One service a provider offers, under one of the needs the program records (API.md)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=32, choices=Need.choices, default=Need.OTHER)
    description = models.TextField(blank=True)
    hours = models.CharField(max_length=300, blank=True, help_text="e.g. Mon–Fri 09:00–17:00")
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    accepting_referrals = models.BooleanField(default=True)
    locations = models.ManyToManyField(
        Location, through="ServiceLocation", related_name="services", blank=True
    )
    hsds_id = models.CharField(max_length=100, blank=True, default=new_hsds_id)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hsds_id"], condition=~Q(hsds_id=""), name="service_hsds_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["category"], name="service_category")]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"


class ServiceLanguage(models.Model):
    """A language a service is delivered in without an interpreter (HSDS `language`)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="languages")
    code = models.CharField(max_length=16)
    # HSDS `language.name` and `note`, as the source gave them (the code is what is matched).
    name = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=300, blank=True)
    hsds_id = models.CharField(max_length=100, blank=True, default=new_hsds_id)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="service_language_unique"),
        ]
        indexes = [models.Index(fields=["code"], name="service_language_code")]

    def __str__(self) -> str:
        return self.code


class ServiceLocation(models.Model):
    """A service offered at a location (HSDS `service_at_location`)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="at_locations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    hsds_id = models.CharField(max_length=100, blank=True, default=new_hsds_id)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "location"], name="service_location_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} @ {self.location_id}"


class AddressType(models.TextChoices):
    PHYSICAL = "physical", _("Physical")
    POSTAL = "postal", _("Postal")
    VIRTUAL = "virtual", _("Virtual")


class Address(models.Model):
    """A location's address in HSDS `address` fields; `Location.address` is its one-line form
    (the physical one first)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="addresses")
    hsds_id = models.CharField(max_length=100, unique=True, default=new_hsds_id)
    attention = models.CharField(max_length=200, blank=True)
    address_1 = models.CharField(max_length=200)
    address_2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    state_province = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US.")
    address_type = models.CharField(
        max_length=16, choices=AddressType.choices, default=AddressType.PHYSICAL
    )

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        parts = (self.address_1, self.address_2, self.city, self.state_province, self.postal_code)
        return ", ".join(part for part in parts if part)


class Phone(models.Model):
    """An HSDS `phone` of an organization, a service or a location (one or more of them);
    the `phone` field of each is its first phone in one line."""

    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    hsds_id = models.CharField(max_length=100, unique=True, default=new_hsds_id)
    number = models.CharField(max_length=40)
    extension = models.PositiveIntegerField(null=True, blank=True)
    type = models.CharField(max_length=20, blank=True, help_text="HSDS: text, voice, fax, …")
    description = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(provider__isnull=False)
                | Q(service__isnull=False)
                | Q(location__isnull=False),
                name="phone_belongs_somewhere",
            ),
        ]

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        return f"{self.number} x{self.extension}" if self.extension is not None else self.number


class Schedule(models.Model):
    """When a service (or a location) is open, as an HSDS `schedule` (RFC 5545 terms: `freq`,
    `byday`, `opens_at`, `closes_at`, …); `Service.hours` is the service's in one line."""

    class Freq(models.TextChoices):
        WEEKLY = "WEEKLY", _("Weekly")
        MONTHLY = "MONTHLY", _("Monthly")

    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.CASCADE, related_name="schedules"
    )
    hsds_id = models.CharField(max_length=100, unique=True, default=new_hsds_id)
    freq = models.CharField(max_length=8, choices=Freq.choices, blank=True)
    interval = models.PositiveIntegerField(null=True, blank=True)
    byday = models.CharField(max_length=100, blank=True, help_text="e.g. MO,TU,WE,TH,FR")
    bymonthday = models.CharField(max_length=100, blank=True)
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=300, blank=True)
    notes = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(service__isnull=False) | Q(location__isnull=False),
                name="schedule_belongs_somewhere",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.byday or self.description} {self.opens_at}–{self.closes_at}"


class Consent(models.Model):
    """The neighbor's consent to share with one provider: how it was given, when, who recorded
    it, for what purpose, what may be shared (scope) and until when. Withdrawing it, or its
    expiry, cancels the referrals still open under it, and the provider keeps their status but
    no longer sees who the neighbor is."""

    class Method(models.TextChoices):
        VERBAL = "verbal", _("Verbal")
        WRITTEN = "written", _("Written")

    class Scope(models.TextChoices):
        """What may be shared: the neighbor's name and phone (contact), the referral's reason,
        the needs the responders recorded, and whether substance use is involved (42 CFR
        Part 2)."""

        CONTACT = "contact", _("Name and phone")
        REASON = "reason", _("The reason for the referral")
        NEEDS = "needs", _("The needs recorded at the field response")
        SUBSTANCE_USE = "substance_use", _("Substance use (42 CFR Part 2)")

    DEFAULT_PURPOSE = "care coordination"
    DEFAULT_SCOPE = ("contact", "reason")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referral_consents")
    neighbor = models.ForeignKey(Neighbor, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="consents")
    method = models.CharField(max_length=16, choices=Method.choices)
    obtained_at = models.DateTimeField()
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_note = models.TextField(blank=True)
    # Database defaults too, for rows written by code from before these fields (a rolling
    # deploy) or in bulk by SQL: what earlier consent covered (migration 0004).
    purpose = models.CharField(max_length=200, default=DEFAULT_PURPOSE, db_default=DEFAULT_PURPOSE)
    # A subset of Scope's values, in Scope's order.
    scope = models.JSONField(
        default=list, db_default=models.Value(list(DEFAULT_SCOPE), output_field=models.JSONField())
    )
    expires_at = models.DateTimeField()
    # When the expiry sweep cancelled what was open under it (once).
    expiry_handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_by__isnull=False),
                name="consent_withdrawal_names_who",
            ),
        ]

    def __str__(self) -> str:
        return f"Consent #{self.pk} ({self.method}) to share with {self.provider_id}"

    def active_at(self, moment: datetime) -> bool:
        return self.withdrawn_at is None and moment < self.expires_at

    @property
    def active(self) -> bool:
        """Neither withdrawn nor expired: what it covers may be shared now."""
        return self.active_at(timezone.now())

    def covers(self, part: str) -> bool:
        """Whether `part` (a Scope value) may be shared now."""
        return self.active and part in self.scope


class ReasonCode(models.TextChoices):
    """Why a referral was declined or cancelled (API.md)."""

    NO_CAPACITY = "no-capacity", _("No capacity")
    WAITLIST = "waitlist", _("Waitlist")
    NOT_ELIGIBLE = "not-eligible", _("Not eligible")
    NO_FUNDS = "no-funds", _("No funds")
    ADDITIONAL_ASSESSMENT_REQUIRED = (
        "additional-assessment-required",
        _("Additional assessment required"),
    )
    NEIGHBOR_DECLINED = "neighbor-declined", _("Neighbor declined")
    UNABLE_TO_CONTACT = "unable-to-contact", _("Unable to contact")
    EXPIRED = "expired", _("Expired (not answered in time)")
    CONSENT_WITHDRAWN = "consent-withdrawn", _("The neighbor withdrew consent")
    CONSENT_EXPIRED = "consent-expired", _("The neighbor's consent expired")
    OTHER = "other", _("Other")


# Reasons only the system gives (a withdrawal, the consent sweep): no person picks them.
CONSENT_REASONS = frozenset({ReasonCode.CONSENT_WITHDRAWN, ReasonCode.CONSENT_EXPIRED})


class Referral(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Declined")
        IN_PROGRESS = "in-progress", _("In progress")
        ON_HOLD = "on-hold", _("Waitlisted")
        COMPLETED = "completed", _("Handoff confirmed")
        FAILED = "failed", _("Neighbor did not arrive")
        CANCELLED = "cancelled", _("Cancelled")

    class BusinessStatus(models.TextChoices):
        SENT = "sent", _("Sent")
        CHASED = "chased", _("Reminded")
        VIEWED = "viewed", _("Viewed")

    OPEN_STATUSES = (
        Status.REQUESTED,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.ON_HOLD,
    )

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="referrals")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="referrals")
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="referrals")
    reason = models.TextField(help_text="What the neighbor needs from the provider.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    business_status = models.CharField(
        max_length=16, choices=BusinessStatus.choices, default=BusinessStatus.SENT
    )
    status_reason = models.CharField(max_length=40, choices=ReasonCode.choices, blank=True)
    status_note = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The last transition: when, and by whom (a person, or the named system actor).
    status_changed_at = models.DateTimeField()
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # When the neighbor arrived at the provider, as the provider confirmed it.
    handoff_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Set at creation from the business calendar, so the sweep finds due rows by index.
    chase_at = models.DateTimeField()
    expire_at = models.DateTimeField()
    chased_at = models.DateTimeField(null=True, blank=True)
    # The "call the provider" task the chase put on the navigators' list: settled when the
    # provider answers or the referral ends, so nobody calls about a referral already answered.
    chase_task = models.ForeignKey(
        "navigation.FollowUpTask",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            # A double-clicked "Refer" must not send the provider the same neighbor twice.
            models.UniqueConstraint(
                fields=["case", "service"],
                condition=Q(status__in=["requested", "accepted", "in-progress", "on-hold"]),
                name="one_open_referral_per_case_service",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(handoff_at__isnull=False),
                name="completed_referral_has_handoff_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["rejected", "cancelled"]) | ~Q(status_reason=""),
                name="rejected_or_cancelled_referral_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "chase_at"], name="referral_status_chase"),
            models.Index(fields=["status", "expire_at"], name="referral_status_expire"),
            models.Index(fields=["provider", "status"], name="referral_provider_status"),
        ]

    def __str__(self) -> str:
        return f"Referral #{self.pk} to {self.provider_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_part2(self) -> bool:
        """Under 42 CFR Part 2 (API.md): a substance-use service, or consent whose scope holds
        substance use. Every disclosure of it carries the §2.32 notice."""
        return self.service.category == Need.SUBSTANCE_USE or (
            Consent.Scope.SUBSTANCE_USE in self.consent.scope
        )


class ProviderEmail(models.Model):
    """An email with a signed link to a provider's intake address, sent once per referral and
    kind. The row is written in the transaction that decides to send; the Celery task sends it
    after commit and stamps `sent_at`, and the sweep retries rows a lost message left unsent."""

    class Kind(models.TextChoices):
        SENT = "sent", _("New referral")
        CHASED = "chased", _("Reminder")
        CANCELLED = "cancelled", _("Referral cancelled")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    to = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Not sent because the referral ended before the message was delivered.
    skipped_at = models.DateTimeField(null=True, blank=True)
    # When its message was last queued, and how often the sweep queued it again.
    queued_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referral", "kind"], name="provider_email_once"),
        ]
        indexes = [models.Index(fields=["sent_at", "queued_at"], name="provider_email_unsent")]

    def __str__(self) -> str:
        return f"{self.kind} email for referral {self.referral_id} to {self.to}"
