"""Keeping the metrics read model (models.py) equal to the source tables.

`refresh()` runs every minute (the beat task `metrics.refresh_facts`) and, through
`refresh_before_read()`, before a metrics read that may write. It costs one query when nothing
changed; otherwise it takes the waiting `FactChange` rows (written by triggers in the writers'
transactions, so a change and its note commit together) and recomputes, set-based, the facts of
the neighbors and cases they name. `rebuild()` recomputes everything: on first use, when the
time zone or a definition changed, and when more changes wait than a rebuild costs.

A read never needs to write: where it cannot (a read replica, a read-only session) or must not
(`HEART_METRICS_REFRESH_ON_READ = False`), it reads the facts as the last refresh left them, and
`freshness()` tells it when that was and how many changes are still waiting.

The facts are computed in the database: each recomputation is one INSERT … SELECT compiled from
an ORM query (so it runs on PostgreSQL and on SQLite alike), never rows looped over in Python.
"""

from __future__ import annotations

import hashlib
import json
import logging
import operator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractHour,
    ExtractIsoWeekDay,
    Lag,
    Least,
    TruncDate,
    TruncWeek,
)
from django.utils import timezone

from calls.models import EligibleCall
from calls.models import Outcome as CallOutcome
from heart_cases.models import ELIGIBLE_CALL_TYPES, Disposition, FieldResponse, Neighbor
from heart_cases.models import Case as NeighborCase
from navigation.models import ContactAttempt, FollowUpTask

from .models import (
    CallDay,
    CallFact,
    CaseDay,
    CaseFact,
    DemographicProfile,
    FactChange,
    FactState,
    FollowUpDay,
    FollowUpFact,
    ResponseDay,
    ResponseFact,
    ResponseMinuteDay,
)

# Bump when a fact's definition changes: the next read rebuilds every fact.
DEFINITIONS_VERSION = "3"
# A contact attempt that reached the neighbor. A neighbor who declines further help was
# reached too: the follow-up happened (and the case closes as follow-up declined).
SUCCESSFUL_CONTACT = (ContactAttempt.Outcome.REACHED, ContactAttempt.Outcome.DECLINED)
# Notes read per round, and neighbors or cases recomputed per statement. Above REBUILD_ABOVE
# waiting notes (days of intake at 100 times the pilot's volume with no read and no beat
# refresh in between) a full rebuild is the cheaper way.
NOTES_PER_ROUND = 5_000
BATCH = 500
# Calls are recomputed from their own row and their incident's field responses only, and the
# CAD sends them a thousand at a time.
CALL_BATCH = 2_000
REBUILD_ABOVE = 200_000
STATE_ID = 1
# Waiting changes are counted up to this many (a LIMITed count costs the same whatever the
# backlog): this number means "more than one fewer".
PENDING_COUNTED_UP_TO = 10_001
# PostgreSQL's read_only_sql_transaction: a write in a read-only transaction or on a standby.
READ_ONLY_SQLSTATE = "25006"

logger = logging.getLogger(__name__)


def signature() -> str:
    """What the facts depend on besides the data: the time zone and the eligible call types."""
    table = json.dumps({str(k): list(v) for k, v in ELIGIBLE_CALL_TYPES.items()}, sort_keys=True)
    eligible = hashlib.sha256(table.encode()).hexdigest()[:12]
    return f"v{DEFINITIONS_VERSION} tz={settings.TIME_ZONE} eligible={eligible}"


@dataclass(frozen=True)
class Freshness:
    """How current the facts are. `as_of`: when the last refresh that folded changes in (or the
    last rebuild) started, None before the facts are first built; `pending_changes`: changes
    committed since and not folded in yet, counted up to PENDING_COUNTED_UP_TO. With none
    pending, the facts count every committed change."""

    as_of: datetime | None
    pending_changes: int


def refresh() -> None:
    """Fold the waiting changes into the facts (or rebuild them if they are out of date)."""
    if not _up_to_date():
        _fold()


def refresh_before_read() -> None:
    """Bring the facts up to date before a read where the read may write, so that on a single
    database the numbers are live. Where it cannot write (a read replica, a session or
    transaction set read-only) or HEART_METRICS_REFRESH_ON_READ is False, the read takes the
    facts as they are: the beat task keeps them current, and `freshness()` says how current."""
    if not getattr(settings, "HEART_METRICS_REFRESH_ON_READ", True):
        return
    if _up_to_date() or _read_only():
        return
    try:
        _fold()
    except DatabaseError as exc:
        # Read-only in a way the check above does not see (a SQLite file opened read-only, a
        # server switched to read-only meanwhile): the fold's transaction or savepoint was
        # rolled back whole, and the read goes on.
        if not _is_read_only_error(exc):
            raise
        logger.info("metrics: the database is read-only; reading the facts as they are")


def freshness() -> Freshness:
    """When the facts were last brought up to date and how many changes wait: one query."""
    waiting = _pending_count()
    state = (
        FactState.objects.filter(pk=STATE_ID)
        .annotate(pending=RawSQL(waiting[0], waiting[1]))  # noqa: S611 - compiled below
        .values_list("refreshed_at", "pending")
        .first()
    )
    if state is None:
        # Never built (the row is created by the first refresh): count what waits on its own.
        with connection.cursor() as cursor:
            cursor.execute(*waiting)
            return Freshness(as_of=None, pending_changes=cursor.fetchone()[0])
    return Freshness(as_of=state[0], pending_changes=state[1])


def _pending_count() -> tuple[str, tuple[int]]:
    """SQL counting the waiting changes, up to PENDING_COUNTED_UP_TO."""
    table = connection.ops.quote_name(FactChange._meta.db_table)
    return (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS waiting",  # noqa: S608
        (PENDING_COUNTED_UP_TO,),
    )


def _up_to_date() -> bool:
    """Built with today's signature and nothing waiting: one query."""
    state = (
        FactState.objects.filter(pk=STATE_ID)
        .annotate(waiting=Exists(FactChange.objects.all()))
        .values("signature", "waiting")
        .first()
    )
    return state is not None and state["signature"] == signature() and not state["waiting"]


def _read_only() -> bool:
    """Whether this connection's transactions are read-only (PostgreSQL: a hot standby, or
    `default_transaction_read_only` / `SET TRANSACTION READ ONLY`)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_read_only")
        row = cursor.fetchone()
    return row is not None and row[0] == "on"


def _is_read_only_error(exc: DatabaseError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == READ_ONLY_SQLSTATE:
        return True
    # SQLite opened read-only (mode=ro, or a file the process may not write).
    return connection.vendor == "sqlite" and "readonly database" in str(exc)


def _fold() -> None:
    with transaction.atomic():
        # Refreshes take turns: two interleaved recomputations of one neighbor would insert
        # its facts twice. The one that waited finds the work done.
        if _lock_state().signature != signature():
            _rebuild_locked()
            return
        # Every change committed before this moment is among the notes read below.
        as_of = timezone.now()
        last = FactChange.objects.aggregate(last=Max("id"))["last"]
        if last is None:
            return
        if FactChange.objects.filter(id__lte=last).count() > REBUILD_ABOVE:
            _rebuild_locked()
            return
        while True:
            # Only changes already committed are visible here, and so is the data they note:
            # what is recomputed below includes them, and exactly these notes are deleted.
            notes = list(
                FactChange.objects.filter(id__lte=last)
                .order_by("id")
                .values_list("id", "kind", "key")[:NOTES_PER_ROUND]
            )
            if not notes:
                break
            # A neighbor or case is usually noted several times (intake, follow-up, attempts).
            neighbors = sorted({key for _, kind, key in notes if kind == FactChange.Kind.NEIGHBOR})
            cases = sorted({key for _, kind, key in notes if kind == FactChange.Kind.CASE})
            calls = sorted({key for _, kind, key in notes if kind == FactChange.Kind.ELIGIBLE_CALL})
            for start in range(0, len(neighbors), BATCH):
                _refresh_neighbors(set(neighbors[start : start + BATCH]))
            for start in range(0, len(cases), BATCH):
                _refresh_cases(set(cases[start : start + BATCH]))
            for start in range(0, len(calls), CALL_BATCH):
                _refresh_calls(set(calls[start : start + CALL_BATCH]))
            FactChange.objects.filter(id__in=[note_id for note_id, _, _ in notes]).delete()
        FactState.objects.filter(pk=STATE_ID).update(refreshed_at=as_of)


def rebuild() -> None:
    """Recompute every fact from the source tables."""
    with transaction.atomic():
        _lock_state()
        _rebuild_locked()


def _lock_state() -> FactState:
    FactState.objects.get_or_create(
        pk=STATE_ID, defaults={"signature": "", "built_at": timezone.now()}
    )
    return FactState.objects.select_for_update().get(pk=STATE_ID)


def _rebuild_locked() -> None:
    # First forget the changes noted so far: each was committed with its data, which the
    # statements below (each reading the data as committed when it starts) then include. A
    # change committed from here on stays queued for the next refresh.
    as_of = timezone.now()
    FactChange.objects.all().delete()
    _empty(
        ResponseFact,
        FollowUpFact,
        CaseFact,
        ResponseDay,
        FollowUpDay,
        CaseDay,
        CallFact,
        CallDay,
        ResponseMinuteDay,
    )
    _insert_response_facts(FieldResponse.objects.all())
    _insert_follow_up_facts(_follow_ups())
    _insert_call_facts(EligibleCall.objects.all())
    _add_response_days(ResponseFact.objects.all(), sign=1)
    _add_follow_up_days(FollowUpFact.objects.all(), sign=1)
    _add_call_days(CallFact.objects.all(), sign=1)
    _count_new_cases(NeighborCase.objects.all())
    if connection.vendor == "postgresql":
        # Plans for the aggregates depend on fresh statistics of the refilled tables.
        with connection.cursor() as cursor:
            tables = _tables(ResponseFact, FollowUpFact, ResponseDay, CallDay, ResponseMinuteDay)
            cursor.execute(f"ANALYZE {tables}")
    FactState.objects.filter(pk=STATE_ID).update(
        signature=signature(), built_at=timezone.now(), refreshed_at=as_of
    )


def _tables(*models: Any) -> str:
    return ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)


def _empty(*models: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {_tables(*models)}")
    else:
        for model in models:
            model.objects.all().delete()


# --- neighbors: the response facts -----------------------------------------------------------


def _person() -> Coalesce:
    """The neighbor a response counts for: its record's linked record, or the record itself
    (links are kept one level deep: linking re-points a record's own linked records)."""
    return Coalesce(F("neighbor__linked_to_id"), F("neighbor_id"))


def _refresh_neighbors(neighbor_ids: set[int]) -> None:
    """Recompute the response facts of every neighbor (person) these records belong to now or
    belonged to when their facts were last computed, and of every neighbor who shares an
    incident with them (which response of an incident came first may have changed)."""
    persons = set(
        Neighbor.objects.filter(id__in=neighbor_ids)
        .annotate(person=Coalesce(F("linked_to_id"), F("id")))
        .values_list("person", flat=True)
    )
    persons |= set(
        ResponseFact.objects.filter(neighbor_id__in=neighbor_ids).values_list(
            "person_id", flat=True
        )
    )
    incidents = _responses_of(persons).values("incident_number")
    persons |= set(
        FieldResponse.objects.filter(incident_number__in=incidents)
        .annotate(person=_person())
        .values_list("person", flat=True)
    )
    responses = _responses_of(persons)
    # Ids, not a subquery, so that both halves of the OR use their index.
    response_ids = list(responses.values_list("id", flat=True))
    replaced = ResponseFact.objects.filter(
        Q(person_id__in=persons) | Q(field_response_id__in=response_ids)
    )
    # The days lose what the old facts counted and gain what the new ones count.
    _add_response_days(replaced, sign=-1)
    replaced.delete()
    _insert_response_facts(FieldResponse.objects.filter(id__in=response_ids))
    _add_response_days(ResponseFact.objects.filter(field_response_id__in=response_ids), sign=1)


def _responses_of(persons: set[int]) -> QuerySet[FieldResponse]:
    records = Neighbor.objects.filter(Q(id__in=persons) | Q(linked_to_id__in=persons))
    return FieldResponse.objects.filter(neighbor_id__in=records.values("id"))


def _eligible() -> Q:
    """A call type on the program's published list (intake refuses others today)."""
    return reduce(
        operator.or_,
        (
            Q(program=program, call_type__in=list(types))
            for program, types in ELIGIBLE_CALL_TYPES.items()
        ),
    )


def _root(field: str) -> Case:
    """A demographic field of the neighbor a response counts for (the linked record's)."""
    return Case(
        When(neighbor__linked_to_id__isnull=True, then=F(f"neighbor__{field}")),
        default=F(f"neighbor__linked_to__{field}"),
    )


RESPONSE_COLUMNS = (
    "field_response_id",
    "neighbor_id",
    "person_id",
    "local_date",
    "week_start",
    "program",
    "transported",
    "felt_safe",
    "first_eligible_of_incident",
    "prev1",
    "prev2",
    "prev3",
    "prev4",
    "prev5",
    "profile",
    "birth_date",
)
DEMOGRAPHICS = ("gender", "race", "ethnicity", "language", "unsheltered")


def _insert_response_facts(responses: QuerySet[FieldResponse]) -> None:
    responses = responses.annotate(**{f"root_{name}": _root(name) for name in DEMOGRAPHICS})
    _insert_profiles(responses)
    zone = ZoneInfo(settings.TIME_ZONE)
    local_date = TruncDate("responded_at", tzinfo=zone)
    earlier_eligible = FieldResponse.objects.filter(
        _eligible(), incident_number=OuterRef("incident_number")
    ).filter(
        Q(responded_at__lt=OuterRef("responded_at"))
        | Q(responded_at=OuterRef("responded_at"), id__lt=OuterRef("id"))
    )
    in_order = [F("responded_at").asc(), F("id").asc()]

    def earlier(n: int) -> Window:
        return Window(Lag(local_date, offset=n), partition_by=[_person()], order_by=in_order)

    expressions: dict[str, Any] = {
        "field_response_id": F("id"),
        "neighbor_id": F("neighbor_id"),
        "person_id": _person(),
        "local_date": local_date,
        "week_start": Cast(TruncWeek("responded_at", tzinfo=zone), DateField()),
        "program": F("program"),
        "transported": ExpressionWrapper(
            Q(disposition=Disposition.TRANSPORTED), output_field=BooleanField()
        ),
        "felt_safe": F("responder_felt_safe"),
        "first_eligible_of_incident": Case(
            When(_eligible() & ~Exists(earlier_eligible), then=Value(True)),
            default=Value(False),
        ),
        **{f"prev{n}": earlier(n) for n in range(1, 6)},
        "profile": Subquery(
            DemographicProfile.objects.filter(
                **{name: OuterRef(f"root_{name}") for name in DEMOGRAPHICS}
            ).values("id")[:1]
        ),
        # A de-identified neighbor keeps only the birth year (heart_cases.retention): the last
        # day of that year gives the same age on any period's first day unless the birthday
        # fell on or before that day of the year.
        "birth_date": Coalesce(_root("date_of_birth"), YearEnd(_root("birth_year"))),
    }
    _insert_select(ResponseFact, responses, expressions, RESPONSE_COLUMNS)


def _insert_profiles(responses: QuerySet[FieldResponse]) -> None:
    """The demographic combinations of these responses' neighbors that are new."""
    combinations = (
        responses.order_by().values_list(*(f"root_{name}" for name in DEMOGRAPHICS)).distinct()
    )
    try:
        sql, params = combinations.query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:
        return
    table = connection.ops.quote_name(DemographicProfile._meta.db_table)
    names = ", ".join(connection.ops.quote_name(name) for name in DEMOGRAPHICS)
    with connection.cursor() as cursor:
        # `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON. The names are
        # quoted identifiers and the query is compiled by the ORM with its parameters apart.
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM ({sql}) AS combination "  # noqa: S608
            "WHERE true ON CONFLICT DO NOTHING",
            params,
        )


# --- cases: the follow-up facts --------------------------------------------------------------


def _follow_ups() -> QuerySet[FollowUpTask]:
    return FollowUpTask.objects.filter(
        kind=FollowUpTask.Kind.FOLLOW_UP, field_response__isnull=False
    )


def _refresh_cases(case_ids: set[int]) -> None:
    """Recompute the follow-up facts of these cases (the days lose what the old ones counted
    and gain what the new ones count), and count the cases not counted yet."""
    replaced = FollowUpFact.objects.filter(case_id__in=case_ids)
    _add_follow_up_days(replaced, sign=-1)
    replaced.delete()
    _insert_follow_up_facts(_follow_ups().filter(case_id__in=case_ids))
    _add_follow_up_days(FollowUpFact.objects.filter(case_id__in=case_ids), sign=1)
    _count_new_cases(NeighborCase.objects.filter(id__in=case_ids))


def _count_new_cases(cases: QuerySet[NeighborCase]) -> None:
    """A case counts once, on the day it opened (opening is not undone)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    new = cases.order_by().filter(~Exists(CaseFact.objects.filter(case_id=OuterRef("id"))))
    opened_on = TruncDate("opened_at", tzinfo=zone)
    _add_counts(
        CaseDay,
        new.values(src_opened_on=opened_on).annotate(src_cases=Count("pk")),
        keys=("opened_on",),
        counts=("cases",),
        sign=1,
    )
    _insert_rows(CaseFact, new.values_list("id", opened_on.copy()), ("case_id", "opened_on"))


FOLLOW_UP_COLUMNS = (
    "task_id",
    "case_id",
    "deadline",
    "due_date",
    "due_week",
    "counted",
    "attempted_in_time",
    "contacted_in_time",
    "hours_to_first_attempt",
    "outside_service_hours",
    "contacted_by_first_window",
)


def _insert_follow_up_facts(tasks: QuerySet[FollowUpTask]) -> None:
    zone = ZoneInfo(settings.TIME_ZONE)
    # Attempts on the case from the field response on: one call answers for every follow-up
    # of the case whose encounter came before it.
    after_response = ContactAttempt.objects.filter(
        case_id=OuterRef("case_id"), occurred_at__gte=OuterRef("field_response__responded_at")
    ).order_by("occurred_at", "id")
    first_attempt = Subquery(after_response.values("occurred_at")[:1])
    first_contact = Subquery(
        after_response.filter(outcome__in=SUCCESSFUL_CONTACT).values("occurred_at")[:1]
    )
    tasks = tasks.annotate(first_attempt=first_attempt, first_contact=first_contact)
    expressions: dict[str, Any] = {
        "task_id": F("id"),
        "case_id": F("case_id"),
        "deadline": F("deadline"),
        "due_date": TruncDate("deadline", tzinfo=zone),
        "due_week": Cast(TruncWeek("deadline", tzinfo=zone), DateField()),
        "counted": Case(
            When(
                Q(status=FollowUpTask.Status.CANCELLED, completed_at__lt=F("deadline")),
                then=Value(False),
            ),
            default=Value(True),
        ),
        "attempted_in_time": Case(
            When(first_attempt__lte=F("deadline"), then=Value(True)), default=Value(False)
        ),
        "contacted_in_time": Case(
            When(first_contact__lte=F("deadline"), then=Value(True)), default=Value(False)
        ),
        "hours_to_first_attempt": HoursBetween(
            F("field_response__responded_at"), F("first_attempt")
        ),
        "outside_service_hours": F("outside_service_hours"),
        "contacted_by_first_window": Case(
            When(first_contact__lte=Coalesce("missed_after", "deadline"), then=Value(True)),
            default=Value(False),
        ),
    }
    _insert_select(FollowUpFact, tasks, expressions, FOLLOW_UP_COLUMNS)


# --- eligible calls: the call facts ----------------------------------------------------------


def _refresh_calls(call_ids: set[int]) -> None:
    """Recompute the facts of these calls (the days lose what the old ones counted and gain
    what the new ones count). A call no longer there keeps no fact."""
    replaced = CallFact.objects.filter(call_id__in=call_ids)
    _add_call_days(replaced, sign=-1)
    replaced.delete()
    _insert_call_facts(EligibleCall.objects.filter(id__in=call_ids))
    _add_call_days(CallFact.objects.filter(call_id__in=call_ids), sign=1)


CALL_COLUMNS = (
    "call_id",
    "local_date",
    "hour",
    "program",
    "outcome",
    "responded",
    "in_service_area",
    "response_minutes",
    "responder_seconds",
)


def _insert_call_facts(calls: QuerySet[EligibleCall]) -> None:
    """Each call with what its incident's field responses add (API.md "Metrics additions"): a
    call is responded to when the CAD says HEART responded or a HEART unit's field response
    carries its incident number."""
    zone = ZoneInfo(settings.TIME_ZONE)
    units = FieldResponse.objects.filter(incident_number=OuterRef("incident_number")).order_by()
    first_arrival = Subquery(
        units.filter(arrived_at__isnull=False).order_by("arrived_at").values("arrived_at")[:1]
    )
    # A unit's time on the call: from dispatch (else arrival, else the response itself) to
    # clear; a clear logged before its start counts nothing.
    unit_start = Coalesce("dispatched_at", "arrived_at", "responded_at")
    unit_time = (
        units.filter(cleared_at__gte=unit_start)
        .annotate(seconds=SecondsBetween(unit_start, F("cleared_at")))
        .values("incident_number")
        .annotate(total=Sum("seconds"))
        .values("total")
    )
    own_start = Coalesce("dispatched_at", "arrived_at")
    own_time = Case(
        When(cleared_at__gte=own_start, then=SecondsBetween(own_start, F("cleared_at"))),
        default=Value(0),
    )
    calls = calls.annotate(
        has_unit=Exists(units),
        unit_arrival=first_arrival,
        unit_seconds=Subquery(unit_time),
    ).annotate(
        # Least of the two, either of which may be missing (SQLite's MIN(a, NULL) is NULL).
        arrival=Coalesce(Least(F("arrived_at"), F("unit_arrival")), "arrived_at", "unit_arrival"),
    )
    responded = Q(outcome=CallOutcome.HEART_RESPONDED) | Q(has_unit=True)
    to_arrival = SecondsBetween(F("received_at"), F("arrival"))
    expressions: dict[str, Any] = {
        "call_id": F("id"),
        "local_date": TruncDate("received_at", tzinfo=zone),
        "hour": ExtractHour("received_at", tzinfo=zone),
        "program": F("program"),
        "outcome": F("outcome"),
        "responded": ExpressionWrapper(responded, output_field=BooleanField()),
        "in_service_area": F("in_service_area"),
        # Half a minute up, then whole minutes: integer division of seconds that are >= 0.
        "response_minutes": Case(
            When(responded & Q(arrival__gte=F("received_at")), then=(to_arrival + 30) / 60),
            default=Value(None),
            output_field=IntegerField(),
        ),
        "responder_seconds": Case(
            When(~responded, then=Value(0)),
            When(has_unit=True, then=Coalesce("unit_seconds", Value(0))),
            default=own_time,
            output_field=BigIntegerField(),
        ),
    }
    _insert_select(CallFact, calls, expressions, CALL_COLUMNS)


# --- the days: counts that add up over any period --------------------------------------------


def _add_response_days(facts: QuerySet[ResponseFact], *, sign: int) -> None:
    _add_counts(
        ResponseDay,
        facts.order_by()
        .values(src_local_date=F("local_date"), src_program=F("program"))
        .annotate(
            src_responses=Count("pk"),
            src_transported=Count("pk", filter=Q(transported=True)),
            src_felt_safe=Count("pk", filter=Q(felt_safe=True)),
            src_safety_answered=Count("felt_safe"),
            src_eligible_calls=Count("pk", filter=Q(first_eligible_of_incident=True)),
        ),
        keys=("local_date", "program"),
        counts=("responses", "transported", "felt_safe", "safety_answered", "eligible_calls"),
        sign=sign,
    )


def _add_call_days(facts: QuerySet[CallFact], *, sign: int) -> None:
    _add_counts(
        CallDay,
        facts.order_by()
        .values(
            src_local_date=F("local_date"),
            # ISO weekday 1-7 (Monday first) as 0-6.
            src_weekday=ExtractIsoWeekDay("local_date") - 1,
            src_hour=F("hour"),
            src_program=F("program"),
            src_outcome=F("outcome"),
            src_responded=F("responded"),
        )
        .annotate(src_calls=Count("pk"), src_responder_seconds=Sum("responder_seconds")),
        keys=("local_date", "weekday", "hour", "program", "outcome", "responded"),
        counts=("calls", "responder_seconds"),
        sign=sign,
    )
    _add_counts(
        ResponseMinuteDay,
        facts.filter(response_minutes__isnull=False)
        .order_by()
        .values(
            src_local_date=F("local_date"),
            src_program=F("program"),
            src_minutes=F("response_minutes"),
        )
        .annotate(src_calls=Count("pk")),
        keys=("local_date", "program", "minutes"),
        counts=("calls",),
        sign=sign,
    )


def _add_follow_up_days(facts: QuerySet[FollowUpFact], *, sign: int) -> None:
    _add_counts(
        FollowUpDay,
        facts.filter(counted=True)
        .order_by()
        .values(src_due_date=F("due_date"))
        .annotate(
            src_due=Count("pk"),
            src_attempted_in_time=Count("pk", filter=Q(attempted_in_time=True)),
            src_contacted_in_time=Count("pk", filter=Q(contacted_in_time=True)),
            src_outside_service_hours=Count("pk", filter=Q(outside_service_hours=True)),
            src_contacted_by_first_window=Count("pk", filter=Q(contacted_by_first_window=True)),
        ),
        keys=("due_date",),
        counts=(
            "due",
            "attempted_in_time",
            "contacted_in_time",
            "outside_service_hours",
            "contacted_by_first_window",
        ),
        sign=sign,
    )


def _add_counts(
    model: Any,
    grouped: QuerySet[Any],
    *,
    keys: tuple[str, ...],
    counts: tuple[str, ...],
    sign: int,
) -> None:
    """Add (sign 1) or subtract (sign -1) the counts `grouped` selects, as `src_<column>`, to the
    model's rows of the same keys, creating the rows that are missing: one upsert."""
    try:
        sql, params = grouped.query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(c) for c in (*keys, *counts))
    selected = ", ".join(
        [f"d.{quote('src_' + k)}" for k in keys]
        + [f"{int(sign)} * d.{quote('src_' + c)}" for c in counts]
    )
    added = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in counts)
    with connection.cursor() as cursor:
        # `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON. The names are
        # quoted identifiers and the query is compiled by the ORM with its parameters apart.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {selected} FROM ({sql}) AS d "  # noqa: S608
            f"WHERE true ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {added}",
            params,
        )


class YearEnd(Func):
    """31 December of a year given as a number (null if it is null)."""

    output_field = DateField()
    arity = 1

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="make_date(%(expressions)s, 12, 31)")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="date(printf('%%04d-12-31', %(expressions)s))"
        )


class _TimeBetween(Func):
    """`end` minus `start`, in the unit the subclass's templates give (null if either is
    null): PostgreSQL's `end - start` interval, SQLite's difference of Julian days."""

    arity = 2
    postgresql_template = ""
    sqlite_template = ""

    def __init__(self, start: Any, end: Any, **extra: Any) -> None:
        super().__init__(end, start, **extra)  # rendered as "end - start"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template=self.postgresql_template, arg_joiner=" - ", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=self.sqlite_template,
            arg_joiner=") - julianday(",
            **extra,
        )


class HoursBetween(_TimeBetween):
    """Hours from `start` to `end`, as a float (null if either is null)."""

    output_field = FloatField()
    postgresql_template = "EXTRACT(EPOCH FROM (%(expressions)s))::float8 / 3600"
    sqlite_template = "(julianday(%(expressions)s)) * 24.0"


class SecondsBetween(_TimeBetween):
    """Whole seconds from `start` to `end` (rounded), as an integer (null if either is null)."""

    output_field = BigIntegerField()
    postgresql_template = "round(EXTRACT(EPOCH FROM (%(expressions)s)))::bigint"
    sqlite_template = "CAST(round((julianday(%(expressions)s)) * 86400.0) AS INTEGER)"


def _insert_select(
    model: Any, source: QuerySet[Any], expressions: dict[str, Any], columns: tuple[str, ...]
) -> None:
    """INSERT INTO the fact table the rows of `source` as `expressions` compute them. The
    expressions are aliased so that they cannot clash with the source model's field names,
    and selected in the order of `columns`."""
    aliases = {f"fact_{name}": expressions[name] for name in columns}
    _insert_rows(model, source.order_by().annotate(**aliases).values_list(*aliases), columns)


def _insert_rows(model: Any, rows: QuerySet[Any], columns: tuple[str, ...]) -> None:
    """INSERT INTO the model's table, in `columns`, the rows the queryset selects (in that
    order): one statement, computed in the database."""
    try:
        sql, params = rows.query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)
