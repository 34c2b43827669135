"""Benchmark: the HSDS 3.0 directory API (`GET /hsds/services`) at 100 times the pilot's
directory.

The pilot directory is the demo city's (`seed_demo`'s DIRECTORY: 8 organizations, 16 services, 8
locations); 100 times it is 800 organizations, 1,600 services and 800 locations, each location
with a structured address and a phone, each organization and service with a phone, each service
with a schedule, one or two languages and its service-at-location link. Seeded with
`bulk_create` (no history rows: the API reads none).

Measured in this process with Django's test client and an analyst's token: `GET /hsds/services`
in its list shape and fully nested (`full=true`), each at two page sizes (10 and 200, the
largest allowed), the page number moving through the directory from one request to the next;
p50/p95 over a fixed number of requests after a warm-up, and the query count, which must be the
same at both page sizes (everything nested is prefetched). The baseline of each is the same
request at the small page size.

    .venv/bin/python -m bench.run hsds     # with the others' machinery (results + BENCHMARKS.md)
    .venv/bin/python -m bench.hsds         # standalone: its own database, created and dropped
                                           # (HEART_BENCH_DATABASE_URL, default
                                           # .../heart_hsds_bench); writes var/bench-hsds.json
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, over, ratio

SCALE = int(os.environ.get("HEART_BENCH_HSDS_SCALE", "100"))
RUNS = int(os.environ.get("HEART_BENCH_HSDS_RUNS", "60"))
WARMUP = 5
PAGE_SIZES = (10, 200)
GOAL_MS = 100.0
STANDALONE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/heart_hsds_bench"


def seed(scale: int) -> dict[str, int]:
    """`scale` copies of the demo directory, with every structured row the API serves."""
    from datetime import time as dt_time

    from demo.city import DIRECTORY
    from referrals.models import (
        Address,
        Location,
        Phone,
        Provider,
        Schedule,
        Service,
        ServiceLanguage,
        ServiceLocation,
    )

    providers = [
        Provider(
            slug=f"{entry['slug']}-{copy}",
            name=f"{entry['name']} {copy}",
            description=entry["description"],
            phone=entry["phone"],
            email=entry.get("email", ""),
        )
        for copy in range(scale)
        for entry in DIRECTORY
    ]
    Provider.objects.bulk_create(providers, batch_size=1000)
    entries = [entry for _copy in range(scale) for entry in DIRECTORY]
    services, languages, locations, addresses, phones, schedules = [], [], [], [], [], []
    for provider, entry in zip(providers, entries, strict=True):
        phones.append(Phone(provider=provider, number=entry["phone"], type="voice"))
        for name, category, codes, hours, accepting in entry["services"]:
            service = Service(
                provider=provider,
                name=name,
                category=category,
                hours=hours,
                phone=entry["phone"],
                accepting_referrals=accepting,
                description=f"{name} at {provider.name}",
            )
            services.append(service)
            languages += [ServiceLanguage(service=service, code=code) for code in codes]
            phones.append(Phone(service=service, number=entry["phone"], extension=10))
            schedules.append(
                Schedule(
                    service=service,
                    freq="WEEKLY",
                    byday="MO,TU,WE,TH,FR",
                    opens_at=dt_time(9),
                    closes_at=dt_time(17),
                    description=hours,
                )
            )
        for name, address, latitude, longitude in entry["locations"]:
            location = Location(
                provider=provider,
                name=name,
                address=address,
                latitude=latitude,
                longitude=longitude,
            )
            locations.append(location)
            street, city, state_zip = (part.strip() for part in address.split(",", 2))
            state, postal_code = state_zip.split()
            addresses.append(
                Address(
                    location=location,
                    address_1=street,
                    city=city,
                    state_province=state,
                    postal_code=postal_code,
                    country="US",
                )
            )
            phones.append(Phone(location=location, number=entry["phone"]))
    Service.objects.bulk_create(services, batch_size=1000)
    Location.objects.bulk_create(locations, batch_size=1000)
    for model, rows in (
        (ServiceLanguage, languages),
        (Address, addresses),
        (Phone, phones),
        (Schedule, schedules),
    ):
        # Built before their parents were saved: bulk_create takes the parents' ids now.
        model.objects.bulk_create(rows, batch_size=1000)
    first_location = {loc.provider_id: loc for loc in reversed(locations)}
    links = [
        ServiceLocation(service=service, location=first_location[service.provider_id])
        for service in services
    ]
    ServiceLocation.objects.bulk_create(links, batch_size=1000)
    return {
        "organizations": len(providers),
        "services": len(services),
        "locations": len(locations),
        "addresses": len(addresses),
        "phones": len(phones),
        "schedules": len(schedules),
        "languages": len(languages),
    }


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(int(0.95 * len(ordered)) - 1, 0)], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _measure(client: Any, path: str, per_page: int, total: int, **headers: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pages = max(1, -(-total // per_page))
    latencies: list[float] = []
    query_counts: list[int] = []
    statuses: set[int] = set()
    sizes: set[int] = set()
    for run in range(WARMUP + RUNS):
        page = 1 + (run * 7) % pages
        url = f"{path}{'&' if '?' in path else '?'}per_page={per_page}&page={page}"
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, **headers)
            elapsed = (time.perf_counter() - started) * 1000
        statuses.add(response.status_code)
        if run >= WARMUP:
            latencies.append(elapsed)
            query_counts.append(len(queries.captured_queries))
            sizes.add(response.json()["size"])
    return {
        "path": path,
        "per_page": per_page,
        "runs": RUNS,
        "warmup": WARMUP,
        "statuses": sorted(statuses),
        "page_sizes_seen": sorted(sizes),
        **_percentiles(latencies),
        "queries": max(query_counts),
        "queries_min": min(query_counts),
    }


def run(bench: Bench) -> Outcome:
    from django.db import connection
    from django.test import Client

    # As gunicorn serves it: heart_cases.wsgi's start-up (it freezes what is loaded by then
    # out of the garbage collector's view).
    import heart_cases.wsgi  # noqa: F401
    from heart_cases.staff import staff_create_or_update

    outcome = Outcome(name="hsds")
    bench.seed.truncate_domain()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE referrals_provider, referrals_historicalprovider RESTART IDENTITY CASCADE"
        )
    started = time.monotonic()
    counts = seed(SCALE)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    bench.log(f"hsds: {counts} seeded ({time.monotonic() - started:.0f} s)")
    analyst = staff_create_or_update(username="bench-hsds", role="analyst", languages=["en"])
    token = {"HTTP_AUTHORIZATION": f"Token {analyst.token}"}
    client = Client()
    measured: dict[str, dict[int, dict[str, Any]]] = {}
    for label, path in (("list", "/hsds/services"), ("full", "/hsds/services?full=true")):
        measured[label] = {}
        for per_page in PAGE_SIZES:
            result = _measure(client, path, per_page, counts["services"], **token)
            measured[label][per_page] = result
            bench.log(
                f"hsds {label} per_page={per_page}: p50 {result['p50_ms']} ms, p95 "
                f"{result['p95_ms']} ms, {result['queries']} queries, statuses "
                f"{result['statuses']}"
            )
    outcome.details = {"directory": counts, "measured": measured}
    small, large = PAGE_SIZES
    for label, shape in (("list", "list shape"), ("full", "fully nested")):
        for per_page in PAGE_SIZES:
            result = measured[label][per_page]
            baseline = measured[label][small]["p95_ms"]
            outcome.figures.append(
                Figure(
                    key=f"hsds.services.{label}.{per_page}.p95",
                    name=f"GET /hsds/services, {shape}, {per_page} a page, p95",
                    value=result["p95_ms"],
                    unit="ms",
                    baseline=baseline if per_page != small else None,
                    baseline_name=f"the same at {small} a page",
                    ratio_is="value / baseline",
                    ratio=ratio(result["p95_ms"], baseline) if per_page != small else None,
                    goal=f"< {GOAL_MS:g} ms",
                    met=result["p95_ms"] < GOAL_MS,
                    missed_by=over(result["p95_ms"], GOAL_MS, "p95", " ms"),
                )
            )
        few, many = measured[label][small], measured[label][large]
        outcome.figures.append(
            Figure(
                key=f"hsds.services.{label}.queries",
                name=f"GET /hsds/services, {shape}, queries at {large} a page",
                value=many["queries"],
                unit="queries",
                baseline=few["queries"],
                baseline_name=f"the same at {small} a page",
                ratio_is="value / baseline",
                ratio=ratio(many["queries"], few["queries"]),
                goal="identical",
                met=many["queries"] == few["queries"] and many["queries_min"] == few["queries_min"],
                missed_by=f"{many['queries']} queries against {few['queries']}",
            )
        )
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone, on a database of its own that it creates and drops."""
    from .context import run_alone

    return run_alone(
        "hsds", run, database_url=STANDALONE_DATABASE_URL, description=__doc__, argv=argv
    )


if __name__ == "__main__":
    sys.exit(main())
