"""Benchmark 4: worker memory, the project's way against the obvious design.

The project's way: follow-ups are rows with their deadline (48 hours out) and the worker runs
the normal follow-up sweep (five runs at each step, as beat would over five minutes). The
naive way, in the same run: a worker that receives messages of `bench.naive_follow_up` queued
with a 48-hour countdown. Each worker is one Celery node with one pool process; its memory is
the resident set (VmRSS) of the main process plus its pool children, measured warm with no
follow-ups, with 1,000 ("before") and with 100,000 ("after").
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, ratio
from .infra import tree_rss_bytes, wait_for
from .workers import queue_state, run_sweeps, start_workers, stop_workers, wait_drained

FOLLOW_UPS = int(os.environ.get("HEART_BENCH_MEMORY_FOLLOW_UPS", "100000"))
# "Before": the warm worker already handling this many (a sweep batch is 500, so its memory
# for one full batch is in "before"); "after": FOLLOW_UPS. The growth between them is what
# depends on the number of scheduled follow-ups.
FEW = 1_000
COUNTDOWN = timedelta(hours=48)
SWEEPS = 5
# "Does not grow": less than this between before and after (about 100 bytes per follow-up).
GROWTH_LIMIT_MIB = 10.0
MIB = 1024 * 1024


def _rss(process_pid: int) -> dict[str, float]:
    main, total = tree_rss_bytes(process_pid)
    return {"main_mib": round(main / MIB, 1), "total_mib": round(total / MIB, 1)}


def _schedule_rows(bench: Bench, lo: int, hi: int) -> None:
    """Follow-ups lo..hi-1 as the project schedules them: rows due 48 hours from now."""
    from django.utils import timezone

    from navigation import hours

    deadline = timezone.now() + COUNTDOWN
    pairs = bench.pair_ids
    bench.seed.describe(
        """
        SELECT g, true, %(first)s + g %% %(pairs)s,
               %(deadline)s::timestamptz - interval '48 hours', %(deadline)s::timestamptz,
               %(work_by)s::timestamptz
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) g
        """,
        {
            "first": pairs[0],
            "pairs": len(pairs),
            "lo": lo,
            "hi": hi,
            "deadline": deadline,
            "work_by": hours.work_by(deadline, hours.active_hours()),
        },
    )
    bench.seed.materialize()
    bench.seed.analyze()


def project_way(bench: Bench) -> dict[str, Any]:
    bench.seed.truncate_domain()
    bench.redis_client().flushall()
    [worker] = start_workers(bench, count=1, prefix="memory-project")
    try:
        run_sweeps(bench, 1)
        time.sleep(1)
        warm = _rss(worker.pid)
        _schedule_rows(bench, 1, FEW + 1)
        run_sweeps(bench, SWEEPS)
        time.sleep(1)
        before = _rss(worker.pid)
        started = time.monotonic()
        _schedule_rows(bench, FEW + 1, FOLLOW_UPS + 1)
        seeded = time.monotonic() - started
        sweep_seconds = run_sweeps(bench, SWEEPS)
        time.sleep(1)
        after = _rss(worker.pid)
    finally:
        stop_workers([worker])
    return {
        "follow_ups_before": FEW,
        "follow_ups_after": FOLLOW_UPS,
        "seed_seconds": round(seeded, 1),
        "sweeps_at_each_step": SWEEPS,
        "sweep_seconds_after": round(sweep_seconds, 1),
        "warm_no_follow_ups": warm,
        "before": before,
        "after": after,
        "growth_mib": round(after["total_mib"] - before["total_mib"], 1),
        "growth_from_warm_mib": round(after["total_mib"] - warm["total_mib"], 1),
    }


def _publish(lo: int, hi: int) -> float:
    from heart_cases import celery_app

    from .naive import naive_follow_up

    started = time.monotonic()
    countdown = COUNTDOWN.total_seconds()
    with celery_app.producer_or_acquire() as producer:
        for task_id in range(lo, hi):
            naive_follow_up.apply_async(args=[task_id], countdown=countdown, producer=producer)
    return time.monotonic() - started


def _wait_held(bench: Bench, count: int) -> bool:
    """The worker takes every countdown message off the queue and holds it until its time."""

    def all_held() -> bool:
        waiting, held = queue_state(bench)
        return waiting == 0 and held >= count

    return wait_for(all_held, 240, step=0.5)


def naive_way(bench: Bench) -> dict[str, Any]:
    from .naive import naive_follow_up

    bench.redis_client().flushall()
    [worker] = start_workers(bench, count=1, prefix="memory-naive", include="bench.naive")
    try:
        naive_follow_up.apply_async(args=[0])
        if not wait_drained(bench, 30):
            raise RuntimeError("The naive worker did not run its warm-up task.")
        time.sleep(1)
        warm = _rss(worker.pid)
        _publish(1, FEW + 1)
        _wait_held(bench, FEW)
        time.sleep(1)
        before = _rss(worker.pid)
        started = time.monotonic()
        published = _publish(FEW + 1, FOLLOW_UPS + 1)
        held_all = _wait_held(bench, FOLLOW_UPS)
        received = time.monotonic() - started
        time.sleep(2)
        after = _rss(worker.pid)
        waiting, held = queue_state(bench)
    finally:
        # Cold: a warm shutdown would hand 100,000 messages back one by one.
        stop_workers([worker], cold=True)
        bench.redis_client().flushall()
    return {
        "messages_before": FEW,
        "messages_after": FOLLOW_UPS,
        "countdown_hours": COUNTDOWN.total_seconds() / 3600,
        "publish_seconds": round(published, 1),
        "all_held_by_worker": held_all,
        "seconds_until_held": round(received, 1),
        "left_in_queue": waiting,
        "held_unacknowledged": held,
        "warm_no_messages": warm,
        "before": before,
        "after": after,
        "growth_mib": round(after["total_mib"] - before["total_mib"], 1),
        "growth_from_warm_mib": round(after["total_mib"] - warm["total_mib"], 1),
    }


def run(bench: Bench) -> Outcome:
    outcome = Outcome(name="memory")
    project = project_way(bench)
    bench.log(
        f"memory: project's way {project['before']['total_mib']} -> "
        f"{project['after']['total_mib']} MiB ({project['growth_mib']:+} MiB)"
    )
    naive = naive_way(bench)
    bench.log(
        f"memory: naive countdowns {naive['before']['total_mib']} -> "
        f"{naive['after']['total_mib']} MiB ({naive['growth_mib']:+} MiB; "
        f"published in {naive['publish_seconds']} s, held after {naive['seconds_until_held']} s)"
    )
    outcome.details = {"project": project, "naive": naive, "growth_limit_mib": GROWTH_LIMIT_MIB}
    outcome.figures = [
        Figure(
            key="memory.growth",
            name=f"Worker memory growth, {FEW:,} -> {FOLLOW_UPS:,} follow-ups scheduled",
            value=project["growth_mib"],
            unit="MiB",
            baseline=naive["growth_mib"],
            baseline_name="naive 48 h countdowns",
            ratio_is="value / baseline",
            ratio=ratio(project["growth_mib"], naive["growth_mib"]),
            goal=f"does not grow (< {GROWTH_LIMIT_MIB:.0f} MiB)",
            met=project["growth_mib"] < GROWTH_LIMIT_MIB,
            missed_by=f"grew {project['growth_mib']} MiB (limit {GROWTH_LIMIT_MIB:.0f} MiB)",
        ),
        Figure(
            key="memory.after",
            name=f"Worker memory with {FOLLOW_UPS:,} follow-ups scheduled",
            value=project["after"]["total_mib"],
            unit="MiB",
            baseline=naive["after"]["total_mib"],
            baseline_name="naive 48 h countdowns",
            ratio_is="value / baseline",
            ratio=ratio(project["after"]["total_mib"], naive["after"]["total_mib"]),
            goal="(none)",
            met=None,
        ),
    ]
    return outcome
