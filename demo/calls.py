"""The demo city's eligible calls: a year of what the CAD flagged for HEART, in the pilot's shape.

The CAD flags eligible calls around the clock, but the pilot served weekdays in daytime only, in
central and east Durham (demo/service_areas/durham_pilot.geojson), so most of the demand fell
outside it: at night and at weekends (`outside_hours`), or in hours but outside the area
(`outside_service_area`). That gap is what the eligible-calls heat map shows, and what argued for
longer hours and a citywide program.

Demand is drawn hour by hour over the 365 days up to now from an hour-of-week curve (most in the
afternoon and evening, least before dawn, weekends a little lighter), at the pilot's scale (about
25,000 a year for a city of 300,000, DESIGN.md), from a seeded generator: the same calls each
time, relative to now. Every field response the demo recorded from the CAD or by hand has its
call too, under the same incident number, answered by HEART, so the responses and the calls
agree.

The calls are written as the CAD feed's would be (calls.services, by the `cad` user, source
JSON), in batches of 1,000 on PostgreSQL; on the embedded SQLite database, where the service
saves one call at a time, in bulk with the same history rows, so that `make run` starts fast.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from zoneinfo import ZoneInfo

import shapely
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import DateTimeField, DecimalField
from django.utils import timezone
from shapely.geometry import shape

from calls.areas import in_service_area_many
from calls.models import CallSource, EligibleCall, OtherResponder, Outcome
from calls.services import EligibleCallInput, eligible_calls_record_batch, in_service_area_of
from heart_cases.calendar import is_holiday
from heart_cases.models import ELIGIBLE_CALL_TYPES, FieldResponse, FieldResponseSource

# The pilot's field hours: weekdays 07:00–19:00 local, holidays not worked. The system's only
# configured schedule (navigation's ServiceSchedule, "Pilot: weekdays 09:00–19:00") is care
# navigation's follow-up hours, not the field teams', so the demo uses the pilot's documented
# field hours.
PILOT_WEEKDAYS = frozenset(range(5))
PILOT_OPENS, PILOT_CLOSES = time(7), time(19)

CALLS_PER_YEAR = 25_000
DAYS = 365
SEED = 2028
# In about the shares of the demo's field responses (demo/city.py): CRT three in five.
PROGRAMS = (("CRT", 3), ("CCD", 1), ("COR", 1))
# Relative demand by local hour, 00:00 to 23:00: least before dawn, rising through the morning,
# highest in the afternoon and evening.
HOUR_WEIGHTS = (
    *(0.55, 0.45, 0.38, 0.32, 0.30, 0.33),  # 00–05
    *(0.45, 0.62, 0.80, 0.92, 1.00, 1.06),  # 06–11
    *(1.12, 1.18, 1.25, 1.32, 1.38, 1.40),  # 12–17
    *(1.38, 1.30, 1.18, 1.02, 0.85, 0.68),  # 18–23
)
# Monday to Sunday: weekends a little lighter in the day.
DAY_WEIGHTS = (1.0, 0.98, 0.98, 1.0, 1.04, 0.92, 0.86)
# Where the calls come from: most from the pilot area (central and east Durham, where the
# program started because the calls were), the rest from the rest of the city.
INSIDE_SHARE = 0.68
PILOT_AREA = Path(__file__).resolve().parent / "service_areas" / "durham_pilot.geojson"
# The city around it (west, south, east, north), for the calls outside the area.
CITY_BOUNDS = (-79.01, 35.88, -78.78, 36.09)
# A call in hours and in the area: HEART mostly went; sometimes every unit was busy; a few went
# to another department (a safety concern on the line) or were cancelled before anyone went.
IN_SERVICE = (
    (Outcome.HEART_RESPONDED, 79),
    (Outcome.HEART_UNAVAILABLE, 13),
    (Outcome.OTHER_RESPONDER, 5),
    (Outcome.CANCELLED, 3),
)
OTHER_RESPONDERS = (
    (OtherResponder.POLICE, 60),
    (OtherResponder.EMS, 28),
    (OtherResponder.FIRE, 12),
)
# Field responses that are another department's referral carry that department's report number,
# not a CAD incident HEART was sent to: they get no eligible call.
REFERRALS = (
    FieldResponseSource.POLICE_REFERRAL,
    FieldResponseSource.FIRE_REFERRAL,
    FieldResponseSource.EMS_REFERRAL,
)
SOURCE: str = CallSource.JSON.value
POINTS = 3_000
BATCH = 1_000


@dataclass
class DemoCalls:
    total: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


def eligible_calls_load(*, now: datetime, actor: User) -> DemoCalls:
    """Write the demo's year of eligible calls, and one for each demo field response from the
    CAD or by hand (read from the table, so they match whatever load() recorded). Call it once:
    the incident numbers are fixed, so a second load would find them all taken."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    responded = _calls_of_field_responses(now, rng)
    taken = {item.incident_number for item in responded}
    generated = [item for item in _year_of_calls(now, rng) if item.incident_number not in taken]
    items = sorted([*generated, *responded], key=lambda item: item.received_at)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            for start in range(0, len(items), BATCH):
                eligible_calls_record_batch(
                    actor=actor, items=items[start : start + BATCH], source=SOURCE
                )
        else:
            _bulk_write(items, actor=actor, now=timezone.now())
    made = DemoCalls(total=len(items))
    for item in items:
        made.by_outcome[item.outcome] = made.by_outcome.get(item.outcome, 0) + 1
    return made


def in_pilot_hours(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return (
        local.weekday() in PILOT_WEEKDAYS
        and PILOT_OPENS <= local.time() < PILOT_CLOSES
        and not is_holiday(local.date())
    )


def _year_of_calls(now: datetime, rng: random.Random) -> list[EligibleCallInput]:
    """A year of demand drawn from the hour-of-week curve. Only rng.random() on the hot path:
    randint and choices cost several times as much, and this runs on every `make run` start."""
    zone = ZoneInfo(settings.TIME_ZONE)
    since = now - timedelta(days=DAYS)
    first = since.replace(minute=0, second=0, microsecond=0)
    hours = [first + timedelta(hours=n) for n in range(DAYS * 24 + 1)]
    weights = []
    in_hours = []
    for moment in hours:
        local = moment.astimezone(zone)
        weights.append(HOUR_WEIGHTS[local.hour] * DAY_WEIGHTS[local.weekday()])
        # Pilot hours start and end on the hour, so an hour is in them or not as a whole.
        in_hours.append(in_pilot_hours(moment, zone))
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    random_ = rng.random
    drawn = sorted(
        (bisect.bisect(cumulative, random_() * total), random_() * 3600)
        for _ in range(CALLS_PER_YEAR)
    )
    inside, outside = _points(rng)
    programs = [name for name, weight in PROGRAMS for _ in range(weight)]
    drafts = []
    for hour, second in drawn:
        received_at = hours[hour] + timedelta(seconds=second)
        if not since <= received_at <= now:
            continue
        pool = inside if random_() < INSIDE_SHARE else outside
        latitude, longitude = pool[int(random_() * len(pool))]
        program = programs[int(random_() * len(programs))]
        drafts.append((received_at, in_hours[hour], program, latitude, longitude))
    # The outcome hangs on the program's configured area, the one intake itself consults.
    areas: list[bool | None] = [None] * len(drafts)
    for program in {draft[2] for draft in drafts}:
        indexes = [i for i, draft in enumerate(drafts) if draft[2] == program]
        points = [(drafts[i][3], drafts[i][4]) for i in indexes]
        for index, answer in zip(indexes, in_service_area_many(program, points), strict=True):
            areas[index] = answer
    in_service = _cumulative(IN_SERVICE)
    others = _cumulative(OTHER_RESPONDERS)
    numbers: dict[int, Iterator[int]] = {}
    calls = []
    for (received_at, open_, program, latitude, longitude), area in zip(drafts, areas, strict=True):
        year = received_at.astimezone(zone).year
        number = next(numbers.setdefault(year, itertools.count(1)))
        if not open_:
            outcome = Outcome.OUTSIDE_HOURS.value
        elif area is False:  # without an area (None) the program serves the whole city
            outcome = Outcome.OUTSIDE_SERVICE_AREA.value
        else:
            outcome = _pick(in_service, random_())
        types = ELIGIBLE_CALL_TYPES[program]
        dispatched_at = arrived_at = cleared_at = None
        other_responder = ""
        if outcome == Outcome.HEART_RESPONDED:
            # Dispatched in 1–6 minutes, on scene 8–25 minutes after the call, 20–90 there.
            dispatched_at = received_at + timedelta(seconds=60 + random_() * 300)
            arrived_at = received_at + timedelta(seconds=480 + random_() * 1020)
            arrived_at = max(arrived_at, dispatched_at + timedelta(minutes=3))
            cleared_at = arrived_at + timedelta(minutes=20 + random_() * 70)
        elif outcome == Outcome.OTHER_RESPONDER:
            other_responder = _pick(others, random_())
        # A call still going on now has only the times that have passed.
        if cleared_at is not None and cleared_at > now:
            cleared_at = None
            if arrived_at is not None and arrived_at > now:
                arrived_at = None
                if dispatched_at is not None and dispatched_at > now:
                    dispatched_at = None
        last = cleared_at or arrived_at or dispatched_at or received_at
        calls.append(
            EligibleCallInput(
                incident_number=f"C{year}-{number:07d}",
                program=program,
                call_type=types[int(random_() * len(types))],
                received_at=received_at,
                outcome=outcome,
                updated_at=min(last + timedelta(seconds=30 + random_() * 570), now),
                latitude=latitude,
                longitude=longitude,
                other_responder=other_responder,
                dispatched_at=dispatched_at,
                arrived_at=arrived_at,
                cleared_at=cleared_at,
            )
        )
    return calls


def _cumulative(weighted: Sequence[tuple[str, int]]) -> tuple[list[str], list[float]]:
    names = [str(name) for name, _ in weighted]
    totals = list(itertools.accumulate(weight for _, weight in weighted))
    return names, [t / totals[-1] for t in totals]


def _pick(table: tuple[list[str], list[float]], draw: float) -> str:
    names, cumulative = table
    return names[min(bisect.bisect(cumulative, draw), len(names) - 1)]


def _points(rng: random.Random) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    """POINTS places (latitude, longitude) inside the pilot area and POINTS in the city outside
    it, read from the demo's polygon; calls come from them again and again, as a CAD's calls
    come from the same blocks."""
    with PILOT_AREA.open(encoding="utf-8") as handle:
        document = json.load(handle)
    area = shapely.union_all([shape(feature["geometry"]) for feature in document["features"]])
    shapely.prepare(area)

    def draw(bounds: Sequence[float], want_inside: bool) -> list[tuple[Decimal, Decimal]]:
        west, south, east, north = bounds
        found: list[tuple[Decimal, Decimal]] = []
        while len(found) < POINTS:
            xs = [west + rng.random() * (east - west) for _ in range(POINTS)]
            ys = [south + rng.random() * (north - south) for _ in range(POINTS)]
            hits = shapely.intersects_xy(area, xs, ys).tolist()
            found.extend(
                (Decimal(f"{y:.6f}"), Decimal(f"{x:.6f}"))
                for x, y, hit in zip(xs, ys, hits, strict=True)
                if hit == want_inside
            )
        return found[:POINTS]

    return draw(area.bounds, want_inside=True), draw(CITY_BOUNDS, want_inside=False)


def _calls_of_field_responses(now: datetime, rng: random.Random) -> list[EligibleCallInput]:
    """The call behind each demo field response HEART went to: same incident, program and call
    type, received a few minutes before the unit was dispatched, with the response's times."""
    calls: dict[str, EligibleCallInput] = {}
    for response in (
        FieldResponse.objects.exclude(source__in=REFERRALS)
        .order_by("responded_at", "id")
        .only(
            "incident_number",
            "program",
            "call_type",
            "responded_at",
            "dispatched_at",
            "arrived_at",
            "cleared_at",
            "address",
            "latitude",
            "longitude",
        )
        .iterator()
    ):
        if response.incident_number in calls:
            continue  # a second unit on the same incident: the call is the first one's
        arrived_at = response.arrived_at or response.responded_at
        dispatched_at = response.dispatched_at or arrived_at - timedelta(minutes=rng.randint(5, 18))
        received_at = dispatched_at - timedelta(minutes=rng.randint(1, 5))
        last = response.cleared_at or arrived_at
        calls[response.incident_number] = EligibleCallInput(
            incident_number=response.incident_number,
            program=response.program,
            call_type=response.call_type,
            received_at=received_at,
            outcome=Outcome.HEART_RESPONDED.value,
            updated_at=min(last + timedelta(minutes=rng.randint(1, 10)), max(now, last)),
            address=response.address,
            latitude=response.latitude,
            longitude=response.longitude,
            dispatched_at=dispatched_at,
            arrived_at=arrived_at,
            cleared_at=response.cleared_at,
        )
    return list(calls.values())


def _bulk_write(items: list[EligibleCallInput], *, actor: User, now: datetime) -> None:
    """What eligible_calls_record_batch writes for new incidents, in two statements: the rows
    (in_service_area from calls.areas, recorded by the actor now) by one executemany, and
    their "+" history rows, with the service's reason, by one INSERT … SELECT of the rows just
    written. The ORM's bulk_create (with simple-history's bulk_create_with_history) took
    17 s for the year, mostly preparing a million values one field at a time; this takes
    well under one."""
    areas = in_service_area_of(items)
    quote = connection.ops.quote_name
    meta = EligibleCall._meta
    given = tuple(EligibleCallInput.__dataclass_fields__)
    names = [*given, "in_service_area", "source", "recorded_at", "recorded_by"]
    fields = [meta.get_field(name) for name in names]
    columns = [quote(f.column) for f in fields]  # type: ignore[union-attr,arg-type]
    # Only the times and the coordinates need adapting (as the ORM would); the rest go as is.
    times = [i for i, name in enumerate(given) if isinstance(fields[i], DateTimeField)]
    numbers = [i for i, name in enumerate(given) if isinstance(fields[i], DecimalField)]
    adapt = (
        _sqlite_time if connection.timezone_name == "UTC" else _adapt_time  # the usual setup
    )
    recorded_at = adapt(now)
    read = attrgetter(*given)
    rows = []
    for item, area in zip(items, areas, strict=True):
        row = [*read(item), area, SOURCE, recorded_at, actor.pk]
        for i in times:
            if row[i] is not None:
                row[i] = adapt(row[i])
        for i in numbers:
            if row[i] is not None:
                row[i] = str(row[i])
        rows.append(row)
    table = quote(meta.db_table)
    historical = EligibleCall.history.model  # type: ignore[attr-defined]
    copied = [quote(f.column) for f in historical.tracked_fields]
    own = [quote(n) for n in ("history_date", "history_change_reason", "history_type")]
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        [before] = cursor.fetchone()
        cursor.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
            rows,
        )
        cursor.execute(
            f"INSERT INTO {quote(historical._meta.db_table)} "  # noqa: S608 (names from models)
            f"({', '.join(copied)}, {', '.join(own)}, {quote('history_user_id')}) "
            f"SELECT {', '.join(copied)}, %s, %s, '+', %s FROM {table} WHERE id > %s ORDER BY id",
            [recorded_at, f"Eligible call recorded from the CAD ({SOURCE})", actor.pk, before],
        )


def _adapt_time(moment: datetime) -> str:
    return str(connection.ops.adapt_datetimefield_value(moment))


def _sqlite_time(moment: datetime) -> str:
    """A time as Django's SQLite backend stores it (naive UTC, USE_TZ), without its per-value
    checks: 68,000 of them otherwise cost a second."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
