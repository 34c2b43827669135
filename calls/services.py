"""Recording eligible calls: one row per incident number, the CAD's newest version of it.

The CAD resends and reorders, so a version replaces the row only when its `updated_at` is newer;
the same or an older one changes nothing. Every write, one call or a batch of a thousand, is one
`INSERT … ON CONFLICT (incident_number) DO UPDATE … WHERE newer` that also writes each inserted or
replaced row's history row (a data-modifying WITH): PostgreSQL settles two posts of the same
incident at once (the second waits for the first, then inserts nothing twice), and a batch costs
one statement instead of a thousand ORM saves and their history saves. (The embedded SQLite
database of a development server takes the same versions a save at a time.)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from operator import attrgetter
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from heart_cases.actors import stamp

from .models import EligibleCall

Status = Literal["created", "applied", "unchanged"]


@dataclass(frozen=True)
class EligibleCallInput:
    """One call as the CAD reports it, already validated (calls.api.EligibleCallBody)."""

    incident_number: str
    program: str
    call_type: str
    received_at: dt.datetime
    outcome: str
    updated_at: dt.datetime
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    other_responder: str = ""
    dispatched_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None
    cleared_at: dt.datetime | None = None


# The columns a version sets, in the order of EligibleCallInput's fields; then the ones the
# service adds.
_GIVEN = tuple(EligibleCallInput.__dataclass_fields__)
_ADDED = ("in_service_area", "source", "recorded_at", "recorded_by")


def eligible_call_record(
    *, actor: User, data: EligibleCallInput, source: str
) -> tuple[EligibleCall, Status]:
    """Record one version of a call: "created" (the first of its incident), "applied" (newer
    than the row, which it replaced) or "unchanged" (the same or older: nothing written)."""
    with transaction.atomic():
        [status] = _record(actor=actor, items=[data], source=source)
        call = EligibleCall.objects.get(incident_number=data.incident_number)
    return call, status


def eligible_calls_record_batch(
    *, actor: User, items: Sequence[EligibleCallInput], source: str
) -> list[Status]:
    """Record many versions; the status of each, in order, as if they had come one by one.

    The same incident twice in one batch is taken in turns (a statement may not touch a row
    twice): the first version of each incident, then the second, and so on, so a reordered
    batch ends with the same rows and history as the ordered one."""
    with transaction.atomic():
        return _record(actor=actor, items=items, source=source)


def _record(*, actor: User, items: Sequence[EligibleCallInput], source: str) -> list[Status]:
    now = timezone.now()
    reasons = {
        "created": f"Eligible call recorded from the CAD ({source})",
        "applied": f"Replaced by a newer version from the CAD ({source})",
    }
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        turn = seen.get(item.incident_number, 0)
        seen[item.incident_number] = turn + 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append(index)
    statuses: list[Status] = ["unchanged"] * len(items)
    for indexes in rounds:
        chosen = [items[i] for i in indexes]
        areas = in_service_area_of(chosen)
        written = _upsert(chosen, areas, source=source, actor=actor, now=now, reasons=reasons)
        for index in indexes:
            created = written.get(items[index].incident_number)
            if created is not None:
                statuses[index] = "created" if created else "applied"
    return statuses


def in_service_area_of(items: Sequence[EligibleCallInput]) -> list[bool | None]:
    """Whether each call is inside its program's service area (None without a location or an
    area), asked once per program for the whole batch."""
    # Imported here: calls.areas reads the configured polygons and is its own module.
    from .areas import in_service_area_many

    answers: list[bool | None] = [None] * len(items)
    by_program: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_program.setdefault(item.program, []).append(index)
    for program, indexes in by_program.items():
        points = [(items[i].latitude, items[i].longitude) for i in indexes]
        for index, answer in zip(indexes, in_service_area_many(program, points), strict=True):
            answers[index] = answer
    return answers


def _upsert(
    items: list[EligibleCallInput],
    areas: list[bool | None],
    *,
    source: str,
    actor: User,
    now: dt.datetime,
    reasons: dict[str, str],
) -> dict[str, bool]:
    """Insert or replace these versions (distinct incidents) and write their history rows in
    one statement; {incident_number: created} for the rows it wrote, none for the rest."""
    if not items:
        return {}
    if connection.vendor != "postgresql":
        return _upsert_one_by_one(items, areas, source=source, actor=actor, reasons=reasons)
    statement = _upsert_statement()
    recorded_at = now.isoformat()
    # Each row's values in the statement's order: the given fields, then the added ones.
    given = attrgetter(*_GIVEN)
    rows = [
        [*map(_json_value, given(item)), area, source, recorded_at, actor.pk]
        for item, area in zip(items, areas, strict=True)
    ]
    params: list[Any] = [json.dumps(rows), now, reasons["created"], reasons["applied"], actor.pk]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return dict(cursor.fetchall())


def _upsert_one_by_one(
    items: list[EligibleCallInput],
    areas: list[bool | None],
    *,
    source: str,
    actor: User,
    reasons: dict[str, str],
) -> dict[str, bool]:
    """The same through the ORM, a save per call, for the embedded SQLite database (one writer
    at a time, and none of PostgreSQL's statement): a development server, not the CAD feed."""
    existing = EligibleCall.objects.in_bulk(
        [item.incident_number for item in items], field_name="incident_number"
    )
    written: dict[str, bool] = {}
    for item, area in zip(items, areas, strict=True):
        call = existing.get(item.incident_number)
        if call is not None and item.updated_at <= call.updated_at:
            continue
        created = call is None
        call = call or EligibleCall()
        for name in _GIVEN:
            setattr(call, name, getattr(item, name))
        call.in_service_area, call.source, call.recorded_by = area, source, actor
        call.recorded_at = timezone.now()
        stamp(call, actor=actor, reason=reasons["created" if created else "applied"]).save()
        written[item.incident_number] = created
    return written


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _field(name: str) -> Any:
    """A concrete field of EligibleCall (get_field's type also allows relations' far ends)."""
    return EligibleCall._meta.get_field(name)


@cache
def _upsert_statement() -> str:
    """The statement; each row it takes holds the given fields, then the added ones
    (_GIVEN, _ADDED), in order.

    The rows go as one JSON array of arrays, which PostgreSQL types column by column: sending
    an array per column instead cost psycopg most of a batch's time to quote 17,000 values."""
    quote = connection.ops.quote_name
    meta = EligibleCall._meta
    names = [*_GIVEN, *_ADDED]
    fields = [_field(name) for name in names]
    cols = [quote(field.column) for field in fields]
    typed = ", ".join(f"(row->>{i})::{field.db_type(connection)}" for i, field in enumerate(fields))
    table = quote(meta.db_table)
    key = quote(_field("incident_number").column)
    updated = quote(_field("updated_at").column)
    replaced = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != key)
    historical = EligibleCall.history.model  # type: ignore[attr-defined]
    copied = [quote(field.column) for field in historical.tracked_fields]
    own = [quote(n) for n in ("history_date", "history_change_reason", "history_type")]
    statement = (
        # The rows in the order of their incident numbers: two batches that share incidents
        # lock them in the same order and cannot deadlock.
        f"WITH source ({', '.join(cols)}) AS ("  # noqa: S608 (names from the models)
        f"SELECT {typed} FROM jsonb_array_elements(%s::jsonb) AS row ORDER BY 1), "
        f"written AS (INSERT INTO {table} ({', '.join(cols)}) "
        f"SELECT {', '.join(cols)} FROM source "
        f"ON CONFLICT ({key}) DO UPDATE SET {replaced} "
        f"WHERE EXCLUDED.{updated} > {table}.{updated} "
        f"RETURNING {table}.*, ({table}.xmax = 0) AS created_now), "
        f"history AS (INSERT INTO {quote(historical._meta.db_table)} "
        f"({', '.join(copied)}, {', '.join(own)}, {quote('history_user_id')}) "
        f"SELECT {', '.join(f'written.{c}' for c in copied)}, %s, "
        f"CASE WHEN created_now THEN %s ELSE %s END, "
        f"CASE WHEN created_now THEN '+' ELSE '~' END, %s FROM written) "
        f"SELECT {key}, created_now FROM written"
    )
    return statement
