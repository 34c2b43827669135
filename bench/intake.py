"""Benchmark 1: intake throughput.

gunicorn with 2 (sync) workers on PostgreSQL; 16 closed-loop clients post distinct field
responses, 30 s counted. Baseline in the same run, the same way: the benchmark-only endpoint
that creates one bare row through DRF (same token auth, permission and JSON parsing). The two
take turns in 10 s slices, so that other work on the shared machine falls on both alike. The
database holds 10,000 earlier cases first, so neighbor matching searches real indexes.
"""

from __future__ import annotations

import itertools
import os
import time
from datetime import date, timedelta
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, over, ratio, short_of
from .infra import free_port, start_gunicorn, stop_process
from .load import LoadResult, merged, run_load
from .task_list import describe_history

CLIENTS = 16
SECONDS = float(os.environ.get("HEART_BENCH_LOAD_SECONDS", "30"))
WARMUP = 3.0
# The two endpoints take turns (bare row, intake, bare row, ...) so that whatever else the
# shared machine is doing falls on both alike.
SLICES = 3
HISTORY = 10_000
SINGLE_RUNS = 100
FIRST_NAMES = ("Ana", "Luis", "Maya", "Omar", "Rosa", "Tariq", "Keisha", "Jamal", "Elena", "Dana")


def intake_body_factory(run_tag: str) -> Any:
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
                # Distinct valid numbers (919-300-0000 upward), none of them seeded.
                "phone": f"+1919{3000000 + i:07d}",
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
    intake_body = intake_body_factory(f"{run_tag}s")
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
            "intake": ("/api/v1/field-responses/", intake_body_factory(run_tag)),
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
        bare, intake = merged(slices["bare_row"]), merged(slices["intake"])
        bare_cpu, intake_cpu = _cpu_total(cpu["bare_row"]), _cpu_total(cpu["intake"])
        bench.log(f"intake: bare row {_line(bare)}; cores {bare_cpu}")
        bench.log(f"intake: field responses {_line(intake)}; cores {intake_cpu}")
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
        "bare_row": {**bare.summary(), "cpu": bare_cpu},
        "intake": {**intake.summary(), "cpu": intake_cpu},
        "field_responses_recorded_incl_warmup": recorded,
        "follow_up_tasks_created_incl_warmup": tasks,
    }
    throughput_ratio = ratio(intake.per_second, bare.per_second)
    p95 = intake.percentile(95)
    outcome.figures = [
        Figure(
            key="intake.throughput",
            name="Intake throughput",
            value=round(intake.per_second, 1),
            unit="req/s",
            baseline=round(bare.per_second, 1),
            baseline_name="bare-row endpoint",
            ratio_is="value / baseline",
            ratio=throughput_ratio,
            goal=">= 0.40 x baseline",
            met=throughput_ratio is not None and throughput_ratio >= 0.40,
            missed_by=short_of(throughput_ratio, 0.40, "ratio"),
        ),
        Figure(
            key="intake.p50",
            name="Intake latency p50",
            value=round(intake.percentile(50), 1),
            unit="ms",
            baseline=round(bare.percentile(50), 1),
            baseline_name="bare-row endpoint",
            ratio_is="value / baseline",
            ratio=ratio(intake.percentile(50), bare.percentile(50)),
            goal="(none)",
            met=None,
        ),
        Figure(
            key="intake.p95",
            name="Intake latency p95",
            value=round(p95, 1),
            unit="ms",
            baseline=round(bare.percentile(95), 1),
            baseline_name="bare-row endpoint",
            ratio_is="value / baseline",
            ratio=ratio(p95, bare.percentile(95)),
            goal="< 100 ms",
            met=p95 < 100,
            missed_by=over(round(p95, 1), 100, "p95", " ms"),
        ),
        Figure(
            key="intake.p99",
            name="Intake latency p99",
            value=round(intake.percentile(99), 1),
            unit="ms",
            baseline=round(bare.percentile(99), 1),
            baseline_name="bare-row endpoint",
            ratio_is="value / baseline",
            ratio=ratio(intake.percentile(99), bare.percentile(99)),
            goal="(none)",
            met=None,
        ),
    ]
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
