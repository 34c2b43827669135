"""Benchmark 2: the task list at scale.

The `today` task list of one navigator (the peer of pair 1), through the API
(`GET /api/v1/tasks/?view=today&mine=true`) and the HTML page (`GET /tasks/`), measured in
this process with Django's test client, with 10,000 and with 1,000,000 cases in the database:
p50/p95 over 200 requests per surface and size, and the query count. The 10,000-case
database is kept as a copy (CREATE DATABASE … TEMPLATE) before the rest is added, and the
two sizes are measured in turns (4 rounds of 50 requests, order alternating, a few untimed
requests after each switch), so that other work on the shared machine falls on both alike.

What the cases look like (the same open work at both sizes, only history grows):
- the navigator's pair owns 25 open follow-ups: 6 overdue, 12 due later today, 7 upcoming;
- each of the other 49 pairs owns 24 open follow-ups (overdue, today, upcoming), so every
  pair is near its capacity of 25;
- the rest are closed history (a done follow-up and a successful call each), spread over a
  year and over all 50 pairs, pair 1 included.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .context import NAVIGATOR, PAIRS, Bench
from .figures import Figure, Outcome, over, ratio
from .seed import Seeder

SMALL = 10_000
LARGE = int(os.environ.get("HEART_BENCH_TASK_LIST_CASES", "1000000"))
NAVIGATOR_OPEN = (6, 12, 7)  # overdue, today, upcoming
# The other pairs' open follow-ups, 24 each, numbered right after the navigator's 25: the
# same open work at both sizes (open work is bounded by the pairs' capacity; history grows).
OTHERS_OPEN_FIRST = sum(NAVIGATOR_OPEN) + 1
OTHERS_OPEN = (PAIRS - 1) * 24
RUNS = 200
# The sizes take turns: ROUNDS rounds of RUNS / ROUNDS timed requests per surface and size,
# each after a few untimed ones (the connection was just switched).
ROUNDS = 4
WARMUP_PER_ROUND = 5
API_PATH = "/api/v1/tasks/?view=today&mine=true"
PAGE_PATH = "/tasks/"


def describe_history(seeder: Seeder, *, lo: int, hi: int) -> None:
    """Cases lo..hi-1. Those numbered from OTHERS_OPEN_FIRST, OTHERS_OPEN of them, are the
    other pairs' open work (24 each: a pair's capacity is 25); every other case is closed
    history spread over a year and over all pairs, pair 1 included."""
    from django.utils import timezone

    from navigation.models import Pair

    pair_ids = list(Pair.objects.order_by("id").values_list("id", flat=True))
    first = pair_ids[0]
    assert pair_ids == list(range(first, first + len(pair_ids))), "pairs must be contiguous"
    now = timezone.now()
    seeder.describe(
        """
        SELECT g, o.is_open,
            CASE WHEN o.is_open THEN %(first)s + 1 + (g - %(open_first)s) %% (%(pairs)s - 1)
                 ELSE %(first)s + g %% %(pairs)s END,
            CASE WHEN o.is_open THEN b.deadline - interval '48 hours' ELSE h.opened END,
            CASE WHEN o.is_open THEN b.deadline ELSE h.opened + interval '47 hours' END,
            CASE WHEN o.is_open THEN b.work_by ELSE h.opened + interval '45 hours' END
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) g
        CROSS JOIN LATERAL (
            SELECT g >= %(open_first)s AND g < %(open_first)s + %(open)s AS is_open
        ) o
        CROSS JOIN LATERAL (
            SELECT %(now)s::timestamptz - interval '3 days'
                   - ((g * 7919) %% 31536000) * interval '1 second' AS opened
        ) h
        CROSS JOIN LATERAL (
            SELECT CASE g %% 3
                     WHEN 0 THEN %(now)s::timestamptz - interval '1 hour'
                     WHEN 1 THEN %(today)s::timestamptz
                     ELSE %(now)s::timestamptz + interval '30 hours' END AS work_by,
                   CASE g %% 3
                     WHEN 0 THEN %(now)s::timestamptz + interval '6 hours'
                     WHEN 1 THEN %(today)s::timestamptz + interval '2 hours'
                     ELSE %(now)s::timestamptz + interval '32 hours' END AS deadline
        ) b
        """,
        {
            "lo": lo,
            "hi": hi,
            "first": first,
            "pairs": len(pair_ids),
            "open_first": OTHERS_OPEN_FIRST,
            "open": OTHERS_OPEN,
            "now": now,
            "today": _today_moments(now, 1)[0],
        },
    )


def _end_of_today(now: datetime) -> datetime:
    from django.utils import timezone

    local = timezone.localtime(now)
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _today_moments(now: datetime, count: int) -> list[datetime]:
    """`count` moments later today, leaving the measurement a few minutes of margin."""
    end = _end_of_today(now)
    start = now + min(timedelta(minutes=10), (end - now) / 2)
    step = (end - timedelta(seconds=1) - start) / max(count, 1)
    return [start + step * k for k in range(count)]


def describe_navigator_cases(seeder: Seeder, *, first_id: int, pair_id: int) -> list[int]:
    from django.utils import timezone

    now = timezone.now()
    rows = []
    for k in range(sum(NAVIGATOR_OPEN)):
        deadline = now + timedelta(hours=10)
        rows.append((first_id + k, True, pair_id, deadline - timedelta(hours=48), deadline, now))
    seeder.describe_rows(rows)
    return [row[0] for row in rows]


def place_navigator_tasks(seeder: Seeder, task_ids: list[int]) -> None:
    """Put the navigator's tasks where the list expects them relative to the clock now:
    overdue, later today, upcoming (the clock moves between the two sizes)."""
    from django.utils import timezone

    now = timezone.now()
    overdue, today, upcoming = NAVIGATOR_OPEN
    work_bys = (
        [now - timedelta(hours=1 + k) for k in range(overdue)]
        + _today_moments(now, today)
        + [_end_of_today(now) + timedelta(hours=8 + k) for k in range(upcoming)]
    )
    for task_id, work_by in zip(task_ids, work_bys, strict=True):
        seeder.execute(
            "UPDATE navigation_followuptask SET work_by = %(w)s, deadline = %(d)s WHERE id = %(i)s",
            {"w": work_by, "d": max(work_by, now) + timedelta(hours=2), "i": task_id},
        )


@dataclass
class Samples:
    """What the timed requests of one surface at one size saw, over every round."""

    latencies: list[float] = field(default_factory=list)
    database_ms: list[float] = field(default_factory=list)
    query_counts: list[int] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    cpu: list[dict[str, float]] = field(default_factory=list)
    body: bytes = b""


def _block(client: Any, path: str, headers: dict[str, str], samples: Samples) -> None:
    """WARMUP_PER_ROUND untimed requests, then RUNS // ROUNDS timed ones."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for run in range(WARMUP_PER_ROUND + RUNS // ROUNDS):
        # The log is a bounded deque: once full, its length no longer counts queries.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path, **headers)
            elapsed = (time.perf_counter() - started) * 1000
        samples.statuses.add(response.status_code)
        samples.body = response.content
        if run >= WARMUP_PER_ROUND:
            samples.latencies.append(elapsed)
            samples.query_counts.append(len(queries.captured_queries))
            samples.database_ms.append(
                sum(float(q["time"]) for q in queries.captured_queries) * 1000
            )
    if min(samples.query_counts) == 0:
        raise RuntimeError(f"No queries were captured for {path}: the measurement is broken.")


def _stats(samples: Samples) -> dict[str, Any]:
    ordered = sorted(samples.latencies)
    seconds = sum(part["seconds"] for part in samples.cpu) or 1.0
    cpu: dict[str, float] = {"seconds": round(seconds, 1), "cores": samples.cpu[0]["cores"]}
    for key in ("busy_cores", "ours_cores", "others_cores", "steal_cores"):
        cpu[key] = round(sum(part[key] * part["seconds"] for part in samples.cpu) / seconds, 2)
    return {
        "runs": len(ordered),
        "rounds": ROUNDS,
        "warmup_per_round": WARMUP_PER_ROUND,
        "statuses": sorted(samples.statuses),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 2),
        "max_ms": round(ordered[-1], 2),
        # Time spent waiting for PostgreSQL (as Django's debug cursor measures it).
        "database_p50_ms": round(statistics.median(samples.database_ms), 2),
        "queries": max(samples.query_counts),
        "queries_min": min(samples.query_counts),
        "response_bytes": len(samples.body),
        "cpu": cpu,
    }


def _use_database(name: str) -> None:
    """Point this process's Django connection at another copy of the benchmark database."""
    from django.db import connections

    connection = connections["default"]
    connection.close()
    connection.settings_dict["NAME"] = name


def _measure_in_turns(bench: Bench, databases: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Both surfaces at both sizes, in ROUNDS rounds that alternate the sizes (and their
    order), so that whatever else the shared machine does falls on both sizes alike."""
    import json

    from django.contrib.auth.models import User
    from django.test import Client

    samples = {(size, surface): Samples() for size in databases for surface in ("api", "page")}
    api_headers = {"HTTP_AUTHORIZATION": f"Token {bench.navigator_token}"}
    order = list(databases)
    for round_ in range(ROUNDS):
        for size in order if round_ % 2 == 0 else order[::-1]:
            _use_database(databases[size])
            page_client = Client()
            page_client.force_login(User.objects.get(username=NAVIGATOR))
            for surface, client, path, headers in (
                ("api", Client(), API_PATH, api_headers),
                ("page", page_client, PAGE_PATH, {}),
            ):
                with bench.cpu() as meter:
                    _block(client, path, headers, samples[(size, surface)])
                samples[(size, surface)].cpu.append(meter.result)
    results: dict[str, dict[str, Any]] = {}
    for size in databases:
        api, page = samples[(size, "api")], samples[(size, "page")]
        results[size] = {
            "api": {**_stats(api), "tasks_listed": len(json.loads(api.body)["results"])},
            "page": {**_stats(page), "tasks_listed": page.body.count(b'id="task-')},
        }
    return results


def run(bench: Bench) -> Outcome:
    from heart_cases.models import Case

    from .infra import database_clone, database_drop, database_name
    from .seed import Seeder

    outcome = Outcome(name="task_list")
    seeder = bench.seed
    seeder.truncate_domain()
    main_name = database_name(bench.database_url)
    small_name = f"{main_name}_small"
    started = time.monotonic()
    navigator_ids = describe_navigator_cases(seeder, first_id=1, pair_id=bench.pair_ids[0])
    describe_history(seeder, lo=len(navigator_ids) + 1, hi=SMALL + 1)
    seeder.materialize()
    seeder.analyze()
    small_cases = Case.objects.count()
    # Keep the small database as a copy, so that the two sizes can be measured in turns.
    from django.db import connections

    connections.close_all()
    seeder.close()
    small_url = database_clone(bench.database_url, small_name)
    bench.seeder = seeder = Seeder(bench.database_url, responder_id=bench.responder_id)
    bench.log(f"task list: {small_cases:,} cases seeded and copied ({_since(started)})")
    try:
        started = time.monotonic()
        describe_history(seeder, lo=SMALL + 1, hi=LARGE + 1)
        seeder.materialize()
        seeded = _since(started)
        started = time.monotonic()
        seeder.analyze()
        large_cases = Case.objects.count()
        bench.log(
            f"task list: {LARGE - SMALL:,} more cases seeded ({seeded}; analyze {_since(started)})"
        )
        small_seeder = Seeder(small_url, responder_id=bench.responder_id)
        try:
            place_navigator_tasks(small_seeder, navigator_ids)
        finally:
            small_seeder.close()
        place_navigator_tasks(seeder, navigator_ids)
        measured = _measure_in_turns(bench, {"small": small_name, "large": main_name})
    finally:
        _use_database(main_name)
        connections.close_all()
        database_drop(small_url)
    small, large = measured["small"], measured["large"]
    small["cases"], large["cases"] = small_cases, large_cases
    bench.log(f"task list @{small_cases:,}: {_line(small)}")
    bench.log(f"task list @{large_cases:,}: {_line(large)}")

    outcome.details = {"small": small, "large": large, "navigator_open_tasks": NAVIGATOR_OPEN}
    size = f"{large['cases']:,} cases"
    base = f"{small['cases']:,} cases"
    for surface, label in (("api", "API today list"), ("page", "Task list page")):
        for stat in ("p50_ms", "p95_ms"):
            value, baseline = large[surface][stat], small[surface][stat]
            figure_ratio = ratio(value, baseline)
            outcome.figures.append(
                Figure(
                    key=f"task_list.{surface}.{stat[:3]}",
                    name=f"{label} {stat[:3]} @ {size}",
                    value=value,
                    unit="ms",
                    baseline=baseline,
                    baseline_name=f"same @ {base}",
                    ratio_is="value / baseline",
                    ratio=figure_ratio,
                    goal="<= 1.5 x baseline",
                    met=figure_ratio is not None and figure_ratio <= 1.5,
                    missed_by=over(figure_ratio, 1.5, "ratio", "x"),
                )
            )
        queries, base_queries = large[surface]["queries"], small[surface]["queries"]
        outcome.figures.append(
            Figure(
                key=f"task_list.{surface}.queries",
                name=f"{label} queries @ {size}",
                value=queries,
                unit="queries",
                baseline=base_queries,
                baseline_name=f"same @ {base}",
                ratio_is="value / baseline",
                ratio=ratio(queries, base_queries),
                goal="identical",
                met=queries == base_queries
                and large[surface]["queries_min"] == small[surface]["queries_min"],
                missed_by=(
                    f"{large[surface]['queries_min']}-{queries} queries against "
                    f"{small[surface]['queries_min']}-{base_queries}"
                ),
            )
        )
    return outcome


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"


def _line(sizes: dict[str, Any]) -> str:
    return "; ".join(
        f"{surface}: p50 {sizes[surface]['p50_ms']} ms, p95 {sizes[surface]['p95_ms']} ms, "
        f"{sizes[surface]['queries']} queries, {sizes[surface]['tasks_listed']} tasks, "
        f"other work {sizes[surface]['cpu']['others_cores']} cores"
        for surface in ("api", "page")
    )
