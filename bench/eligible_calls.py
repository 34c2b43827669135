"""Benchmark: eligible calls at 100 times the pilot (issue 15, "Speed").

Two parts, in this order, on the same database:

1. The metrics API over a full year, with and without the eligible calls. The world of
   bench/metrics.py (800,000 field responses and what follows from them, seeded by its own
   functions, or kept as bench.metrics leaves it when that ran just before, as in `make
   bench`) is measured first as it is: `GET /api/v1/metrics/` for the full year and for its
   last month, p50/p95 and the query count. Then about 2,000,000 eligible calls are seeded over
   the same year in set-based SQL, in the pilot's shape: demand around the clock, HEART
   responding only on weekdays 07–19 (every field response in those hours gets its call, by
   its incident number, received a few minutes before the unit got there), the rest of the
   calls mixed across the other outcomes (no unit available, another department, cancelled,
   outside the service area, outside service hours at night and at weekends). The metrics facts
   are rebuilt, as `manage.py metrics_rebuild` would after a bulk load (which bypasses the
   triggers), and the same reads are measured again. Goals: the year's p95 under 1 s and within
   1.5 times the same read without the calls; the year takes as many queries as one month.

2. Batch intake on one gunicorn worker: 1,000 distinct new calls a request through
   `POST /api/v1/eligible-calls/batch/` with the CAD's token, one request at a time (the bodies
   are serialized before the clock starts), against a bulk COPY (psycopg's `cursor.copy`) of the
   same rows, with the same values in every column the service writes (`in_service_area` from
   the same polygons), into the same table on a fresh range of incident numbers, through a
   connection with its triggers on. The two take turns, three times; each figure is the median
   of the three. The COPY writes no history rows (the service writes one per call): the floor
   of getting the rows into the table at all. Goal: intake at least a tenth of the COPY's rate.

    .venv/bin/python -m bench.eligible_calls    # standalone: its own database, created and
                                                # dropped (HEART_BENCH_DATABASE_URL, default
                                                # .../heart_eligible_calls_bench)
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, over, ratio, short_of
from .infra import free_port, start_gunicorn, stop_process

CALLS = int(os.environ.get("HEART_BENCH_ELIGIBLE_CALLS", "2000000"))
BATCH = 1000
BATCHES = int(os.environ.get("HEART_BENCH_ELIGIBLE_BATCHES", "50"))
REPEATS = 3
# Metrics reads per measurement (after bench.metrics' warm-up): fewer than bench.metrics' 25,
# since this benchmark measures the year twice.
READS = int(os.environ.get("HEART_BENCH_ELIGIBLE_READS", "20"))
ENDPOINT_GOAL_MS = 1000.0
SLOWDOWN_GOAL = 1.5
INTAKE_GOAL = 0.10
STANDALONE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/heart_eligible_calls_bench"

# Points inside and outside the demo pilot area (demo/service_areas/durham_pilot.geojson):
# East Durham, and west Durham by Duke's campus.
INSIDE = (Decimal("35.990000"), Decimal("-78.870000"))
OUTSIDE = (Decimal("36.001000"), Decimal("-78.938000"))

# The pilot's HEART hours: weekdays, 07:00 to 19:00 local.
_DAYTIME = (
    "(extract(isodow FROM {t} AT TIME ZONE %(zone)s) <= 5 "
    "AND extract(hour FROM {t} AT TIME ZONE %(zone)s) BETWEEN 7 AND 18)"
)

_CALL_COLUMNS = (
    "incident_number, program, call_type, received_at, address, latitude, longitude, outcome, "
    "other_responder, dispatched_at, arrived_at, cleared_at, updated_at, in_service_area, "
    "source, recorded_at, recorded_by_id"
)

_SEED_CALLS = [
    # The calls HEART answered with a field response: every seeded response in the pilot's
    # hours, under its incident number (the first unit's, should several share one); the CAD
    # saw the call 8 to 27 minutes before the unit arrived. (The f-strings put in this module's
    # constants only.)
    f"""
    INSERT INTO calls_eligiblecall ({_CALL_COLUMNS})
    SELECT DISTINCT ON (f.incident_number) f.incident_number, f.program, f.call_type, r.at,
        f.address, f.latitude, f.longitude, 'heart_responded', '', r.at + interval '2 minutes',
        f.responded_at, f.cleared_at, r.done, f.latitude IS NOT NULL OR NULL, 'json', r.done,
        %(responder)s
    FROM heart_cases_fieldresponse f
    CROSS JOIN LATERAL (
        SELECT f.responded_at - (8 + f.id %% 20) * interval '1 minute' AS at,
               coalesce(f.cleared_at, f.responded_at + interval '50 minutes')
               + interval '5 minutes' AS done) r
    WHERE {_DAYTIME.format(t="f.responded_at")}
    ORDER BY f.incident_number, f.responded_at
    """,  # noqa: S608
    # The rest of the demand, evenly around the clock. In the pilot's hours: a few calls HEART
    # took that no field response names (yet), then no unit free, another department,
    # cancelled, outside the area; at night and at weekends mostly outside service hours.
    # 1 in 50 without a location (in_service_area unknown).
    f"""
    INSERT INTO calls_eligiblecall ({_CALL_COLUMNS})
    SELECT 'E' || lpad(n::text, 9, '0'), p.program,
        CASE p.program WHEN 'CRT' THEN (%(crt)s::text[])[1 + (n / 7) %% %(crt_n)s]
                       WHEN 'CCD' THEN (%(ccd)s::text[])[1 + (n / 7) %% %(ccd_n)s]
                       ELSE (%(cor)s::text[])[1 + (n / 7) %% %(cor_n)s] END,
        t.at,
        CASE WHEN o.located THEN (n %% 900) || ' Main St' ELSE '' END,
        CASE WHEN NOT o.located THEN NULL WHEN o.outcome = 'outside_service_area'
             THEN %(out_lat)s ELSE %(in_lat)s END,
        CASE WHEN NOT o.located THEN NULL WHEN o.outcome = 'outside_service_area'
             THEN %(out_lon)s ELSE %(in_lon)s END,
        o.outcome,
        CASE WHEN o.outcome = 'other_responder'
             THEN (ARRAY['police', 'ems', 'fire'])[1 + n %% 3] ELSE '' END,
        CASE WHEN o.outcome IN ('heart_responded', 'other_responder')
             THEN t.at + interval '3 minutes' END,
        CASE WHEN o.outcome = 'heart_responded'
             THEN t.at + (8 + n %% 25) * interval '1 minute' END,
        CASE WHEN o.outcome = 'heart_responded'
             THEN t.at + (53 + n %% 25) * interval '1 minute' END,
        t.at + interval '90 minutes',
        CASE WHEN NOT o.located THEN NULL ELSE o.outcome <> 'outside_service_area' END,
        'json', t.at + interval '90 minutes', %(responder)s
    FROM generate_series(1, %(rest)s::bigint) n
    CROSS JOIN LATERAL (SELECT %(start)s::timestamptz
                               + (n - 1) * %(step)s * interval '1 second' AS at) t
    CROSS JOIN LATERAL (SELECT CASE WHEN (n * 13) %% 20 < 12 THEN 'CRT'
                                    WHEN (n * 13) %% 20 < 17 THEN 'CCD' ELSE 'COR' END
                               AS program) p
    CROSS JOIN LATERAL (SELECT (n * 37) %% 100 AS k, {_DAYTIME.format(t="t.at")} AS daytime) d
    CROSS JOIN LATERAL (
        SELECT CASE WHEN d.daytime THEN
                    CASE WHEN d.k < 10 THEN 'heart_responded'
                         WHEN d.k < 50 THEN 'heart_unavailable'
                         WHEN d.k < 75 THEN 'other_responder'
                         WHEN d.k < 85 THEN 'cancelled' ELSE 'outside_service_area' END
               ELSE CASE WHEN d.k < 70 THEN 'outside_hours'
                         WHEN d.k < 85 THEN 'other_responder'
                         WHEN d.k < 93 THEN 'cancelled' ELSE 'outside_service_area' END
               END AS outcome,
               (n * 7) %% 50 <> 0 OR (n * 37) %% 100 >= 85 AS located) o
    """,  # noqa: S608
]


def seed_calls(bench: Bench, *, calls: int) -> dict[str, int]:
    """About `calls` eligible calls over bench.metrics' year (its field responses already
    seeded), with the loading connection's triggers off as bench.metrics loads. Row counts."""
    from django.utils import timezone

    from heart_cases.models import ELIGIBLE_CALL_TYPES

    from .metrics import year_bounds

    seeder = bench.seed
    seeder.execute("TRUNCATE calls_eligiblecall, calls_historicaleligiblecall RESTART IDENTITY")
    first_day, last_day = year_bounds()
    zone = timezone.get_current_timezone()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    params: dict[str, Any] = {
        "zone": str(zone),
        "responder": bench.responder_id,
        "start": start,
        "in_lat": INSIDE[0],
        "in_lon": INSIDE[1],
        "out_lat": OUTSIDE[0],
        "out_lon": OUTSIDE[1],
    }
    for program, key in (("CRT", "crt"), ("CCD", "ccd"), ("COR", "cor")):
        params[key] = list(ELIGIBLE_CALL_TYPES[program])
        params[f"{key}_n"] = len(ELIGIBLE_CALL_TYPES[program])
    started = time.monotonic()
    seeder.execute(_SEED_CALLS[0], params)
    with seeder.conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM calls_eligiblecall")
        linked = int(cur.fetchone()[0])  # type: ignore[index]
    seeder.conn.commit()
    bench.log(f"eligible calls seed: {linked:,} calls of field responses {_since(started)}")
    rest = max(calls - linked, 0)
    # Evenly over the year, the last one a minute before its end.
    params.update(rest=rest, step=((end - start).total_seconds() - 60) / max(rest, 1))
    started = time.monotonic()
    seeder.execute(_SEED_CALLS[1], params)
    bench.log(f"eligible calls seed: {rest:,} other calls {_since(started)}")
    started = time.monotonic()
    seeder.conn.autocommit = True
    try:
        with seeder.conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) calls_eligiblecall")
    finally:
        seeder.conn.autocommit = False
    bench.log(f"eligible calls seed: vacuum analyze {_since(started)}")
    with seeder.conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE outcome = 'heart_responded'), "
            "count(*) FILTER (WHERE in_service_area IS false) FROM calls_eligiblecall"
        )
        total, responded, outside = cur.fetchone()  # type: ignore[misc]
    seeder.conn.commit()
    return {
        "calls": int(total),
        "linked_to_field_responses": linked,
        "heart_responded": int(responded),
        "outside_service_area": int(outside),
    }


def _metrics_world(bench: Bench, *, responses: int) -> int | None:
    """The number of field responses when bench.metrics' year is loaded as it leaves it (its
    `responses` seeded ones, their facts built, no eligible calls yet); else None."""
    with bench.seed.conn.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM heart_cases_fieldresponse "
            "        WHERE incident_number LIKE %s), "
            "(SELECT count(*) FROM heart_cases_fieldresponse), "
            "EXISTS (SELECT 1 FROM calls_eligiblecall), "
            "(SELECT count(*) FROM metrics_responsefact), "
            "EXISTS (SELECT 1 FROM metrics_factstate)",
            # bench.metrics' seeded incident numbers: M and nine digits.
            ["M0%"],
        )
        seeded, total, any_calls, facts, state = cur.fetchone()  # type: ignore[misc]
    bench.seed.conn.commit()
    if seeded == responses and not any_calls and state and facts >= seeded:
        return int(total)
    return None


def _vacuum_metrics(bench: Bench) -> None:
    """What autovacuum would do after the rebuild, for every table of the metrics app."""
    conn = bench.seed.conn
    with conn.cursor() as cur:
        cur.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'metrics\\_%%'"
        )
        tables = [row[0] for row in cur.fetchall()]
    conn.commit()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for table in tables:
                cur.execute(f'VACUUM (ANALYZE) "{table}"')
    finally:
        conn.autocommit = False


def _measure_metrics(bench: Bench, *, token: str, label: str) -> dict[str, Any]:
    """The metrics API for the full year and for its last month, as bench.metrics reads it."""
    from django.test import Client

    from metrics.selectors import Period

    from .metrics import _line, _measure, year_bounds

    first_day, last_day = year_bounds()
    api = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    measured = {}
    for name, period in (
        ("year", Period(first_day, last_day)),
        ("month", Period(last_day.replace(day=1), last_day)),
    ):
        path = f"/api/v1/metrics/?start={period.start}&end={period.end}"
        measured[name] = _measure(api, path, runs=READS, **headers)
        bench.log(f"eligible calls: metrics API, {name}, {label}: {_line(measured[name])}")
    return measured


def metrics_part(bench: Bench) -> tuple[dict[str, Any], list[Figure]]:
    from heart_cases.staff import staff_create_or_update
    from metrics import facts

    from .metrics import RESPONSES
    from .metrics import seed as seed_year

    started = time.monotonic()
    responses = _metrics_world(bench, responses=RESPONSES)
    if responses is not None:
        # `make bench` runs this right after bench.metrics, whose year is still loaded and its
        # facts built (and kept fresh by its reads): the same world, without seeding it again
        # (about 4 of this benchmark's minutes).
        reused = True
        first_rebuild = 0.0
        bench.log(f"eligible calls: bench.metrics' year of {responses:,} field responses reused")
    else:
        reused = False
        counts = seed_year(bench, responses=RESPONSES)
        responses = counts["heart_cases_fieldresponse"]
        bench.log(f"eligible calls: {responses:,} field responses seeded {_since(started)}")
        started = time.monotonic()
        facts.rebuild()
        _vacuum_metrics(bench)
        first_rebuild = time.monotonic() - started
        bench.log(f"eligible calls: facts built without calls {_since(started)}")
    analyst = staff_create_or_update(username="bench-analyst", role="analyst", languages=["en"])
    without = _measure_metrics(bench, token=analyst.token, label="without calls")

    started = time.monotonic()
    calls = seed_calls(bench, calls=CALLS)
    seeded = time.monotonic() - started
    started = time.monotonic()
    facts.rebuild()
    _vacuum_metrics(bench)
    second_rebuild = time.monotonic() - started
    bench.log(f"eligible calls: facts built with {calls['calls']:,} calls {_since(started)}")
    with_calls = _measure_metrics(bench, token=analyst.token, label="with calls")

    details = {
        "field_responses": responses,
        "world_reused_from_bench_metrics": reused,
        "eligible_calls": calls,
        "calls_seed_seconds": round(seeded, 1),
        "facts_rebuild_seconds_without_calls": round(first_rebuild, 1),
        "facts_rebuild_seconds_with_calls": round(second_rebuild, 1),
        "without_calls": without,
        "with_calls": with_calls,
    }
    size = f"{calls['calls']:,} eligible calls"
    year, base = with_calls["year"], without["year"]
    figures = []
    for stat in ("p50_ms", "p95_ms"):
        label = stat[:3]
        slowdown = ratio(year[stat], base[stat])
        goal_met = None
        missed = ""
        goal = "(none)"
        if stat == "p95_ms":
            goal = f"< {ENDPOINT_GOAL_MS:g} ms and <= {SLOWDOWN_GOAL:g} x baseline"
            goal_met = (
                year[stat] < ENDPOINT_GOAL_MS and slowdown is not None and slowdown <= SLOWDOWN_GOAL
            )
            missed = "; ".join(
                part
                for part in (
                    over(year[stat], ENDPOINT_GOAL_MS, label, " ms")
                    if year[stat] >= ENDPOINT_GOAL_MS
                    else "",
                    f"{slowdown:g} x the same read without the calls, over {SLOWDOWN_GOAL:g} x"
                    if slowdown is not None and slowdown > SLOWDOWN_GOAL
                    else "",
                )
                if part
            )
        figures.append(
            Figure(
                key=f"eligible_calls.metrics.year.{label}",
                name=f"Metrics API, a full year, {label} @ {size}",
                value=year[stat],
                unit="ms",
                baseline=base[stat],
                baseline_name="the same read of the same year without the eligible calls",
                ratio_is="value / baseline",
                ratio=slowdown,
                goal=goal,
                met=goal_met,
                missed_by=missed,
            )
        )
    month = with_calls["month"]
    figures.append(
        Figure(
            key="eligible_calls.metrics.queries",
            name=f"Metrics API queries, a full year @ {size}",
            value=year["queries"],
            unit="queries",
            baseline=month["queries"],
            baseline_name="the same for one month, with the calls",
            ratio_is="value / baseline",
            ratio=ratio(year["queries"], month["queries"]),
            goal="identical",
            met=year["queries"] == month["queries"] and year["queries_min"] == month["queries_min"],
            missed_by=f"{year['queries']} queries against {month['queries']}",
        )
    )
    return details, figures


# --- batch intake against COPY ---------------------------------------------------------------


def call_body(tag: str, i: int, *, now: datetime) -> dict[str, Any]:
    """A CAD's call as the batch endpoint takes it: distinct incident number, programs and
    outcomes mixed, 1 in 4 outside the pilot area."""
    from heart_cases.models import ELIGIBLE_CALL_TYPES

    program = ("CRT", "CRT", "CRT", "CCD", "COR")[i % 5]
    types = ELIGIBLE_CALL_TYPES[program]
    received = now - timedelta(hours=3, seconds=i)
    outcome = (
        "heart_responded",
        "heart_unavailable",
        "other_responder",
        "outside_hours",
        "cancelled",
        "heart_responded",
    )[i % 6]
    lat, lon = OUTSIDE if i % 4 == 3 else INSIDE
    body: dict[str, Any] = {
        "incident_number": f"{tag}-{i:07d}",
        "program": program,
        "call_type": types[(i // 5) % len(types)],
        "received_at": received.isoformat(),
        "location": {
            "address": f"{100 + i % 900} Main St, Durham, NC",
            "latitude": float(lat),
            "longitude": float(lon),
        },
        "outcome": outcome,
        "updated_at": (received + timedelta(minutes=90)).isoformat(),
    }
    if outcome == "other_responder":
        body["other_responder"] = ("police", "ems", "fire")[i % 3]
    if outcome == "heart_responded":
        body["dispatched_at"] = (received + timedelta(minutes=3)).isoformat()
        body["arrived_at"] = (received + timedelta(minutes=12 + i % 20)).isoformat()
        body["cleared_at"] = (received + timedelta(minutes=60 + i % 20)).isoformat()
    return body


def copy_rows(bodies: list[dict[str, Any]], *, responder_id: int) -> list[tuple[Any, ...]]:
    """The rows the service writes for these bodies, column for column (_COPY_COLUMNS), with
    in_service_area from the same polygons."""
    from calls.areas import in_service_area_many

    def at(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    areas: list[bool | None] = [None] * len(bodies)
    by_program: dict[str, list[int]] = {}
    for k, body in enumerate(bodies):
        by_program.setdefault(body["program"], []).append(k)
    for program, indexes in by_program.items():
        points = [
            (
                Decimal(str(bodies[k]["location"]["latitude"])),
                Decimal(str(bodies[k]["location"]["longitude"])),
            )
            for k in indexes
        ]
        for k, answer in zip(indexes, in_service_area_many(program, points), strict=True):
            areas[k] = answer
    recorded_at = datetime.now().astimezone()
    return [
        (
            b["incident_number"],
            b["program"],
            b["call_type"],
            at(b["received_at"]),
            b["location"]["address"],
            round(Decimal(str(b["location"]["latitude"])), 6),
            round(Decimal(str(b["location"]["longitude"])), 6),
            b["outcome"],
            b.get("other_responder", ""),
            at(b.get("dispatched_at")),
            at(b.get("arrived_at")),
            at(b.get("cleared_at")),
            at(b["updated_at"]),
            area,
            "json",
            recorded_at,
            responder_id,
        )
        for b, area in zip(bodies, areas, strict=True)
    ]


def _post_batches(port: int, token: str, payloads: list[bytes]) -> tuple[float, list[int]]:
    """Post each payload in turn; seconds from the first request to the last answer, and the
    per-call status codes."""
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    statuses: list[int] = []
    started = time.perf_counter()
    connection: http.client.HTTPConnection | None = None
    for payload in payloads:
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("POST", "/api/v1/eligible-calls/batch/", body=payload, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"batch answered {response.status}: {answer[:300]!r}")
        statuses.extend(result["status"] for result in json.loads(answer)["results"])
        if response.will_close:
            connection.close()
            connection = None
    elapsed = time.perf_counter() - started
    if connection is not None:
        connection.close()
    return elapsed, statuses


def _copy(database_url: str, rows: list[tuple[Any, ...]]) -> float:
    """COPY the rows into calls_eligiblecall on a connection of its own (triggers on, unlike
    the seeder's) and commit; the seconds it took."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY calls_eligiblecall ({_CALL_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def intake_part(bench: Bench) -> tuple[dict[str, Any], list[Figure]]:
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    run_tag = time.strftime("%H%M%S")
    calls = BATCH * BATCHES
    port = free_port()
    web = start_gunicorn(bench.env, port=port, workers=1)
    intake_rates: list[float] = []
    copy_rates: list[float] = []
    runs: list[dict[str, Any]] = []
    try:
        # One warm-up batch, so the worker has imported and connected before the clock runs.
        warm = [call_body(f"W{run_tag}", i, now=now) for i in range(BATCH)]
        _post_batches(port, bench.responder_token, [json.dumps({"calls": warm}).encode()])
        for repeat in range(REPEATS):
            tag = f"B{run_tag}{repeat}"
            bodies = [call_body(tag, i, now=now) for i in range(calls)]
            payloads = [
                json.dumps({"calls": bodies[k : k + BATCH]}).encode()
                for k in range(0, calls, BATCH)
            ]
            with bench.cpu() as intake_cpu:
                seconds, statuses = _post_batches(port, bench.responder_token, payloads)
            created = sum(1 for status in statuses if status == 201)
            if created != calls:
                raise RuntimeError(f"batch intake created {created} of {calls} calls")
            # The same rows under a fresh range of incident numbers.
            rows = copy_rows(
                [call_body(f"C{run_tag}{repeat}", i, now=now) for i in range(calls)],
                responder_id=bench.responder_id,
            )
            with bench.cpu() as copy_cpu:
                copy_seconds = _copy(bench.database_url, rows)
            intake_rates.append(calls / seconds)
            copy_rates.append(calls / copy_seconds)
            runs.append(
                {
                    "intake_seconds": round(seconds, 2),
                    "intake_calls_per_s": round(calls / seconds, 1),
                    "intake_cpu": intake_cpu.result,
                    "copy_seconds": round(copy_seconds, 2),
                    "copy_calls_per_s": round(calls / copy_seconds, 1),
                    "copy_cpu": copy_cpu.result,
                }
            )
            bench.log(
                f"eligible calls: run {repeat + 1}: batch intake {calls / seconds:.0f} calls/s "
                f"({seconds:.1f} s), COPY {calls / copy_seconds:.0f} calls/s "
                f"({copy_seconds:.2f} s)"
            )
    finally:
        stop_process(web)
    bench.redis_client().flushall()
    intake_rate = statistics.median(intake_rates)
    copy_rate = statistics.median(copy_rates)
    share = ratio(intake_rate, copy_rate)
    details = {
        "gunicorn": "1 sync worker",
        "calls_per_run": calls,
        "batch": BATCH,
        "repeats": runs,
    }
    figure = Figure(
        key="eligible_calls.batch_intake",
        name=f"Eligible calls batch intake, 1 worker, batches of {BATCH:,}",
        value=round(intake_rate, 1),
        unit="calls/s",
        baseline=round(copy_rate, 1),
        baseline_name="bulk COPY of the same rows into calls_eligiblecall (no history rows)",
        ratio_is="value / baseline",
        ratio=share,
        goal=f">= {INTAKE_GOAL:.2f} x baseline",
        met=share is not None and share >= INTAKE_GOAL,
        missed_by=short_of(share, INTAKE_GOAL, "ratio"),
        note=f"{BATCHES} batches a run",
        runs=REPEATS,
    )
    return details, [figure]


def run(bench: Bench) -> Outcome:
    outcome = Outcome(name="eligible_calls")
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    metrics_details, metrics_figures = metrics_part(bench)
    # On top of the year's 2,000,000 calls: the table's indexes as deep as they will be.
    intake_details, intake_figures = intake_part(bench)
    outcome.figures = [*intake_figures, *metrics_figures]
    outcome.details = {
        "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "metrics": metrics_details,
        "batch_intake": intake_details,
    }
    return outcome


def _since(started: float) -> str:
    return f"({time.monotonic() - started:.1f} s)"


def main(argv: list[str] | None = None) -> int:
    from .context import run_alone

    return run_alone(
        "eligible_calls",
        run,
        database_url=STANDALONE_DATABASE_URL,
        description=__doc__,
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
