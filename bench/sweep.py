"""Benchmark 3: the follow-up sweep when many follow-ups come due at once.

10,000 and then 100,000 open cases, each with a pending follow-up owned by one of 50 pairs,
all with the same work-by 30 minutes from now (work-by clamps to the close of service hours,
so many tasks sharing one work-by is the real shape of "due at once"). The clock: from queueing
the first `navigation.sweep_follow_ups` (as beat would) until every due task has its reminder
Notice. Measured with one Celery worker process and with two (separate worker nodes,
concurrency 1 each; HEART_SWEEP_FANOUT set to the number of workers, as settings advise).
Navigators have no email address here, so the figure is the in-app reminder alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, over, ratio, short_of
from .workers import enqueue_sweep, start_workers, stop_workers, wait_drained

SIZES = tuple(int(n) for n in os.environ.get("HEART_BENCH_SWEEP_SIZES", "10000,100000").split(","))
WORKER_COUNTS = (1, 2)
# Each (size, workers) is run this many times on the same seeded rows (the notices cleared and
# the follow-ups marked unreminded between runs); each figure is the median.
REPEATS = int(os.environ.get("HEART_BENCH_SWEEP_REPEATS", "3"))
# Goals (issue 19): 25% below the first goal of 60 s, so that it holds run after run on these
# machines; two workers 1.8x one at 100,000. At 10,000 a run takes two or three seconds, of which
# the workers' start on the first message is a fixed share: 1.6x there.
GOAL_SECONDS = 45.0
SPEEDUP_GOAL_LARGE = 1.8
SPEEDUP_GOAL_SMALL = 1.6
# Each run stops here if the sweep has not finished, so that `make bench` stays within its
# time; above the 45 s goal, so the goal's verdict is always measured, never projected.
BOUND_SECONDS = float(os.environ.get("HEART_BENCH_SWEEP_BOUND", "60"))
# The clock's resolution: at 10,000 due a run takes two or three seconds, which a poll every
# 0.2 s measured to within 8%. A poll reads the notices' largest id from the primary key.
POLL_SECONDS = 0.05


def describe_due(bench: Bench, size: int) -> None:
    from django.utils import timezone

    now = timezone.now()
    pairs = bench.pair_ids
    bench.seed.describe(
        """
        SELECT g, true, %(first)s + g %% %(pairs)s, %(deadline)s::timestamptz - interval '48 hours',
               %(deadline)s::timestamptz, %(work_by)s::timestamptz
        FROM generate_series(1, %(size)s::bigint) g
        """,
        {
            "first": pairs[0],
            "pairs": len(pairs),
            "size": size,
            "work_by": now + timedelta(minutes=30),
            "deadline": now + timedelta(hours=2),
        },
    )


def reminders() -> int:
    from navigation.models import Notice

    return Notice.objects.filter(kind=Notice.Kind.REMINDER).count()


def reminders_so_far(size: int) -> int:
    """What the clock polls every POLL_SECONDS. A count of 100,000 notices is an index scan of them
    all, and five a second took a few percent of a core from a saturated two-worker run; the
    notice table is emptied (its ids restarted) before each run and every notice of the run is
    a reminder, so the largest id is the count, read from the primary key at once. Only once it
    reaches `size` is the count itself taken (ids the sweep's ON CONFLICT skipped would make
    the largest id run ahead)."""
    from django.db.models import Max

    from navigation.models import Notice

    largest = Notice.objects.aggregate(largest=Max("id"))["largest"] or 0
    return reminders() if largest >= size else largest


def steady_rate(samples: list[tuple[float, int]]) -> float | None:
    """Reminders per second from the first recorded reminder to the last sample (leaves out
    the worker picking up the first message)."""
    started = next(((t, n) for t, n in samples if n > 0), None)
    if started is None or samples[-1][0] <= started[0]:
        return None
    return (samples[-1][1] - started[1]) / (samples[-1][0] - started[0])


def _wait_for_reminders(
    size: int, enqueue: Callable[[], Any]
) -> tuple[list[tuple[float, int]], int, float]:
    """Queue the first sweep and poll the reminder count until all `size` are recorded or
    the bound is reached: (samples of (seconds, reminders), reminders, seconds)."""
    started = time.monotonic()
    enqueue()
    samples: list[tuple[float, int]] = []
    while True:
        done = reminders_so_far(size)
        elapsed = time.monotonic() - started
        samples.append((round(elapsed, 2), done))
        if done >= size or elapsed >= BOUND_SECONDS:
            return samples, done, elapsed
        time.sleep(POLL_SECONDS)


def one_run(bench: Bench, *, size: int, workers: int) -> dict[str, Any]:
    from navigation.models import Notification

    bench.seed.truncate_notices()
    bench.redis_client().flushall()
    processes = start_workers(
        bench, count=workers, prefix=f"sweep{workers}", HEART_SWEEP_FANOUT=str(workers)
    )
    try:
        with bench.cpu() as meter:
            samples, done, elapsed = _wait_for_reminders(size, enqueue_sweep)
        finished = done >= size
        # A finished sweep leaves nothing behind; a stopped one leaves queued runs (dropped).
        drained = wait_drained(bench, 30) if finished else False
    finally:
        stop_workers(processes)
        bench.redis_client().flushall()
    rate = steady_rate(samples)
    projected = None
    if not finished and rate:
        projected = round(elapsed + (size - done) / rate, 1)
    return {
        "size": size,
        "workers": workers,
        "seconds": round(elapsed, 2),
        "finished": finished,
        "projected_seconds": projected,
        "reminders": done,
        "notifications": Notification.objects.count(),
        "steady_reminders_per_s": round(rate, 1) if rate else None,
        "queue_drained_after": drained,
        "cpu": meter.result,
        # Progress over time, thinned: enough to see whether batches slow down as work ends.
        "progress": samples[:: max(1, len(samples) // 20)] + samples[-1:],
    }


def _median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time (the lower middle for an even count), with every run's
    time beside it."""
    ordered = sorted(results, key=_time)
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["repeats"] = [
        {key: r[key] for key in ("seconds", "finished", "projected_seconds", "cpu")}
        for r in results
    ]
    median["runs"] = len(results)
    return median


def _time(run: dict[str, Any]) -> float:
    """Measured seconds, or the projection when the run stopped at the bound."""
    return run["seconds"] if run["finished"] else (run["projected_seconds"] or float("inf"))


def _note(run: dict[str, Any]) -> str:
    if run["finished"]:
        return ""
    return (
        f"projected: stopped at the {BOUND_SECONDS:.0f} s bound with {run['reminders']:,} of "
        f"{run['size']:,} reminders, at {run['steady_reminders_per_s']} reminders/s"
    )


def run(bench: Bench) -> Outcome:
    outcome = Outcome(name="sweep")
    runs: dict[tuple[int, int], dict[str, Any]] = {}
    for size in SIZES:
        bench.seed.truncate_domain()
        started = time.monotonic()
        describe_due(bench, size)
        bench.seed.materialize()
        bench.seed.analyze()
        bench.log(f"sweep: {size:,} due follow-ups seeded ({time.monotonic() - started:.1f} s)")
        # The worker counts take turns, so that other work on the machine falls on both alike.
        repeats: dict[int, list[dict[str, Any]]] = {workers: [] for workers in WORKER_COUNTS}
        for _ in range(REPEATS):
            for workers in WORKER_COUNTS:
                result = one_run(bench, size=size, workers=workers)
                repeats[workers].append(result)
                bench.log(
                    f"sweep: {size:,} with {workers} worker(s): {result['seconds']} s, "
                    f"{result['reminders']:,} reminders, {result['notifications']:,} "
                    f"notifications, {result['steady_reminders_per_s']} reminders/s, cores busy "
                    f"{result['cpu']['busy_cores']} (other work {result['cpu']['others_cores']})"
                    + ("" if result["finished"] else f" -> {_note(result)}")
                )
        for workers, results in repeats.items():
            runs[(size, workers)] = _median_run(results)
    outcome.details = {
        "runs": [runs[key] for key in sorted(runs)],
        "pairs": len(bench.pair_ids),
        "bound_seconds": BOUND_SECONDS,
    }
    small, large = SIZES[0], SIZES[-1]
    one_large = runs[(large, 1)]
    one_small = runs[(small, 1)]
    first = Figure(
        key="sweep.large.1_worker",
        name=f"Sweep {large:,} due, 1 worker",
        value=round(_time(one_large), 1),
        unit="s",
        baseline=round(_time(one_small), 1),
        baseline_name=f"{small:,} due, 1 worker",
        ratio_is=f"value / baseline (linear: {large // small if small else 0})",
        ratio=ratio(_time(one_large), _time(one_small)),
        goal=f"< {GOAL_SECONDS:g} s",
        met=one_large["finished"] and one_large["seconds"] < GOAL_SECONDS,
        note=_note(one_large),
        runs=one_large["runs"],
    )
    first.missed_by = over(first.value, GOAL_SECONDS, "time", " s") + (
        "" if one_large["finished"] else f" (not finished after {BOUND_SECONDS:.0f} s)"
    )
    outcome.figures = [first]
    for size in (large, small):
        one, two = runs[(size, 1)], runs[(size, 2)]
        goal = SPEEDUP_GOAL_LARGE if size == large else SPEEDUP_GOAL_SMALL
        if one["finished"] and two["finished"]:
            speedup = ratio(one["seconds"], two["seconds"])
            how = "baseline / value (speed-up)"
        else:
            speedup = ratio(two["steady_reminders_per_s"] or 0, one["steady_reminders_per_s"])
            how = "speed-up from steady reminders/s"
        outcome.figures.append(
            Figure(
                key=f"sweep.{'large' if size == large else 'small'}.2_workers",
                name=f"Sweep {size:,} due, 2 workers",
                value=round(_time(two), 1),
                unit="s",
                baseline=round(_time(one), 1),
                baseline_name=f"{size:,} due, 1 worker",
                ratio_is=how,
                ratio=speedup,
                goal=f">= {goal:g} x speed-up",
                met=speedup is not None and speedup >= goal,
                missed_by=short_of(speedup, goal, "speed-up"),
                note=_note(two),
                runs=two["runs"],
            )
        )
    return outcome
