"""Celery workers for the benchmarks: start N real worker processes against the private Redis,
know when they answer, and know when the queue has drained."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any

from .context import Bench
from .infra import start_worker, stop_process, wait_for

QUEUE = "celery"


def start_workers(
    bench: Bench,
    *,
    count: int,
    prefix: str,
    concurrency: int = 1,
    include: str | None = None,
    **env: str,
) -> list[subprocess.Popen[bytes]]:
    from heart_cases import celery_app

    process_env = {**bench.env, **env}
    names = [f"{prefix}-{k}" for k in range(1, count + 1)]
    processes = [
        start_worker(process_env, name=name, concurrency=concurrency, include=include)
        for name in names
    ]
    host = socket.gethostname()
    wanted = {f"{name}@{host}" for name in names}

    def all_answer() -> bool:
        replies = celery_app.control.ping(timeout=0.5)
        answered = {node for reply in replies for node in reply}
        return wanted <= answered

    if not wait_for(all_answer, 60, step=0.5):
        stop_workers(processes)
        raise RuntimeError(f"Celery workers {sorted(wanted)} did not answer within 60 s.")
    return processes


def stop_workers(processes: list[subprocess.Popen[bytes]], *, cold: bool = False) -> None:
    for process in processes:
        stop_process(process, cold=cold)


def queue_state(bench: Bench) -> tuple[int, int]:
    """(messages waiting in the queue, messages delivered and not yet acknowledged)."""
    client = bench.redis_client()
    return int(client.llen(QUEUE)), int(client.hlen("unacked"))


def wait_drained(bench: Bench, seconds: float) -> bool:
    """True once nothing waits and nothing is in flight (twice in a row, 0.2 s apart)."""
    streak = 0

    def drained() -> bool:
        nonlocal streak
        streak = streak + 1 if queue_state(bench) == (0, 0) else 0
        return streak >= 2

    return wait_for(drained, seconds, step=0.2)


def enqueue_sweep() -> Any:
    from navigation.tasks import sweep_follow_ups

    return sweep_follow_ups.apply_async()


def run_sweeps(bench: Bench, times: int, *, seconds: float = 60) -> float:
    """Queue the follow-up sweep `times` times, one after another finishes, as beat would each
    minute; returns the seconds it took."""
    started = time.monotonic()
    for _ in range(times):
        enqueue_sweep()
        if not wait_drained(bench, seconds):
            raise RuntimeError("A follow-up sweep did not finish in time.")
    return time.monotonic() - started
