"""What a navigator's day also holds, added to the demo city after its weeks are played: family
members the pairs may call, progress notes (one amended), possible duplicates waiting for a
supervisor, a police referral a responder entered by hand, and a crisis response whose team asked
for a debrief. Each goes through the service the pages and the API use, with the clock at its own
time, so the history says who did it and when. Every name here is fictional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from heart_cases.models import (
    ELIGIBLE_CALL_TYPES,
    Case,
    Contact,
    FieldResponseSource,
    Neighbor,
    PossibleDuplicate,
)
from heart_cases.neighbors import ContactInput, contact_add
from heart_cases.notes import case_first_response_at, note_create
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.models import FollowUpTask
from navigation.selectors import case_current_pair
from navigation.services import open_task_q

# (name, relationship, phone, language, may_contact, note), one per open case of each pair.
CONTACTS = [
    (
        "Marta Díaz",
        "sister",
        "+19195550143",
        "es",
        True,
        "Answers in the evening; the neighbor asked that she be kept informed.",
    ),
    ("Denise Hill", "mother", "+19195550118", "en", True, ""),
    (
        "Reggie Owens",
        "pastor",
        "+19195550199",
        "en",
        False,
        "Knows the neighbor well; ask the neighbor before calling him.",
    ),
]

# (peer's note, clinician's amending note or "")
NOTES = [
    (
        "Called; her sister answered and said she is staying with her this week. Will call "
        "back after 5 pm.",
        "Correction: the sister's name is Marta, and the neighbor is staying with her until "
        "Friday, not all week.",
    ),
    ("Dropped off the food pantry's hours at the shelter desk; he was out.", ""),
]


@dataclass
class WorkspaceDay:
    contacts: int = 0
    notes: int = 0
    duplicates: int = 0
    responses: int = 0


def workspace_load(*, time_machine: Any, now: datetime) -> WorkspaceDay:
    day = WorkspaceDay()
    users = get_user_model().objects
    cases = _open_cases_one_per_pair(now)
    for case, contact in zip(cases, CONTACTS, strict=False):
        pair = case_current_pair(case)
        if pair is None:
            continue
        name, relationship, phone, language, may_contact, note = contact
        with time_machine.travel(_after(case, now, hours=1), tick=False):
            contact_add(
                actor=pair.peer,
                neighbor=case.neighbor,
                data=ContactInput(
                    name=name,
                    relationship=relationship,
                    phone=phone,
                    language=language,
                    may_contact=may_contact,
                    note=note,
                ),
            )
        day.contacts += 1
    for case, (text, amendment) in zip(cases, NOTES, strict=False):
        pair = case_current_pair(case)
        if pair is None:
            continue
        written = _after(case, now, hours=2)
        # Written a quarter of an hour after the call it tells of.
        told = written - timedelta(minutes=15)
        first = case_first_response_at(case)
        with time_machine.travel(written, tick=False):
            first_note = note_create(
                actor=pair.peer, case=case, text=text, occurred_at=max(told, first or told)
            )
        day.notes += 1
        if amendment:
            amended = min(written + timedelta(minutes=30), now - timedelta(minutes=1))
            with time_machine.travel(amended, tick=False):
                note_create(
                    actor=pair.clinician, case=case, text=amendment, amends_id=first_note.pk
                )
            day.notes += 1

    cad = users.get(username="cad")
    responder = users.get(username="responder1")
    for when, actor, data in _responses(now):
        with time_machine.travel(when, tick=False):
            before = PossibleDuplicate.objects.count()
            field_response_record(actor=actor(cad, responder), data=data)
            day.duplicates += PossibleDuplicate.objects.count() - before
        day.responses += 1
    return day


def _open_cases_one_per_pair(now: datetime) -> list[Case]:
    """For each pair, its latest open case with a follow-up still owed, opened at least two
    hours ago and with no contact yet (the contacts and notes go on the cases the pairs are
    working), in pair order."""
    has_contact = Contact.objects.filter(neighbor=OuterRef("neighbor"))
    owed = FollowUpTask.objects.filter(open_task_q(), case=OuterRef("pk"))
    chosen: dict[int, Case] = {}
    for case in (
        Case.objects.filter(
            status=Case.Status.OPEN,
            pair_assignments__ended_at__isnull=True,
            opened_at__lte=now - timedelta(hours=2),
        )
        .filter(~Exists(has_contact), Exists(owed))
        .select_related("neighbor")
        .order_by("-opened_at", "-id")
    ):
        pair = case_current_pair(case)
        if pair is not None and pair.pk not in chosen:
            chosen[pair.pk] = case
    return [chosen[pk] for pk in sorted(chosen)]


def _after(case: Case, now: datetime, *, hours: int) -> datetime:
    """A moment `hours` after the case opened, and never after now."""
    return min(case.opened_at + timedelta(hours=hours), now - timedelta(minutes=5))


def _responses(now: datetime) -> list[tuple[datetime, Any, FieldResponseInput]]:
    """Who records each (the CAD integration or a responder by hand) and when. The police
    referral names a man already on record with his birth date off by a few days and no phone,
    so intake keeps a new record and asks a supervisor whether the two are one person ("same
    first and last name"); the crisis call's neighbor goes by the alias of one already on record
    ("same alias")."""
    named = (
        Neighbor.objects.filter(linked_to__isnull=True, date_of_birth__isnull=False)
        .exclude(first_name="")
        .exclude(last_name="")
        .order_by("id")
        .first()
    )
    alias = Neighbor.objects.filter(linked_to__isnull=True).exclude(alias="").order_by("id").first()
    police_at = now - timedelta(hours=5)
    crisis_at = now - timedelta(hours=7)
    responses: list[tuple[datetime, Any, FieldResponseInput]] = []
    if named is not None and named.date_of_birth is not None:
        responses.append(
            (
                police_at + timedelta(hours=1),
                lambda cad, responder: responder,
                FieldResponseInput(
                    incident_number="DPD-26-041187",
                    unit="Officer K. Ramos, Durham PD District 2",
                    program="CRT",
                    call_type=ELIGIBLE_CALL_TYPES["CRT"][0],
                    responded_at=police_at,
                    cleared_at=police_at + timedelta(minutes=40),
                    address="500 W Main St, Durham, NC",
                    neighbor=NeighborInput(
                        first_name=named.first_name,
                        last_name=named.last_name,
                        date_of_birth=named.date_of_birth + timedelta(days=9),
                        language=named.language,
                        unsheltered=True,
                    ),
                    needs=("housing",),
                    disposition="referred",
                    follow_up_consent=True,
                    narrative="Referred by DPD after a welfare check; agreed to a call.",
                    source=FieldResponseSource.POLICE_REFERRAL,
                ),
            )
        )
    responses.append(
        (
            crisis_at + timedelta(minutes=75),
            lambda cad, responder: cad,
            FieldResponseInput(
                incident_number=f"D{crisis_at:%Y}-9000001",
                unit="CCD-2",
                program="CCD",
                call_type=ELIGIBLE_CALL_TYPES["CCD"][0],
                responded_at=crisis_at,
                dispatched_at=crisis_at - timedelta(minutes=14),
                arrived_at=crisis_at,
                cleared_at=crisis_at + timedelta(minutes=65),
                address="2100 Angier Ave, Durham, NC",
                neighbor=NeighborInput(
                    alias=alias.alias if alias is not None else "Bobby",
                    language="en",
                    unsheltered=True,
                ),
                needs=("mental_health",),
                disposition="resolved_on_scene",
                follow_up_consent=True,
                responder_felt_safe=False,
                narrative="Escalated before de-escalating; the team asked for a debrief.",
                debrief_requested=True,
            ),
        )
    )
    return responses
