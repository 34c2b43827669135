"""A closed-loop HTTP load generator: N clients, each sending its next request as soon as the
previous answer arrived, for a fixed time. Threads with http.client; a connection is kept
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
