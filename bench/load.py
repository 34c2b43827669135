"""HTTP load generators, threads with http.client. Closed loop (`run_load`): N clients, each
sending its next request as soon as the previous answer arrived, for a fixed time: a measure of
throughput. Open loop (`run_open_loop`): requests start on a schedule at a constant rate, whether
or not earlier ones were answered: a measure of latency at a given load. A connection is kept
while the server keeps it (gunicorn's sync workers close after each response, so clients
reconnect, as real ones would)."""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class LoadResult:
    seconds: float
    requests: int
    errors: int
    statuses: dict[str, int]
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "errors": self.errors,
            "statuses": self.statuses,
            "requests_per_s": round(self.per_second, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "max_ms": round(max(self.latencies_ms, default=0.0), 1),
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def run_load(
    *,
    port: int,
    path: str,
    token: str,
    body_for: Callable[[int], dict[str, Any]],
    clients: int,
    seconds: float,
    warmup: float,
    expect: int = 201,
    numbers: Iterator[int] | None = None,
) -> LoadResult:
    """POST `body_for(i)` (i unique across clients, and across calls that share `numbers`) for
    `warmup + seconds`; only answers that arrive within the last `seconds` count."""
    numbers = numbers if numbers is not None else itertools.count()
    started = time.monotonic()
    window_start = started + warmup
    window_end = window_start + seconds
    results: list[list[tuple[float, float, int]]] = [[] for _ in range(clients)]
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Token {token}",
        "Connection": "keep-alive",
    }

    def client(slot: int) -> None:
        connection: http.client.HTTPConnection | None = None
        mine = results[slot]
        while time.monotonic() < window_end:
            payload = json.dumps(body_for(next(numbers))).encode()
            sent = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                status = 0
                if connection is not None:
                    connection.close()
                connection = None
            done = time.monotonic()
            mine.append((done, (done - sent) * 1000, status))
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=warmup + seconds + 60)
    counted = [
        (latency, status)
        for rows in results
        for done, latency, status in rows
        if window_start <= done < window_end
    ]
    statuses = Counter(str(status) for _, status in counted)
    return LoadResult(
        seconds=seconds,
        requests=sum(1 for _, status in counted if status == expect),
        errors=sum(1 for _, status in counted if status != expect),
        statuses=dict(statuses),
        latencies_ms=[latency for latency, status in counted if status == expect],
    )


def merged(results: Sequence[LoadResult]) -> LoadResult:
    """Slices of one endpoint's load, taken in turns with another's, as one result."""
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result.statuses)
    return LoadResult(
        seconds=sum(r.seconds for r in results),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        statuses=dict(statuses),
        latencies_ms=[latency for r in results for latency in r.latencies_ms],
    )


@dataclass
class OpenLoopResult(LoadResult):
    rate: float = 0.0  # requests started per second, as scheduled
    # How late the load generator itself started requests after their scheduled time, and the
    # share of the machine's cores it used: if either is large, the figure measures it.
    start_lag_p99_ms: float = 0.0
    generator_cores: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            **super().summary(),
            "rate_per_s": round(self.rate, 1),
            "start_lag_p99_ms": round(self.start_lag_p99_ms, 1),
            "generator_cores": round(self.generator_cores, 3),
        }


def run_open_loop(
    *,
    port: int,
    path: str,
    token: str,
    body_for: Callable[[int], dict[str, Any]],
    rate: float,
    seconds: float,
    warmup: float,
    expect: int = 201,
    numbers: Iterator[int] | None = None,
    threads: int = 64,
) -> OpenLoopResult:
    """Open loop: request k starts at `start + k / rate` whether or not earlier ones have been
    answered (a pool of threads, each taking the next slot in the schedule). Latency is counted
    from the scheduled start, so time a request waited for a free thread or a free worker is in
    it (no coordinated omission). Only requests scheduled within the last `seconds` count."""
    numbers = numbers if numbers is not None else itertools.count()
    slots = itertools.count()
    lock = threading.Lock()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Token {token}",
        "Connection": "keep-alive",
    }
    started = time.monotonic() + 0.05
    window_start = started + warmup
    window_end = window_start + seconds
    rows: list[tuple[float, float, float, int]] = []  # scheduled, lag, latency, status

    def client() -> None:
        connection: http.client.HTTPConnection | None = None
        while True:
            with lock:
                slot = next(slots)
                number = next(numbers)
            scheduled = started + slot / rate
            if scheduled >= window_end:
                break
            payload = json.dumps(body_for(number)).encode()
            wait = scheduled - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sent = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                status = 0
                if connection is not None:
                    connection.close()
                connection = None
            done = time.monotonic()
            with lock:
                rows.append(
                    (scheduled, (sent - scheduled) * 1000, (done - scheduled) * 1000, status)
                )
        if connection is not None:
            connection.close()

    cpu_before = time.process_time()
    wall_before = time.monotonic()
    pool = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=warmup + seconds + 60)
    generator_cores = (time.process_time() - cpu_before) / max(time.monotonic() - wall_before, 1e-9)
    counted = [row for row in rows if window_start <= row[0] < window_end]
    statuses = Counter(str(status) for *_, status in counted)
    return OpenLoopResult(
        seconds=seconds,
        requests=sum(1 for *_, status in counted if status == expect),
        errors=sum(1 for *_, status in counted if status != expect),
        statuses=dict(statuses),
        latencies_ms=[latency for _, _, latency, status in counted if status == expect],
        rate=rate,
        start_lag_p99_ms=percentile([lag for _, lag, _, _ in counted], 99),
        generator_cores=generator_cores,
    )
