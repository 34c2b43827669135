"""Benchmark: the retention sweep (issue 16, API.md "Consent and privacy").

1,000,000 neighbors (HEART_BENCH_RETENTION_NEIGHBORS), each with a field response, a case, its
follow-up, a call and a phone row, of whom 100,000 (HEART_BENCH_RETENTION_DUE) last had
anything happen eight years ago (past the seven-year rule) and every other one within the last
year; every neighbor also has a history row, so the sweep blanks earlier versions as it would in
production. `manage.py retention_sweep` runs in its own process (one worker), timed to its exit;
meanwhile this process measures the navigator's task list (`GET /api/v1/tasks/?view=today&
mine=true`), against the same list measured just before with nothing else running.

Goals: the sweep under 5 minutes, erasing exactly the due records; the task list's p95 during
the sweep within 1.5x of its p95 without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .context import Bench
from .figures import Figure, Outcome, over, ratio
from .task_list import (
    API_PATH,
    Samples,
    _block,
    _stats,
    describe_history,
    describe_navigator_cases,
    place_navigator_tasks,
)

NEIGHBORS = int(os.environ.get("HEART_BENCH_RETENTION_NEIGHBORS", "1000000"))
DUE = int(os.environ.get("HEART_BENCH_RETENTION_DUE", "100000"))
SWEEP_GOAL_S = 300.0
ROOT = Path(__file__).resolve().parent.parent
DURING_GOAL = 1.5


def describe_due(bench: Bench, *, lo: int, hi: int) -> None:
    """Cases lo..hi-1: closed eight years ago (opened, followed up and closed then)."""
    from django.utils import timezone

    first = bench.pair_ids[0]
    bench.seed.describe(
        """
        SELECT g, false, %(first)s + g %% %(pairs)s, o.opened, o.opened + interval '47 hours',
            o.opened + interval '45 hours'
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) g
        CROSS JOIN LATERAL (
            SELECT %(now)s::timestamptz - interval '8 years'
                   - ((g * 7919) %% 31536000) * interval '1 second' AS opened
        ) o
        """,
        {"lo": lo, "hi": hi, "first": first, "pairs": len(bench.pair_ids), "now": timezone.now()},
    )


def seed_history(bench: Bench) -> None:
    """One history row per neighbor, as intake writes (the seeder writes none)."""
    from heart_cases.models import Neighbor

    historical = Neighbor.history.model  # type: ignore[attr-defined]
    columns = [field.column for field in historical.tracked_fields]
    names = ", ".join(columns)
    bench.seed.execute(
        f"INSERT INTO {historical._meta.db_table} ({names}, history_date, history_type, "  # noqa: S608
        f"history_change_reason, history_user_id) SELECT {names}, created_at, '+', "
        f"'Recorded from a field response', %(responder)s FROM heart_cases_neighbor",
        {"responder": bench.responder_id},
    )


def measure_while(bench: Bench, process: subprocess.Popen[bytes] | None, blocks: int) -> Samples:
    from django.test import Client

    samples = Samples()
    headers = {"HTTP_AUTHORIZATION": f"Token {bench.navigator_token}"}
    done = 0
    while done < blocks or (process is not None and process.poll() is None):
        with bench.cpu() as meter:
            _block(Client(), API_PATH, headers, samples)
        samples.cpu.append(meter.result)
        done += 1
    return samples


def run(bench: Bench) -> Outcome:
    from heart_cases.models import AccessLog, Neighbor

    outcome = Outcome(name="retention")
    seeder = bench.seed
    seeder.truncate_domain()
    started = time.monotonic()
    navigator_ids = describe_navigator_cases(seeder, first_id=1, pair_id=bench.pair_ids[0])
    recent_hi = NEIGHBORS - DUE + 1
    describe_history(seeder, lo=len(navigator_ids) + 1, hi=recent_hi)
    describe_due(bench, lo=recent_hi, hi=NEIGHBORS + 1)
    seeder.materialize(phones=True)
    seed_history(bench)
    seeder.analyze()
    place_navigator_tasks(seeder, navigator_ids)
    bench.log(
        f"retention: {NEIGHBORS:,} neighbors, {DUE:,} due, seeded in "
        f"{time.monotonic() - started:.0f} s"
    )
    without = measure_while(bench, None, blocks=4)

    env = {**os.environ, **bench.env}
    manage = [sys.executable, "manage.py", "retention_sweep"]
    began = time.monotonic()
    process = subprocess.Popen(
        manage, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    during = measure_while(bench, process, blocks=1)
    output, _ = process.communicate()
    sweep_seconds = time.monotonic() - began
    if process.returncode != 0:
        raise RuntimeError(f"retention_sweep failed: {output.decode()[-2000:]}")
    erased = Neighbor.objects.filter(erased_at__isnull=False).count()
    logged = sum(
        len(ids)
        for ids in AccessLog.objects.filter(action=AccessLog.Action.ERASE).values_list(
            "object_ids", flat=True
        )
    )
    alone, busy = _stats(without), _stats(during)
    bench.log(
        f"retention: {erased:,} erased in {sweep_seconds:.1f} s; task list p95 "
        f"{alone['p95_ms']} ms alone, {busy['p95_ms']} ms during ({busy['runs']} requests)"
    )
    outcome.details = {
        "neighbors": NEIGHBORS,
        "due": DUE,
        "erased": erased,
        "access_logged": logged,
        "sweep_seconds": round(sweep_seconds, 1),
        "sweep_output": output.decode().strip().splitlines()[-1:],
        "task_list_alone": alone,
        "task_list_during": busy,
    }
    correct = erased == DUE == logged
    outcome.figures.append(
        Figure(
            key="retention.sweep_seconds",
            name=f"Retention sweep, {DUE:,} due of {NEIGHBORS:,}, 1 worker",
            value=round(sweep_seconds, 1),
            unit="s",
            baseline=None,
            baseline_name="",
            ratio_is="",
            ratio=None,
            goal=f"< {SWEEP_GOAL_S:g} s, exactly the due records erased",
            met=sweep_seconds < SWEEP_GOAL_S and correct,
            missed_by=(
                over(sweep_seconds, SWEEP_GOAL_S, "time", " s")
                if correct
                else f"{erased:,} erased and {logged:,} logged, not {DUE:,}"
            ),
        )
    )
    figure_ratio = ratio(busy["p95_ms"], alone["p95_ms"])
    outcome.figures.append(
        Figure(
            key="retention.task_list_p95_during",
            name="Task list API p95 while the retention sweep runs",
            value=busy["p95_ms"],
            unit="ms",
            baseline=alone["p95_ms"],
            baseline_name="same, nothing else running",
            ratio_is="value / baseline",
            ratio=figure_ratio,
            goal=f"<= {DURING_GOAL:g} x baseline",
            met=figure_ratio is not None and figure_ratio <= DURING_GOAL,
            missed_by=over(figure_ratio, DURING_GOAL, "ratio", "x"),
        )
    )
    return outcome
