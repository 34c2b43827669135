"""Benchmark 1: intake throughput, and its latency under a steady load.

gunicorn with 2 (sync) workers on PostgreSQL; 16 closed-loop clients post distinct field
responses, 30 s counted. Two baselines in the same run, the same way: the benchmark-only endpoint
that creates one bare row through DRF (same token auth, permission and JSON parsing), and the one
that validates the same body as intake and writes the rows a new neighbor's intake writes (five
rows and their five history rows) in one hand-written SQL statement (heart_cases/bench_api.py):
the floor for that work. The three take turns in 10 s slices, so that other work on the shared
machine falls on all alike. Then open loop: intake alone at a constant arrival rate of 25% and
of 50% of its own closed-loop throughput just measured. The database holds 10,000 earlier cases
first, so neighbor matching searches real indexes.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from datetime import date, timedelta
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, over, ratio, short_of
from .infra import free_port, start_gunicorn, stop_process
from .load import LoadResult, OpenLoopResult, merged, run_load, run_open_loop
from .task_list import describe_history

CLIENTS = 16
SECONDS = float(os.environ.get("HEART_BENCH_LOAD_SECONDS", "30"))
WARMUP = 3.0
# The two endpoints take turns (bare row, intake, bare row, ...) so that whatever else the
# shared machine is doing falls on both alike.
SLICES = 3
HISTORY = 10_000
# Open loop: shares of intake's closed-loop throughput, each for this long after a warm-up.
OPEN_LOOP_SHARES = (0.25, 0.50)
OPEN_LOOP_SECONDS = float(os.environ.get("HEART_BENCH_OPEN_LOOP_SECONDS", "20"))
SINGLE_RUNS = 100
FIRST_NAMES = ("Ana", "Luis", "Maya", "Omar", "Rosa", "Tariq", "Keisha", "Jamal", "Elena", "Dana")


def intake_body_factory(run_tag: str, phones_from: int) -> Any:
    """Intake bodies numbered i = 0, 1, …: distinct incidents and distinct new neighbors, the
    phones 919-`phones_from + i`. Each caller takes its own block of numbers: a body whose
    phone an earlier endpoint already stored would take intake's matched-neighbor path, and
    the figure would no longer measure a new neighbor's intake."""
    from django.utils import timezone

    responded = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    responded_at = responded.isoformat()
    cleared_at = (responded + timedelta(minutes=50)).isoformat()

    def body(i: int) -> dict[str, Any]:
        return {
            "incident_number": f"L{run_tag}-{i:07d}",
            "unit": f"CRT-{i % 9}",
            "program": "CRT",
            "call_type": "Nonviolent mental health crisis",
            "responded_at": responded_at,
            "cleared_at": cleared_at,
            "location": {
                "address": f"{100 + i % 900} Main St, Durham, NC",
                "latitude": 35.994,
                "longitude": -78.899,
            },
            "neighbor": {
                "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
                "last_name": f"Load{run_tag}{i:07d}",
                "date_of_birth": (date(1950, 1, 1) + timedelta(days=i % 20000)).isoformat(),
                # Distinct valid numbers, none of them seeded (the seed's are 919-200-0000
                # upward) nor given to another endpoint.
                "phone": f"+1919{phones_from + i:07d}",
                "language": "es" if i % 5 == 0 else "en",
                "unsheltered": i % 4 == 0,
            },
            "needs": ["mental_health", "housing"],
            "disposition": "resolved_on_scene",
            "follow_up_consent": True,
            "responder_felt_safe": True,
            "narrative": "Neighbor calm after de-escalation; agreed to a follow-up call.",
        }

    return body


def one_at_a_time(bench: Bench, run_tag: str) -> dict[str, Any]:
    """Both endpoints in this process, one request at a time (no queueing, no HTTP): the
    cost of one request and its query count, to read the loaded figures against."""
    import json
    import statistics

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token {bench.responder_token}"}
    intake_body = intake_body_factory(f"{run_tag}s", phones_from=3000000)
    endpoints = {
        "bare_row": ("/api/v1/bench/bare-row/", lambda i: {"incident_number": f"S{run_tag}-{i}"}),
        "intake": ("/api/v1/field-responses/", intake_body),
    }
    measured: dict[str, Any] = {}
    for name, (path, body_for) in endpoints.items():
        times: list[float] = []
        counts: list[int] = []
        for i in range(SINGLE_RUNS + 10):
            payload = json.dumps(body_for(i))
            # The log is a bounded deque: once full, its length no longer counts queries.
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.post(path, payload, content_type="application/json", **headers)
                elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 201, (path, response.status_code, response.content)
            if i >= 10:
                times.append(elapsed)
                counts.append(len(queries.captured_queries))
        measured[name] = {
            "requests": SINGLE_RUNS,
            "p50_ms": round(statistics.median(times), 2),
            "queries": max(counts),
        }
    return measured


def run(bench: Bench) -> Outcome:
    outcome = Outcome(name="intake")
    seeder = bench.seed
    seeder.truncate_domain()
    describe_history(seeder, lo=1, hi=HISTORY + 1)
    seeder.materialize(phones=True)
    seeder.analyze()
    bench.log(f"intake: {HISTORY:,} earlier cases seeded")

    run_tag = time.strftime("%H%M%S")
    with bench.cpu() as single_cpu:
        single = one_at_a_time(bench, run_tag)
    single["cpu"] = single_cpu.result
    bench.log(
        f"intake: one at a time, in-process: bare row {single['bare_row']['p50_ms']} ms "
        f"({single['bare_row']['queries']} queries), intake {single['intake']['p50_ms']} ms "
        f"({single['intake']['queries']} queries)"
    )

    port = free_port()
    web = start_gunicorn(bench.env, port=port, workers=2)
    try:
        bench.log(
            f"intake: bare row and field responses in turns, {SLICES} x {SECONDS / SLICES:.0f} s "
            f"each, {CLIENTS} clients"
        )
        load_before = os.getloadavg()[0]
        endpoints = {
            "bare_row": (
                "/api/v1/bench/bare-row/",
                lambda i: {"incident_number": f"BARE-{run_tag}-{i}"},
            ),
            "sql_rows": (
                "/api/v1/bench/sql-rows/",
                intake_body_factory(f"{run_tag}F", phones_from=4000000),
            ),
            "intake": (
                "/api/v1/field-responses/",
                intake_body_factory(run_tag, phones_from=5000000),
            ),
        }
        numbers = {name: itertools.count() for name in endpoints}
        slices: dict[str, list[LoadResult]] = {name: [] for name in endpoints}
        cpu: dict[str, list[dict[str, float]]] = {name: [] for name in endpoints}
        for turn in range(SLICES):
            for name, (path, body_for) in endpoints.items():
                with bench.cpu() as meter:
                    slices[name].append(
                        run_load(
                            port=port,
                            path=path,
                            token=bench.responder_token,
                            body_for=body_for,
                            clients=CLIENTS,
                            seconds=SECONDS / SLICES,
                            warmup=WARMUP if turn == 0 else 1.0,
                            numbers=numbers[name],
                        )
                    )
                cpu[name].append(meter.result)
        bare, floor, intake = (merged(slices[name]) for name in ("bare_row", "sql_rows", "intake"))
        bare_cpu, floor_cpu, intake_cpu = (
            _cpu_total(cpu[name]) for name in ("bare_row", "sql_rows", "intake")
        )
        rates = {name: [r.per_second for r in slices[name]] for name in slices}
        bench.log(f"intake: bare row {_line(bare)}; cores {bare_cpu}")
        bench.log(f"intake: SQL floor {_line(floor)}; cores {floor_cpu}")
        bench.log(f"intake: field responses {_line(intake)}; cores {intake_cpu}")
        open_loop: dict[float, OpenLoopResult] = {}
        open_cpu: dict[float, dict[str, float]] = {}
        closed_rate = statistics.median(rates["intake"])
        for share in OPEN_LOOP_SHARES:
            with bench.cpu() as meter:
                open_loop[share] = run_open_loop(
                    port=port,
                    path=endpoints["intake"][0],
                    token=bench.responder_token,
                    body_for=endpoints["intake"][1],
                    rate=closed_rate * share,
                    seconds=OPEN_LOOP_SECONDS,
                    warmup=2.0,
                    numbers=numbers["intake"],
                )
            open_cpu[share] = meter.result
            bench.log(
                f"intake: open loop at {share:.0%} ({closed_rate * share:.1f} req/s) "
                f"{_line(open_loop[share])}; start lag p99 "
                f"{open_loop[share].start_lag_p99_ms:.1f} ms; load generator "
                f"{open_loop[share].generator_cores:.3f} cores"
            )
    finally:
        stop_process(web)
    # Intake queued one assign_case per new case; no worker ran: drop them before the next
    # benchmark starts workers on this Redis (ours alone).
    bench.redis_client().flushall()

    from heart_cases.models import FieldResponse
    from navigation.models import FollowUpTask

    recorded = FieldResponse.objects.filter(incident_number__startswith=f"L{run_tag}-").count()
    tasks = FollowUpTask.objects.filter(
        field_response__incident_number__startswith=f"L{run_tag}-"
    ).count()
    outcome.details = {
        "clients": CLIENTS,
        "seconds": SECONDS,
        "warmup_seconds": WARMUP,
        "gunicorn": "2 sync workers",
        "earlier_cases": HISTORY,
        "load_average_before": round(load_before, 2),
        "one_at_a_time": single,
        "slices": SLICES,
        "bare_row": {**bare.summary(), "cpu": bare_cpu, "slice_rates": rates["bare_row"]},
        "sql_rows": {**floor.summary(), "cpu": floor_cpu, "slice_rates": rates["sql_rows"]},
        "intake": {**intake.summary(), "cpu": intake_cpu, "slice_rates": rates["intake"]},
        "open_loop": {
            f"{share:.0%}": {**result.summary(), "cpu": open_cpu[share]}
            for share, result in open_loop.items()
        },
        "field_responses_recorded_incl_warmup": recorded,
        "follow_up_tasks_created_incl_warmup": tasks,
    }
    slices_n = len(rates["intake"])
    # Throughput: the median of the slices' rates, each figure against the same slice's
    # neighbors in time (the endpoints took turns).
    intake_rate = statistics.median(rates["intake"])
    bare_rate = statistics.median(rates["bare_row"])
    floor_rate = statistics.median(rates["sql_rows"])
    throughput_ratio = ratio(intake_rate, bare_rate)
    floor_ratio = ratio(intake_rate, floor_rate)
    outcome.figures = [
        Figure(
            key="intake.throughput",
            name="Intake throughput",
            value=round(intake_rate, 1),
            unit="req/s",
            baseline=round(bare_rate, 1),
            baseline_name="bare-row endpoint",
            ratio_is="value / baseline",
            ratio=throughput_ratio,
            goal=">= 0.40 x baseline",
            met=throughput_ratio is not None and throughput_ratio >= 0.40,
            missed_by=short_of(throughput_ratio, 0.40, "ratio"),
            runs=slices_n,
        ),
        Figure(
            key="intake.throughput_floor",
            name="Intake throughput against its SQL floor",
            value=round(intake_rate, 1),
            unit="req/s",
            baseline=round(floor_rate, 1),
            baseline_name="the same rows in one SQL statement, same endpoint machinery",
            ratio_is="value / baseline",
            ratio=floor_ratio,
            goal="(none)",
            met=None,
            runs=slices_n,
        ),
    ]
    for q in (50, 95, 99):
        outcome.figures.append(
            Figure(
                key=f"intake.closed_p{q}",
                name=f"Intake latency p{q}, closed loop ({CLIENTS} clients)",
                value=round(intake.percentile(q), 1),
                unit="ms",
                baseline=round(bare.percentile(q), 1),
                baseline_name="bare-row endpoint",
                ratio_is="value / baseline",
                ratio=ratio(intake.percentile(q), bare.percentile(q)),
                goal="(none)",
                met=None,
                note=f"pooled over {slices_n} slices",
            )
        )
    limits = {0.25: 100.0, 0.50: 200.0}
    for share, result in open_loop.items():
        for q in (50, 95, 99):
            value = round(result.percentile(q), 1)
            limit = limits.get(share) if q == 95 else None
            outcome.figures.append(
                Figure(
                    key=f"intake.open_{round(share * 100)}.p{q}",
                    name=f"Intake latency p{q}, open loop at {share:.0%} of its throughput",
                    value=value,
                    unit="ms",
                    baseline=round(intake.percentile(q), 1),
                    baseline_name="closed loop, same percentile",
                    ratio_is="value / baseline",
                    ratio=ratio(value, intake.percentile(q)),
                    goal=f"< {limit:g} ms" if limit else "(none)",
                    met=(value < limit and result.errors == 0) if limit else None,
                    missed_by=over(value, limit, "p95", " ms") if limit else "",
                    note=(
                        f"{result.rate:.1f} req/s, {result.requests} answers, "
                        f"{result.errors} errors; load generator "
                        f"{result.generator_cores / (os.cpu_count() or 1):.1%} of the cores, "
                        f"start lag p99 {result.start_lag_p99_ms:.1f} ms"
                    ),
                )
            )
    return outcome


def _line(result: LoadResult) -> str:
    s = result.summary()
    return (
        f"{s['requests_per_s']} req/s, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, "
        f"p99 {s['p99_ms']} ms, {s['errors']} errors {s['statuses']}"
    )


def _cpu_total(parts: list[dict[str, float]]) -> dict[str, float]:
    """CPU shares of several slices, weighted by their length."""
    seconds = sum(part["seconds"] for part in parts) or 1.0
    total: dict[str, float] = {"seconds": round(seconds, 1), "cores": parts[0]["cores"]}
    for key in ("busy_cores", "ours_cores", "others_cores", "steal_cores"):
        total[key] = round(sum(part[key] * part["seconds"] for part in parts) / seconds, 2)
    return total
