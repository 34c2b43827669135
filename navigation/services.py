"""Care-navigation operations: pairs, follow-up tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from heart_cases.actors import stamp
from heart_cases.history import insert_with_history
from heart_cases.hooks import FollowUpRef
from heart_cases.models import Case, Contact, FieldResponse
from heart_cases.queueing import enqueue_on_commit
from heart_cases.services import TransitionError, case_close, follow_up_deadline

from . import hours
from .models import ContactAttempt, FollowUpTask, Notice, Pair, PairAssignment


def task_create(
    *,
    actor: User,
    case: Case,
    kind: str,
    deadline: datetime,
    reason: str,
    field_response: FieldResponse | None = None,
    pair: Pair | None = None,
    new_case: bool = False,
    since: datetime | None = None,
) -> FollowUpTask:
    """A task on the case's pair's list. Its work-by time follows hours.task_work_by from
    `since` (the encounter, or the attempt that scheduled this step; now by default) to its
    deadline; it goes to the case's current pair if there is one (a case opened in this
    transaction has none yet)."""
    if pair is None and not new_case:
        current = PairAssignment.objects.filter(case=case, ended_at__isnull=True).first()
        pair = current.pair if current else None
    when = hours.task_work_by(since or timezone.now(), deadline, hours.active_hours())
    task = stamp(
        FollowUpTask(
            case=case,
            field_response=field_response,
            kind=kind,
            deadline=deadline,
            work_by=when.at,
            outside_service_hours=when.outside_service_hours,
            missed_after=when.first_window_ends,
            pair=pair,
        ),
        actor=actor,
        reason=reason,
    )
    return insert_with_history(task)


def follow_up_schedule(
    *, actor: User, case: Case, field_response: FieldResponse, new_case: bool = False
) -> FollowUpTask:
    """The 48-hour follow-up for a field response: a row with its deadline, swept by beat
    (DESIGN.md: never a 48-hour Celery countdown). One per consented field response, so each
    encounter's clock is kept and counted."""
    return task_create(
        actor=actor,
        case=case,
        kind=FollowUpTask.Kind.FOLLOW_UP,
        deadline=follow_up_deadline(field_response.responded_at),
        since=field_response.responded_at,
        field_response=field_response,
        reason=f"48-hour follow-up for {field_response}",
        new_case=new_case,
    )


def tasks_cancel_for_closed_case(*, actor: User, case: Case, reason: str) -> None:
    """Closing a case cancels what is still pending and resolves what was missed."""
    _settle_open(
        FollowUpTask.objects.filter(case=case),
        actor=actor,
        reason=reason,
        pending_becomes=FollowUpTask.Status.CANCELLED,
    )


def _settle_open(
    tasks: QuerySet[FollowUpTask],
    *,
    actor: User,
    reason: str,
    pending_becomes: str,
    completed_at: datetime | None = None,
) -> int:
    """Of these tasks, the ones still owed: a pending one takes `pending_becomes` (done or
    cancelled, completed at `completed_at` or now), a missed one is resolved now. Each change
    is in the task's history. Returns how many changed."""
    now = timezone.now()
    settled = 0
    for task in tasks.select_for_update().filter(open_task_q()):
        if task.status == FollowUpTask.Status.PENDING:
            task.status = pending_becomes
            task.completed_at = completed_at or now
        else:
            task.resolved_at = now
        stamp(task, actor=actor, reason=reason).save()
        settled += 1
    return settled


def open_task_q() -> Q:
    """Tasks still owed: pending, or missed and not yet resolved."""
    return Q(status=FollowUpTask.Status.PENDING) | Q(
        status=FollowUpTask.Status.MISSED, resolved_at__isnull=True
    )


@transaction.atomic
def follow_ups_correct_work_by(*, actor: User) -> int:
    """Open follow-ups written before hours.task_work_by knew the rule for 48 hours that hold
    no service time: their work-by was the last service moment before the encounter, so they
    were born overdue. Recompute each from its encounter and save the ones that change, in
    history by `actor`. Safe to run again: a second run changes nothing. Returns how many
    changed."""
    service = hours.active_hours()
    tasks = (
        FollowUpTask.objects.select_for_update(of=("self",))
        .filter(open_task_q(), kind=FollowUpTask.Kind.FOLLOW_UP, field_response__isnull=False)
        .select_related("field_response")
        .order_by("id")
    )
    changed = 0
    for task in tasks:
        encounter = task.field_response
        assert encounter is not None  # noqa: S101  # filtered above; for the type checker
        when = hours.task_work_by(encounter.responded_at, task.deadline, service)
        if not (when.outside_service_hours or task.outside_service_hours):
            continue  # the rule for every other task has not changed: leave them as they are
        current = (task.work_by, task.outside_service_hours, task.missed_after)
        if current == (when.at, when.outside_service_hours, when.first_window_ends):
            continue
        task.work_by = when.at
        task.outside_service_hours = when.outside_service_hours
        task.missed_after = when.first_window_ends
        reason = (
            gettext_noop("Work-by corrected: the 48 hours fell outside service hours")
            if when.outside_service_hours
            else gettext_noop("Work-by corrected to the last service moment before the deadline")
        )
        stamp(task, actor=actor, reason=reason).save()
        changed += 1
    return changed


class FollowUpScheduler:
    """Registered with heart_cases.hooks so intake can create follow-ups without importing us."""

    def schedule(
        self, *, actor: User, case: Case, field_response: FieldResponse, new_case: bool = False
    ) -> FollowUpRef | None:
        task = follow_up_schedule(
            actor=actor, case=case, field_response=field_response, new_case=new_case
        )
        if task.pair_id is None:
            from .tasks import assign_case

            enqueue_on_commit(assign_case, case.pk)
        return FollowUpRef(
            id=task.pk,
            deadline=task.deadline,
            work_by=task.work_by,
            outside_service_hours=task.outside_service_hours,
        )

    def for_field_response(self, *, field_response: FieldResponse) -> FollowUpRef | None:
        task = (
            FollowUpTask.objects.filter(
                field_response=field_response, kind=FollowUpTask.Kind.FOLLOW_UP
            )
            .order_by("id")
            .first()
        )
        if task is None:
            return None
        return FollowUpRef(
            id=task.pk,
            deadline=task.deadline,
            work_by=task.work_by,
            outside_service_hours=task.outside_service_hours,
        )

    def retime(self, *, actor: User, field_response: FieldResponse, reason: str) -> None:
        """The encounter's time was corrected (the CAD's record replaced one entered by
        hand): a follow-up still pending keeps its 48 hours from the corrected time."""
        service = hours.active_hours()
        deadline = follow_up_deadline(field_response.responded_at)
        pending = FollowUpTask.objects.select_for_update(of=("self",)).filter(
            field_response=field_response,
            kind=FollowUpTask.Kind.FOLLOW_UP,
            status=FollowUpTask.Status.PENDING,
        )
        for task in pending:
            when = hours.task_work_by(field_response.responded_at, deadline, service)
            if (task.deadline, task.work_by) == (deadline, when.at):
                continue
            task.deadline = deadline
            task.work_by = when.at
            task.outside_service_hours = when.outside_service_hours
            task.missed_after = when.first_window_ends
            stamp(task, actor=actor, reason=f"{reason}: deadline from the corrected time").save()


@transaction.atomic
def pair_create(*, actor: User, clinician: User, peer: User) -> Pair:
    existing = Pair.objects.filter(clinician=clinician, peer=peer, active=True).first()
    if existing is not None:
        return existing
    pair = stamp(
        Pair(clinician=clinician, peer=peer), actor=actor, reason=gettext_noop("Pair formed")
    )
    pair.save()
    return pair


@transaction.atomic
def pair_assign(*, actor: User, case: Case, pair: Pair, reason: str) -> PairAssignment:
    """Make `pair` the owner of the case and of its pending tasks; the earlier assignment ends
    (kept in history, and for continuity when the neighbor returns)."""
    now = timezone.now()
    current = PairAssignment.objects.select_for_update().filter(case=case, ended_at__isnull=True)
    for assignment in current:
        if assignment.pair_id == pair.pk:
            return assignment
        assignment.ended_at = now
        stamp(assignment, actor=actor, reason=reason).save()
    assignment = stamp(
        PairAssignment(case=case, pair=pair, assigned_at=now, reason=reason),
        actor=actor,
        reason=reason,
    )
    assignment.save()
    for task in FollowUpTask.objects.select_for_update().filter(open_task_q(), case=case):
        task.pair = pair
        stamp(task, actor=actor, reason=reason).save()
    return assignment


# --- pair assignment ---------------------------------------------------------------------


def _pair_languages(pair: Pair) -> set[str]:
    spoken: set[str] = set()
    for person in (pair.clinician, pair.peer):
        profile = getattr(person, "staff_profile", None)
        spoken.update(getattr(profile, "languages", None) or ["en"])
    return spoken


def pair_hours(pair: Pair, service: hours.Hours) -> hours.Hours:
    """The pair's weekly duty windows, or the service hours when it has none."""
    windows: dict[int, list] = {}
    for window in pair.duty_windows.all():
        windows.setdefault(window.weekday, []).append((window.starts, window.ends))
    if not windows:
        return service
    return hours.Hours(zone=service.zone, works_holidays=service.works_holidays, windows=windows)


def _on_duty_between(pair: Pair, start: datetime, end: datetime, service: hours.Hours) -> bool:
    for opens, _closes in pair_hours(pair, service).windows_from(start):
        return opens <= end
    return False


def pair_loads() -> dict[int, int]:
    """Open tasks per pair: the measure of capacity and of 'least loaded'."""
    return dict(
        FollowUpTask.objects.filter(open_task_q(), pair__isnull=False, next_task__isnull=True)
        .values_list("pair_id")
        .annotate(n=Count("id"))
        .values_list("pair_id", "n")
    )


@dataclass(frozen=True)
class AssignmentChoice:
    pair: Pair
    why: str


def choose_pair(*, case: Case, now: datetime) -> AssignmentChoice | None:
    """Pairs on duty before the task's work-by and under capacity; then a pair that speaks
    the neighbor's language when one exists; then the pair that knew a returning neighbor;
    then the least loaded, ties by id. The caller holds the pair locks."""
    pairs = list(
        Pair.objects.select_for_update(of=("self",))
        .filter(active=True)
        .select_related("clinician__staff_profile", "peer__staff_profile")
        .prefetch_related("duty_windows")
        .order_by("id")
    )
    if not pairs:
        return None
    loads = pair_loads()
    service = hours.active_hours()
    open_tasks = FollowUpTask.objects.filter(open_task_q(), case=case)
    work_by = min((t.work_by for t in open_tasks), default=now + timedelta(days=2))
    # A task whose work-by already passed (an encounter late on a Friday, say) goes to whoever
    # is on duty next.
    horizon = max(work_by, hours.window_end(now, service))
    eligible = [
        p
        for p in pairs
        if loads.get(p.pk, 0) < p.capacity and _on_duty_between(p, now, horizon, service)
    ]
    if not eligible:
        return None
    language = case.neighbor.language or "en"
    why = []
    if language != "en":
        speakers = [p for p in eligible if language in _pair_languages(p)]
        if speakers:
            eligible = speakers
            why.append(f"speaks {language}")
    previous = (
        PairAssignment.objects.filter(case__neighbor_id=case.neighbor_id)
        .exclude(case=case)
        .order_by("-assigned_at", "-id")
        .values_list("pair_id", flat=True)
        .first()
    )
    known = [p for p in eligible if p.pk == previous]
    if known:
        return AssignmentChoice(known[0], ", ".join([*why, "knew the neighbor"]))
    chosen = min(eligible, key=lambda p: (loads.get(p.pk, 0), p.pk))
    return AssignmentChoice(chosen, ", ".join([*why, "least loaded"]))


@transaction.atomic
def case_assign_auto(*, actor: User, case: Case) -> PairAssignment | None:
    """Assign an open case that has no pair. Race-free: the pair rows are locked, so
    concurrent assignments see each other's loads."""
    case = Case.objects.select_for_update().select_related("neighbor").get(pk=case.pk)
    if case.status != Case.Status.OPEN:
        return None
    current = PairAssignment.objects.filter(case=case, ended_at__isnull=True).first()
    if current is not None:
        return current
    choice = choose_pair(case=case, now=timezone.now())
    if choice is None:
        return None  # no pair can take it now: it shows as unassigned and the sweep retries
    assignment = pair_assign(
        actor=actor, case=case, pair=choice.pair, reason=f"Assigned automatically: {choice.why}"
    )
    _notify_assignment(assignment, actor=actor)
    return assignment


@transaction.atomic
def case_reassign(*, actor: User, case: Case, pair: Pair, reason: str) -> PairAssignment:
    if case.status != Case.Status.OPEN:
        raise TransitionError(gettext("Case %(number)s is closed.") % {"number": case.number})
    if not pair.active:
        raise TransitionError(gettext("Pair %(id)s is not active.") % {"id": pair.pk})
    assignment = pair_assign(
        actor=actor, case=case, pair=pair, reason=f"Reassigned by {actor.get_username()}: {reason}"
    )
    _notify_assignment(assignment, actor=actor)
    return assignment


def _notify_assignment(assignment: PairAssignment, *, actor: User) -> None:
    from .notices import notice_send

    pair = assignment.pair
    notice_send(
        kind=Notice.Kind.ASSIGNED,
        subject_key=f"assignment:{assignment.pk}",
        recipients=[pair.clinician, pair.peer],
        context={"case": assignment.case, "neighbor": assignment.case.neighbor},
        created_by=actor.get_username(),
        case=assignment.case,
        link="/tasks/",
    )


# --- contact attempts --------------------------------------------------------------------

UNSUCCESSFUL = {
    ContactAttempt.Outcome.NO_ANSWER,
    ContactAttempt.Outcome.LEFT_VOICEMAIL,
    ContactAttempt.Outcome.WRONG_NUMBER,
}
REMOTE_METHODS = {ContactAttempt.Method.PHONE, ContactAttempt.Method.TEXT}


@dataclass
class AttemptResult:
    attempt: ContactAttempt
    task: FollowUpTask
    next_task: FollowUpTask | None
    case_closed: bool


def _chain_root(task: FollowUpTask) -> FollowUpTask:
    root = task
    seen = {task.pk}
    while True:
        previous = FollowUpTask.objects.filter(next_task=root).first()
        if previous is None or previous.pk in seen:
            return root
        seen.add(previous.pk)
        root = previous


def can_work_task(user: User, task: FollowUpTask) -> bool:
    if user.has_perm("navigation.view_all_tasks"):
        return True
    if not user.has_perm("navigation.add_contactattempt") or task.pair is None:
        return False
    return user.pk in (task.pair.clinician_id, task.pair.peer_id)


@transaction.atomic
def attempt_record(
    *,
    actor: User,
    task: FollowUpTask,
    method: str,
    outcome: str,
    occurred_at: datetime,
    duration_minutes: int | None = None,
    notes: str = "",
    contact: int | None = None,
) -> AttemptResult:
    """Log a contact attempt and schedule what follows from its outcome (DESIGN.md):
    reached completes the follow-up; no answer or voicemail retries at least 4 service hours
    later; after 3 unsuccessful phone attempts, or a wrong number, a visit in person; a
    decline closes the case. Too many failed visits close the case as unable to reach.

    `occurred_at` is kept as given (a call logged late keeps the time it was made); one before
    the encounter the task follows up is refused (AttemptInvalid), as is a `contact` (an id)
    that is not one of the neighbor's contacts or may not be called. Reaching a contact is a
    contact made, as the program follows up with callers and their families; only the
    neighbor can decline."""
    task = (
        FollowUpTask.objects.select_for_update(of=("self",))
        .select_related("case", "pair")
        .get(pk=task.pk)
    )
    if task.next_task_id is not None:
        raise TransitionError(gettext("A later task replaced this one; log the attempt there."))
    if not (
        task.status == FollowUpTask.Status.PENDING
        or (task.status == FollowUpTask.Status.MISSED and task.resolved_at is None)
    ):
        raise TransitionError(
            gettext("This task is %(status)s; nothing more can be logged on it.")
            % {"status": task.get_status_display().lower()}
        )
    case = task.case
    if case.status != Case.Status.OPEN:
        raise TransitionError(gettext("Case %(number)s is closed.") % {"number": case.number})
    reached = _attempt_check(task=task, occurred_at=occurred_at, outcome=outcome, contact=contact)
    with translation.override("en"):  # the record keeps one language, whoever logged it
        reason = (
            f"{ContactAttempt.Method(method).label} attempt: "
            f"{ContactAttempt.Outcome(outcome).label}"
        )
    attempt = stamp(
        ContactAttempt(
            task=task,
            case=case,
            method=method,
            outcome=outcome,
            occurred_at=occurred_at,
            duration_minutes=duration_minutes,
            notes=notes,
            contact=reached,
            made_by=actor,
        ),
        actor=actor,
        reason=reason if reached is None else f"{reason} (to {reached.name}, a contact)",
    )
    attempt.save()

    if outcome in (ContactAttempt.Outcome.REACHED, ContactAttempt.Outcome.DECLINED):
        _complete_chain(actor=actor, task=task, at=occurred_at, reason=reason)
        closed = False
        if outcome == ContactAttempt.Outcome.DECLINED:
            case_close(
                actor=actor,
                case=case,
                outcome=Case.Outcome.FOLLOW_UP_DECLINED,
                note="The neighbor declined follow-up when contacted.",
            )
            closed = True
        task.refresh_from_db()
        return AttemptResult(attempt, task, None, closed)

    next_task = _next_step(actor=actor, task=task, attempt=attempt, reason=reason)
    task.refresh_from_db()
    return AttemptResult(attempt, task, next_task, next_task is None)


class AttemptInvalid(ValueError):
    """An attempt the service refuses, by field ({"occurred_at": ["..."]}): the API's 400."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _encounter_at(task: FollowUpTask) -> datetime | None:
    """When the encounter this task follows up began: its chain's field response, else the
    case's first one."""
    root = _chain_root(task)
    if root.field_response_id is not None:
        return FieldResponse.objects.filter(pk=root.field_response_id).values_list(
            "responded_at", flat=True
        )[0]
    earliest = task.case.field_responses.aggregate(first=Min("responded_at"))
    first: datetime | None = earliest["first"]
    return first


def _attempt_check(
    *, task: FollowUpTask, occurred_at: datetime, outcome: str, contact: int | None
) -> Contact | None:
    """AttemptInvalid naming each field that cannot be so; else the contact reached, if any."""
    errors: dict[str, list[str]] = {}
    encounter = _encounter_at(task)
    if encounter is not None and occurred_at < encounter:
        errors["occurred_at"] = [
            gettext("This is before the field response (%(at)s) this task follows up.")
            % {"at": timezone.localtime(encounter).strftime("%Y-%m-%d %H:%M %Z")}
        ]
    found: Contact | None = None
    if contact is not None:
        neighbor = task.case.neighbor
        person = neighbor.linked_to_id or neighbor.pk
        found = (
            Contact.objects.filter(pk=contact)
            .filter(Q(neighbor_id__in=[person, neighbor.pk]) | Q(neighbor__linked_to_id=person))
            .first()
        )
        if found is None:
            errors["contact"] = [gettext("Not one of this neighbor's contacts.")]
        elif not found.may_contact:
            errors["contact"] = [
                gettext("%(name)s may not be contacted about the neighbor.") % {"name": found.name}
            ]
        elif outcome == ContactAttempt.Outcome.DECLINED:
            errors["outcome"] = [
                gettext(
                    "Only the neighbor can decline follow-up; log what the contact said as "
                    "reached, with notes."
                )
            ]
    if errors:
        raise AttemptInvalid(errors)
    return found


def _complete_chain(*, actor: User, task: FollowUpTask, at: datetime, reason: str) -> None:
    """A successful contact settles this task, every task before it in its chain, and every
    other follow-up of the case opened before the contact (one call answers for every
    encounter that preceded it)."""
    _settle_open(
        FollowUpTask.objects.filter(case_id=task.case_id, created_at__lte=max(at, task.created_at)),
        actor=actor,
        reason=f"Contact made ({reason})",
        pending_becomes=FollowUpTask.Status.DONE,
        completed_at=at,
    )


def _next_step(
    *, actor: User, task: FollowUpTask, attempt: ContactAttempt, reason: str
) -> FollowUpTask | None:
    root = _chain_root(task)
    chain_ids = _chain_ids(root)
    failures = ContactAttempt.objects.filter(task_id__in=chain_ids, outcome__in=UNSUCCESSFUL)
    remote_failures = failures.filter(method__in=REMOTE_METHODS).count()
    visit_failures = failures.filter(method=ContactAttempt.Method.IN_PERSON).count()
    service = hours.active_hours()
    if visit_failures >= settings.HEART_MAX_VISIT_ATTEMPTS:
        case_close(
            actor=actor,
            case=task.case,
            outcome=Case.Outcome.UNABLE_TO_REACH,
            note=(
                f"Closed after {remote_failures} unsuccessful calls and {visit_failures} "
                "unsuccessful visits."
            ),
        )
        return None
    go_in_person = (
        attempt.outcome == ContactAttempt.Outcome.WRONG_NUMBER
        or attempt.method == ContactAttempt.Method.IN_PERSON
        or remote_failures >= settings.HEART_MAX_CALL_ATTEMPTS
    )
    if go_in_person:
        kind = FollowUpTask.Kind.IN_PERSON_VISIT
        due = hours.next_window_start(attempt.occurred_at, service)
        deadline = hours.add_service_hours(
            due, timedelta(hours=settings.HEART_VISIT_WITHIN_HOURS), service
        )
        why = gettext_noop("visit in person")
    else:
        kind = FollowUpTask.Kind.RETRY_CALL
        due = hours.add_service_hours(
            attempt.occurred_at, timedelta(hours=settings.HEART_RETRY_AFTER_SERVICE_HOURS), service
        )
        deadline = hours.window_end(due, service)
        why = gettext_noop("call again")
    # The original 48-hour deadline still stands where it is later than the step's own.
    deadline = (
        max(deadline, root.deadline) if root.status == FollowUpTask.Status.PENDING else deadline
    )
    next_task = task_create(
        actor=actor,
        case=task.case,
        kind=kind,
        deadline=deadline,
        since=attempt.occurred_at,
        pair=task.pair,
        reason=f"{reason}: {why}",
    )
    next_task.due_at = due
    stamp(next_task, actor=actor, reason=f"{reason}: {why}").save()
    task.next_task = next_task
    stamp(task, actor=actor, reason=f"{reason}: {why} next").save()
    return next_task


def task_settle(*, actor: User, task: FollowUpTask, reason: str) -> int:
    """A task whose reason went away (the provider answered the referral it was about): it
    and the later steps of its chain are done, if still owed. Returns how many were settled."""
    return _settle_open(
        FollowUpTask.objects.filter(pk__in=_chain_ids(task)),
        actor=actor,
        reason=reason,
        pending_becomes=FollowUpTask.Status.DONE,
    )


def _chain_ids(root: FollowUpTask) -> list[int]:
    ids = [root.pk]
    current = root
    while current.next_task_id is not None and current.next_task_id not in ids:
        ids.append(current.next_task_id)
        current = FollowUpTask.objects.get(pk=current.next_task_id)
    return ids
