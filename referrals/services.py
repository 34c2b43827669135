"""Referral operations. Each write runs in one transaction, locks what it changes, records history
with its actor and reason, and sends its notices once (navigation.notices) after commit.

The referral machine (DESIGN.md; codes are FHIR R4 Task.status as the Gravity Project's
referral-management profile allows them):

    requested ─accept→ accepted ─start→ in-progress ─confirm-handoff→ completed
        │                  │ └─waitlist→ on-hold ─start→ in-progress
        └─decline→ rejected└─confirm-handoff / no-show (from accepted, in-progress, on-hold)
    any open state ─cancel→ cancelled (staff, consent withdrawn, case closed, or expired)

`acknowledge` leaves `requested` and only marks the referral viewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from heart_cases import clock
from heart_cases.actors import stamp, system_actor
from heart_cases.calendar import add_business_days
from heart_cases.models import Case, Need
from heart_cases.queueing import enqueue_on_commit
from heart_cases.services import TransitionError
from navigation.models import FollowUpTask, Notice
from navigation.notices import notice_send
from navigation.selectors import case_navigators
from navigation.services import task_create, task_settle

from . import conf
from .models import Consent, Provider, ProviderEmail, ReasonCode, Referral, Service

Status = Referral.Status
OPEN = frozenset(Referral.OPEN_STATUSES)


class ReferralInvalid(Exception):
    """Input the referral cannot be made with; `errors` names each bad field (HTTP 400)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Action:
    """One arrow of the referral machine. `by` says who may take it: the receiving provider's
    staff (in the portal, the API or through the signed link) or the program's staff."""

    name: str
    by: str  # "provider" | "staff"
    sources: frozenset[str]
    target: str | None  # None: the status stays (acknowledge)
    verb: str


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("acknowledge", "provider", frozenset({Status.REQUESTED}), None, "Viewed"),
        Action("accept", "provider", frozenset({Status.REQUESTED}), Status.ACCEPTED, "Accepted"),
        Action("decline", "provider", frozenset({Status.REQUESTED}), Status.REJECTED, "Declined"),
        Action(
            "start",
            "provider",
            frozenset({Status.ACCEPTED, Status.ON_HOLD}),
            Status.IN_PROGRESS,
            "Neighbor engaged",
        ),
        Action("waitlist", "provider", frozenset({Status.ACCEPTED}), Status.ON_HOLD, "Waitlisted"),
        Action(
            "confirm-handoff",
            "provider",
            frozenset({Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD}),
            Status.COMPLETED,
            "Handoff confirmed",
        ),
        Action(
            "no-show",
            "provider",
            frozenset({Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD}),
            Status.FAILED,
            "Neighbor did not arrive",
        ),
        Action("cancel", "staff", OPEN, Status.CANCELLED, "Cancelled"),
    )
}

PROVIDER_ACTIONS = tuple(name for name, a in ACTIONS.items() if a.by == "provider")
# What a provider without an account may do through the signed link (the list).
LINK_ACTIONS = ("acknowledge", "accept", "decline", "confirm-handoff")


def allowed_actions(referral: Referral, *, by: str) -> list[str]:
    return [
        name
        for name, action in ACTIONS.items()
        if action.by == by and referral.status in action.sources
    ]


def provider_link_actor(provider: Provider) -> User:
    """Who history names when a provider acts through the signed link: the link, per provider."""
    actor = system_actor(f"provider-link:{provider.slug}")
    display = f"{provider.name} (signed link)"[:150]
    if actor.first_name != display:
        actor.first_name = display
        actor.save(update_fields=["first_name"])
    return actor


# --- creating ------------------------------------------------------------------------------

# Clocks on two devices may disagree a little: a handoff dated slightly before its referral
# is taken as simultaneous.
_FUTURE_SLACK = timedelta(minutes=15)


@transaction.atomic
def referral_create(
    *,
    actor: User,
    case: Case,
    service: Service,
    reason: str,
    consent_method: str,
    consent_obtained_at: datetime,
    provider: Provider | None = None,
    consent_purpose: str | None = None,
    consent_scope: list[str] | None = None,
    consent_expires_at: datetime | None = None,
) -> Referral:
    """Refer the case's neighbor to a provider's service, with the consent to share recorded
    (how, when, who took it, for what purpose, what may be shared, until when; API.md). The
    provider is told at once: its staff in the portal, or, for an organization without
    accounts, its intake address by an email carrying a signed link.

    Under 42 CFR Part 2 (a substance-use service, or substance use in the scope) consent must be
    written, name its purpose and hold substance use in its scope (§2.31)."""
    # Serialise with closing the case and with a second click on "Refer".
    case = Case.objects.select_for_update(of=("self",)).select_related("neighbor").get(pk=case.pk)
    if case.status != Case.Status.OPEN:
        raise TransitionError(
            gettext("Case %(number)s is closed; reopen work with a new case.")
            % {"number": case.number}
        )
    service = Service.objects.select_related("provider").get(pk=service.pk)
    errors: dict[str, list[str]] = {}
    if provider is not None and service.provider_id != provider.pk:
        errors["service"] = [
            gettext("%(service)s is not a service of %(provider)s.")
            % {"service": service.name, "provider": provider.name}
        ]
    provider = service.provider
    if not provider.accepting_referrals:
        errors.setdefault("provider", []).append(
            gettext("%(name)s is not accepting referrals.") % {"name": provider.name}
        )
    elif not service.accepting_referrals:
        errors.setdefault("service", []).append(
            gettext("%(name)s is not accepting referrals.") % {"name": service.name}
        )
    if consent_method not in Consent.Method.values:
        errors["consent"] = [
            gettext("Say how consent was given: %(methods)s.")
            % {"methods": " or ".join(Consent.Method.values)}
        ]
    consent_time_problem = clock.time_out_of_range(consent_obtained_at)
    if consent_time_problem:
        errors.setdefault("consent", []).append(
            gettext("Consent time: %(problem)s") % {"problem": consent_time_problem}
        )
    consent_errors, terms = consent_terms(
        method=consent_method,
        obtained_at=consent_obtained_at,
        purpose=consent_purpose,
        scope=consent_scope,
        expires_at=consent_expires_at,
        service=service,
    )
    if consent_errors:
        errors.setdefault("consent", []).extend(consent_errors)
    if not reason.strip():
        errors["reason"] = [gettext("Say what the neighbor needs from the provider.")]
    if errors:
        raise ReferralInvalid(errors)
    if Referral.objects.filter(case=case, service=service, status__in=OPEN).exists():
        raise TransitionError(
            gettext("Case %(number)s already has an open referral to %(service)s.")
            % {"number": case.number, "service": service.name}
        )

    now = timezone.now()
    why = f"Referred to {provider.name} ({service.name})"
    consent = stamp(
        Consent(
            case=case,
            neighbor=case.neighbor,
            provider=provider,
            method=consent_method,
            obtained_at=consent_obtained_at,
            obtained_by=actor,
            **terms,
        ),
        actor=actor,
        reason=f"Consent ({consent_method}) to share with {provider.name}",
    )
    consent.save()
    referral = stamp(
        Referral(
            case=case,
            provider=provider,
            service=service,
            consent=consent,
            reason=reason.strip(),
            requested_at=now,
            requested_by=actor,
            status_changed_at=now,
            status_changed_by=actor,
            chase_at=add_business_days(now, conf.chase_after_business_days()),
            expire_at=add_business_days(now, conf.expire_after_business_days()),
        ),
        actor=actor,
        reason=why,
    )
    referral.save()
    _tell_provider(referral, kind=Notice.Kind.REFERRAL_SENT, created_by=actor.get_username())
    return referral


def consent_terms(
    *,
    method: str,
    obtained_at: datetime,
    purpose: str | None,
    scope: list[str] | None,
    expires_at: datetime | None,
    service: Service,
) -> tuple[list[str], dict[str, Any]]:
    """What the consent covers, with API.md's defaults, and what is wrong with it: (problems,
    the Consent fields). Part 2 applies to a substance-use service or a scope that holds
    substance use; its consent is written, names its purpose, and holds substance use."""
    problems: list[str] = []
    given_scope = list(Consent.DEFAULT_SCOPE) if scope is None else list(scope)
    unknown = [part for part in given_scope if part not in Consent.Scope.values]
    if unknown:
        problems.append(
            gettext("Scope %(given)s is not one of: %(known)s.")
            % {"given": ", ".join(map(repr, unknown)), "known": " ".join(Consent.Scope.values)}
        )
    ordered = [part for part in Consent.Scope.values if part in given_scope]
    stated_purpose = (purpose or "").strip()
    if purpose is not None and not stated_purpose:
        problems.append(gettext("Name the purpose the neighbor consented to, or leave it out."))
    if len(stated_purpose) > 200:
        problems.append(gettext("The purpose is at most 200 characters."))
    until = expires_at or obtained_at + timedelta(days=365)
    if until <= timezone.now():
        problems.append(gettext("The consent's expiry is in the past: it would cover nothing."))
    elif until <= obtained_at:
        problems.append(gettext("The consent must expire after it was given."))
    part2 = service.category == Need.SUBSTANCE_USE or Consent.Scope.SUBSTANCE_USE in ordered
    if part2:
        if method != Consent.Method.WRITTEN:
            problems.append(
                gettext(
                    "Substance-use information (42 CFR Part 2) is shared only with written consent."
                )
            )
        if not stated_purpose:
            problems.append(
                gettext(
                    "Under 42 CFR Part 2 the written consent names its purpose: give `purpose`."
                )
            )
        if Consent.Scope.SUBSTANCE_USE not in ordered:
            problems.append(
                gettext(
                    "This is a substance-use service (42 CFR Part 2): the consent's scope must "
                    "hold substance_use."
                )
            )
    terms = {
        "purpose": stated_purpose or Consent.DEFAULT_PURPOSE,
        "scope": ordered,
        "expires_at": until,
    }
    return problems, terms


# --- the machine ---------------------------------------------------------------------------


def referral_acknowledge(*, actor: User, referral: Referral, via_link: bool = False) -> Referral:
    return referral_transition(
        actor=actor, referral=referral, action="acknowledge", via_link=via_link
    )


def referral_accept(
    *, actor: User, referral: Referral, note: str = "", via_link: bool = False
) -> Referral:
    return referral_transition(
        actor=actor, referral=referral, action="accept", note=note, via_link=via_link
    )


def referral_decline(
    *, actor: User, referral: Referral, reason: str, note: str = "", via_link: bool = False
) -> Referral:
    return referral_transition(
        actor=actor,
        referral=referral,
        action="decline",
        reason_code=reason,
        note=note,
        via_link=via_link,
    )


def referral_start(*, actor: User, referral: Referral, note: str = "") -> Referral:
    return referral_transition(actor=actor, referral=referral, action="start", note=note)


def referral_waitlist(*, actor: User, referral: Referral, note: str = "") -> Referral:
    return referral_transition(actor=actor, referral=referral, action="waitlist", note=note)


def referral_confirm_handoff(
    *,
    actor: User,
    referral: Referral,
    occurred_at: datetime | None = None,
    note: str = "",
    via_link: bool = False,
) -> Referral:
    return referral_transition(
        actor=actor,
        referral=referral,
        action="confirm-handoff",
        occurred_at=occurred_at,
        note=note,
        via_link=via_link,
    )


def referral_no_show(*, actor: User, referral: Referral, note: str = "") -> Referral:
    return referral_transition(actor=actor, referral=referral, action="no-show", note=note)


def referral_cancel(*, actor: User, referral: Referral, reason: str, note: str = "") -> Referral:
    return referral_transition(
        actor=actor, referral=referral, action="cancel", reason_code=reason, note=note
    )


@transaction.atomic
def referral_transition(
    *,
    actor: User,
    referral: Referral,
    action: str,
    reason_code: str = "",
    note: str = "",
    occurred_at: datetime | None = None,
    via_link: bool = False,
) -> Referral:
    """Take one arrow of the machine, or raise TransitionError (HTTP 409) when the referral's
    status does not allow it. Stamps the time and the actor on the referral and its history."""
    step = ACTIONS.get(action)
    if step is None:
        raise ValueError(f"Unknown referral action {action!r}.")
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("case", "provider", "service")
        .get(pk=referral.pk)
    )
    if referral.status not in step.sources:
        raise TransitionError(
            gettext(
                "Referral #%(id)s is %(label)s (%(status)s): '%(action)s' is not allowed in "
                "that state."
            )
            % {
                "id": referral.pk,
                "label": referral.get_status_display().lower(),
                "status": referral.status,
                "action": action,
            }
        )
    if step.target not in (Status.REJECTED, Status.CANCELLED):
        reason_code = ""  # only a decline or a cancellation carries a reason code
    elif reason_code not in ReasonCode.values:
        raise ReferralInvalid(
            {"reason": [gettext("One of: %(codes)s.") % {"codes": " ".join(ReasonCode.values)}]}
        )
    now = timezone.now()
    handoff_time_problem = clock.time_out_of_range(occurred_at, now=now) if occurred_at else None
    if handoff_time_problem:
        raise ReferralInvalid({"occurred_at": [handoff_time_problem]})
    if occurred_at is not None and occurred_at < referral.requested_at - _FUTURE_SLACK:
        raise ReferralInvalid(
            {"occurred_at": [gettext("The handoff cannot be before the referral was made.")]}
        )

    if via_link:
        actor = provider_link_actor(referral.provider)
    seen_before = (referral.acknowledged_at, referral.business_status)
    if step.by == "provider" and referral.acknowledged_at is None:
        # Any answer from the provider shows they saw it.
        referral.acknowledged_at = now
    if step.by == "provider":
        referral.business_status = Referral.BusinessStatus.VIEWED
    if step.target is None and seen_before == (referral.acknowledged_at, referral.business_status):
        return referral  # viewed again: nothing new to record
    if step.target is not None:
        referral.status = step.target
        referral.status_changed_at = now
        referral.status_changed_by = actor
        if reason_code:
            referral.status_reason = reason_code
        referral.status_note = note.strip()
        if step.target == Status.COMPLETED:
            referral.handoff_at = occurred_at or now
        if step.target not in OPEN:
            referral.ended_at = now

    via = f" by {referral.provider.name} through the signed link" if via_link else ""
    why = f"{step.verb}{via}"
    if reason_code:
        with translation.override("en"):  # the record keeps one language, whoever acted
            why += f" ({ReasonCode(reason_code).label.lower()})"
    if note.strip():
        why += f": {note.strip()}"
    stamp(referral, actor=actor, reason=why).save()
    if referral.chase_task_id is not None and (
        referral.acknowledged_at is not None or referral.status not in OPEN
    ):
        # The provider answered (or the referral ended): no call about it is owed any more.
        task_settle(
            actor=actor,
            task=referral.chase_task,  # type: ignore[arg-type]
            reason=f"Referral #{referral.pk}: {why}",
        )
    _after_transition(referral, step=step, actor=actor)
    return referral


def _after_transition(referral: Referral, *, step: Action, actor: User) -> None:
    created_by = actor.get_username()
    if step.target is None:
        return
    if step.by == "provider":
        _tell_navigators(referral, kind=Notice.Kind.REFERRAL_UPDATE, created_by=created_by)
        if step.target == Status.COMPLETED and referral.case.status == Case.Status.OPEN:
            _tell_navigators(referral, kind=Notice.Kind.CLOSE_PROMPT, created_by=created_by)
    elif step.target == Status.CANCELLED:
        if referral.status_reason == ReasonCode.EXPIRED:
            _tell_navigators(referral, kind=Notice.Kind.REFERRAL_EXPIRED, created_by=created_by)
        elif referral.status_reason == ReasonCode.CONSENT_EXPIRED:
            _tell_navigators(referral, kind=Notice.Kind.CONSENT_EXPIRED, created_by=created_by)
        _tell_provider(referral, kind=Notice.Kind.REFERRAL_UPDATE, created_by=created_by)


# --- consent and the case ------------------------------------------------------------------


@transaction.atomic
def consent_withdraw(*, actor: User, consent: Consent, note: str = "") -> Consent:
    """The neighbor takes back consent to share: record it, and cancel every referral still
    open under it (the provider is told the referral is cancelled, not why)."""
    consent = Consent.objects.select_for_update().select_related("provider").get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise TransitionError(
            gettext("Consent #%(id)s was already withdrawn.") % {"id": consent.pk}
        )
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_by = actor
    consent.withdrawal_note = note.strip()
    why = f"Consent to share with {consent.provider.name} withdrawn"
    stamp(consent, actor=actor, reason=f"{why}: {note}".strip(": ")).save()
    for referral in Referral.objects.filter(consent=consent, status__in=OPEN).order_by("id"):
        referral_transition(
            actor=actor,
            referral=referral,
            action="cancel",
            reason_code=ReasonCode.CONSENT_WITHDRAWN,
            note=why,
        )
    return consent


def consents_expire_due(*, actor: User, now: datetime, limit: int | None = None) -> int:
    """Consents whose expiry passed, swept like a withdrawal: the referrals still open under
    each are cancelled with the reason `consent-expired` (the navigators are told, as for
    every cancellation), once. The provider already sees no identity from the expiry on
    (referrals.disclosure); this settles what is still open."""
    with transaction.atomic():
        due = list(
            Consent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("provider")
            .filter(withdrawn_at__isnull=True, expiry_handled_at__isnull=True, expires_at__lte=now)
            .order_by("expires_at", "id")[: limit or conf.SWEEP_BATCH]
        )
        for consent in due:
            why = f"Consent to share with {consent.provider.name} expired"
            for referral in Referral.objects.filter(consent=consent, status__in=OPEN).order_by(
                "id"
            ):
                referral_transition(
                    actor=actor,
                    referral=referral,
                    action="cancel",
                    reason_code=ReasonCode.CONSENT_EXPIRED,
                    note=why,
                )
            consent.expiry_handled_at = now
            stamp(consent, actor=actor, reason=why).save()
    return len(due)


# When the case closes, referrals the provider has not taken up are cancelled with the reason
# closest to the case's outcome. Closed as connected to care, the referrals a provider already
# took up (accepted, in progress, waitlisted) run on to their handoff: the neighbor and the
# provider are counting on them.
_CLOSE_REASONS: dict[str, str] = {
    Case.Outcome.FOLLOW_UP_DECLINED: ReasonCode.NEIGHBOR_DECLINED,
    Case.Outcome.UNABLE_TO_REACH: ReasonCode.UNABLE_TO_CONTACT,
}


def referrals_cancel_for_closed_case(*, actor: User, case: Case, reason: str) -> None:
    """heart_cases hook: runs inside the transaction that closes the case."""
    statuses: frozenset[str] = OPEN
    if case.outcome == Case.Outcome.CONNECTED_TO_CARE:
        statuses = frozenset({Status.REQUESTED})
    code = _CLOSE_REASONS.get(case.outcome, ReasonCode.OTHER)
    for referral in Referral.objects.filter(case=case, status__in=statuses).order_by("id"):
        referral_transition(
            actor=actor, referral=referral, action="cancel", reason_code=code, note=reason
        )


# --- chasing and expiring (the beat sweep) -------------------------------------------------


def referrals_chase_due(*, actor: User, now: datetime, limit: int | None = None) -> int:
    """Referrals nobody at the provider acknowledged within the chase delay: remind the
    provider, and put a referral check on the navigators' list. Once each (chased_at and the
    notice's unique key); rows another worker holds are skipped, not waited for."""
    with transaction.atomic():
        due = list(
            Referral.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case", "provider", "service")
            .filter(
                status=Status.REQUESTED,
                acknowledged_at__isnull=True,
                chased_at__isnull=True,
                chase_at__lte=now,
                expire_at__gt=now,
            )
            .order_by("chase_at", "id")[: limit or conf.SWEEP_BATCH]
        )
        for referral in due:
            referral.chase_task = task_create(
                actor=actor,
                case=referral.case,
                kind=FollowUpTask.Kind.REFERRAL_CHECK,
                deadline=referral.expire_at,
                since=now,
                reason=(
                    f"Referral #{referral.pk} to {referral.provider.name} not acknowledged: "
                    "call the provider"
                ),
            )
            referral.chased_at = now
            referral.business_status = Referral.BusinessStatus.CHASED
            days = conf.chase_after_business_days()
            why = f"Not acknowledged in {days} business days: provider reminded"
            stamp(referral, actor=actor, reason=why).save()
            created_by = actor.get_username()
            _tell_provider(referral, kind=Notice.Kind.REFERRAL_CHASED, created_by=created_by)
            _tell_navigators(referral, kind=Notice.Kind.REFERRAL_CHASED, created_by=created_by)
    return len(due)


def referrals_expire_due(*, actor: User, now: datetime, limit: int | None = None) -> int:
    """Referrals still unanswered when they expire: cancelled with the reason `expired`; the
    navigators are told, and find a referral check on their list, to refer elsewhere."""
    with transaction.atomic():
        due = list(
            Referral.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.REQUESTED, expire_at__lte=now)
            .order_by("expire_at", "id")[: limit or conf.SWEEP_BATCH]
        )
        days = conf.expire_after_business_days()
        for referral in due:
            referral = referral_transition(
                actor=actor,
                referral=referral,
                action="cancel",
                reason_code=ReasonCode.EXPIRED,
                note=f"Not answered in {days} business days",
            )
            if referral.case.status == Case.Status.OPEN:
                task_create(
                    actor=actor,
                    case=referral.case,
                    kind=FollowUpTask.Kind.REFERRAL_CHECK,
                    deadline=add_business_days(now, 1),
                    since=now,
                    reason=(
                        f"Referral #{referral.pk} to {referral.provider.name} expired "
                        "unanswered: refer elsewhere"
                    ),
                )
    return len(due)


# --- telling people ------------------------------------------------------------------------


def provider_staff(provider: Provider) -> list[User]:
    return list(
        User.objects.filter(provider_membership__provider=provider, is_active=True)
        .select_related("staff_profile")
        .order_by("id")
    )


# Notices are rendered per recipient in their language (en, es); the labels the Spanish
# templates need.
STATUS_LABELS_ES: dict[str, str] = {
    Status.REQUESTED: "enviada",
    Status.ACCEPTED: "aceptada",
    Status.REJECTED: "rechazada",
    Status.IN_PROGRESS: "en curso",
    Status.ON_HOLD: "en lista de espera",
    Status.COMPLETED: "traspaso confirmado",
    Status.FAILED: "el vecino no llegó",
    Status.CANCELLED: "cancelada",
}
REASON_LABELS_ES: dict[str, str] = {
    ReasonCode.NO_CAPACITY: "sin cupo",
    ReasonCode.WAITLIST: "lista de espera",
    ReasonCode.NOT_ELIGIBLE: "no cumple los requisitos",
    ReasonCode.NO_FUNDS: "sin fondos",
    ReasonCode.ADDITIONAL_ASSESSMENT_REQUIRED: "se requiere otra evaluación",
    ReasonCode.NEIGHBOR_DECLINED: "el vecino no aceptó",
    ReasonCode.UNABLE_TO_CONTACT: "no se pudo contactar",
    ReasonCode.EXPIRED: "vencida sin respuesta",
    ReasonCode.CONSENT_WITHDRAWN: "el vecino retiró su consentimiento",
    ReasonCode.CONSENT_EXPIRED: "venció el consentimiento del vecino",
    ReasonCode.OTHER: "otro motivo",
}


def _context(referral: Referral, **extra: Any) -> dict[str, Any]:
    reason = referral.status_reason
    return {
        "referral_id": referral.pk,
        "case_number": referral.case.number,
        "provider": referral.provider.name,
        "service": referral.service.name,
        "status": referral.status,
        "status_label": referral.get_status_display(),
        "status_label_es": STATUS_LABELS_ES.get(referral.status, referral.status),
        "reason_code": reason,
        "reason_label": ReasonCode(reason).label if reason else "",
        "reason_label_es": REASON_LABELS_ES.get(reason, reason),
        "expire_at": timezone.localtime(referral.expire_at),
        "chase_days": conf.chase_after_business_days(),
        "expire_days": conf.expire_after_business_days(),
        **extra,
    }


_PROVIDER_EMAIL_KINDS: dict[str, str] = {
    Notice.Kind.REFERRAL_SENT: ProviderEmail.Kind.SENT,
    Notice.Kind.REFERRAL_CHASED: ProviderEmail.Kind.CHASED,
    Notice.Kind.REFERRAL_UPDATE: ProviderEmail.Kind.CANCELLED,
}


def _tell_provider(referral: Referral, *, kind: str, created_by: str) -> None:
    """Provider staff hear of it in the portal (and by email); an organization without
    accounts hears of it at its intake address, by an email with a signed link."""
    staff = provider_staff(referral.provider)
    suffix = "" if kind != Notice.Kind.REFERRAL_UPDATE else f":{referral.status}:provider"
    notice_send(
        kind=kind,
        subject_key=f"referral:{referral.pk}{suffix}",
        recipients=staff,
        context=_context(referral, audience="provider"),
        created_by=created_by,
        case=referral.case,
        link=f"/provider/referrals/{referral.pk}/",
    )
    if staff or not referral.provider.email:
        return
    email_kind = _PROVIDER_EMAIL_KINDS.get(kind)
    if email_kind is None:
        return
    if (
        email_kind == ProviderEmail.Kind.CANCELLED
        and not ProviderEmail.objects.filter(
            referral=referral, kind=ProviderEmail.Kind.SENT
        ).exists()
    ):
        return  # they never heard of it
    _, created = ProviderEmail.objects.get_or_create(
        referral=referral, kind=email_kind, defaults={"to": referral.provider.email}
    )
    if created:
        from .tasks import email_provider

        enqueue_on_commit(email_provider, referral.pk, str(email_kind))


def _tell_navigators(referral: Referral, *, kind: str, created_by: str) -> None:
    suffix = f":{referral.status}" if kind == Notice.Kind.REFERRAL_UPDATE else ""
    if kind == Notice.Kind.REFERRAL_CHASED:
        suffix = ":navigators"
    notice_send(
        kind=kind,
        subject_key=f"referral:{referral.pk}{suffix}",
        recipients=case_navigators(referral.case),
        context=_context(referral, audience="navigators", note=referral.status_note),
        created_by=created_by,
        case=referral.case,
        link=f"/cases/{referral.case_id}/",
    )
