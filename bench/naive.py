"""The obvious design DESIGN.md rejects, for the memory benchmark only: a Celery task queued
with a 48-hour countdown per follow-up. Loaded by the naive worker with `-I bench.naive`;
never part of the application."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="bench.naive_follow_up", ignore_result=True)
def naive_follow_up(task_id: int) -> None:
    """Would remind the pair about follow-up `task_id` when its countdown ends. Never reached
    in the benchmark: what is measured is the worker holding the countdowns."""
    return None
