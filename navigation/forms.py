"""The attempt form of the task list (issue #13 item 6): what the page shows beside each task
(the time of the call, whom it may reach, a retry's earliest time and its 48-hour deadline) and
which outcomes close the case, so that the page asks before recording them.

The rules are the service's (navigation.services.attempt_record) and the API's serializer
(navigation.api.AttemptInput); this module only reads, to tell the person beforehand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from heart_cases import clock
from heart_cases.models import Case, Contact

from . import services
from .models import ContactAttempt, FollowUpTask

# The format of a `datetime-local` input's value, to the minute.
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"

# Chains are short (three calls, then visits); a walk this long means a loop in the data.
_CHAIN_WALK_MAX = 20


def local_input_value(moment: datetime) -> str:
    """`moment` as a `datetime-local` value on the program's wall clock (TIME_ZONE)."""
    return timezone.localtime(moment).strftime(LOCAL_INPUT_FORMAT)


def local_input_as_aware(value: str) -> str:
    """A `datetime-local` value ("2026-12-01T10:00", the person's wall clock in the program's
    time zone) as ISO 8601 with its offset, as the API takes times; a value that already has an
    offset is kept, and any other text is passed on for the API's own message."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed.isoformat()


@dataclass
class AttemptFormState:
    """What one task's attempt form shows: the values typed and the errors, by field, when the
    page comes back from a refused submission; the defaults otherwise."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def closing_outcome(task: FollowUpTask, *, method: str, outcome: str) -> str | None:
    """The case outcome (Case.Outcome) that recording this attempt would close the case with,
    or None. The service's rules (attempt_record, _next_step): a decline closes the case; an
    unsuccessful visit that reaches HEART_MAX_VISIT_ATTEMPTS closes it as unable to reach."""
    if outcome == ContactAttempt.Outcome.DECLINED:
        return Case.Outcome.FOLLOW_UP_DECLINED
    if method != ContactAttempt.Method.IN_PERSON or outcome not in services.UNSUCCESSFUL:
        return None
    chain = services._chain_ids(services._chain_root(task))
    earlier = ContactAttempt.objects.filter(
        task_id__in=chain,
        outcome__in=services.UNSUCCESSFUL,
        method=ContactAttempt.Method.IN_PERSON,
    ).count()
    if earlier + 1 >= settings.HEART_MAX_VISIT_ATTEMPTS:
        return Case.Outcome.UNABLE_TO_REACH
    return None


def closing_warning(case: Case, case_outcome: str) -> str:
    """What will happen, in the person's words, before they confirm."""
    label = Case.Outcome(case_outcome).label
    if case_outcome == Case.Outcome.FOLLOW_UP_DECLINED:
        return _(
            "The neighbor declined follow-up: this closes case %(number)s as “%(outcome)s” and "
            "ends the follow-ups."
        ) % {"number": case.number, "outcome": label}
    return _(
        "This is the last visit the program makes: this closes case %(number)s as "
        "“%(outcome)s” and ends the follow-ups."
    ) % {"number": case.number, "outcome": label}


def attach_form_details(tasks: list[FollowUpTask]) -> None:
    """Give each task on the page what its form shows, in a fixed number of queries (one for
    the contacts, one per step of the longest retry chain for the 48-hour deadlines):
    `attempt_contacts` (whom the pair may call about the neighbor) and, for a retry or a visit,
    `chain_deadline` (the 48-hour deadline of the follow-up it continues)."""
    if not tasks:
        return
    _attach_contacts(tasks)
    _attach_chain_deadlines(tasks)


def _attach_contacts(tasks: list[FollowUpTask]) -> None:
    # The page shows a linked record as the person it is linked to; the service accepts the
    # contacts of either record and of every record linked to that person.
    people: dict[int, set[int]] = {}
    for task in tasks:
        shown = task.case.neighbor
        people.setdefault(task.pk, set()).update({task.case.neighbor_id, shown.pk})
    everyone = set().union(*people.values())
    contacts = list(
        Contact.objects.filter(may_contact=True)
        .filter(Q(neighbor_id__in=everyone) | Q(neighbor__linked_to_id__in=everyone))
        .select_related("neighbor")
        .order_by("name", "id")
    )
    for task in tasks:
        ids = people[task.pk]
        task.attempt_contacts = [  # type: ignore[attr-defined]
            c for c in contacts if c.neighbor_id in ids or c.neighbor.linked_to_id in ids
        ]


def _attach_chain_deadlines(tasks: list[FollowUpTask]) -> None:
    later = [t for t in tasks if t.kind != FollowUpTask.Kind.FOLLOW_UP]
    for task in tasks:
        task.chain_deadline = None  # type: ignore[attr-defined]
    if not later:
        return
    # Walk every chain back to its first task at once, one query a step.
    root_of = {t.pk: t.pk for t in later}  # task on the page -> earliest task found so far
    deadline_of: dict[int, datetime] = {}
    kind_of: dict[int, str] = {}
    frontier = set(root_of.values())
    for _step in range(_CHAIN_WALK_MAX):
        previous = dict(
            FollowUpTask.objects.filter(next_task_id__in=frontier).values_list("next_task_id", "id")
        )
        if not previous:
            break
        for shown, earliest in root_of.items():
            if earliest in previous:
                root_of[shown] = previous[earliest]
        frontier = set(previous.values())
    roots = FollowUpTask.objects.filter(pk__in=set(root_of.values())).values_list(
        "id", "deadline", "kind"
    )
    for pk, deadline, kind in roots:
        deadline_of[pk] = deadline
        kind_of[pk] = kind
    for task in later:
        root = root_of[task.pk]
        if root != task.pk and kind_of.get(root) == FollowUpTask.Kind.FOLLOW_UP:
            task.chain_deadline = deadline_of[root]  # type: ignore[attr-defined]


def time_bounds(now: datetime) -> dict[str, str]:
    """The time of the call's input: its default (now) and its earliest value. No `max`: a page
    left open for an hour would refuse a call made after it loaded; the server checks the
    clock skew."""
    return {
        "now": local_input_value(now),
        "min": local_input_value(clock.earliest_record()),
    }


def form_values(post: dict[str, Any]) -> dict[str, str]:
    """The submitted fields the form shows again (strings, as typed)."""
    names = ("method", "outcome", "occurred_at", "duration_minutes", "notes", "contact")
    return {name: str(post.get(name, "")) for name in names}
