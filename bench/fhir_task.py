"""Benchmark: a provider's system polling `GET /fhir/Task?owner=…&status=requested` at 100 times
the pilot's referrals (issue 17, "Speed").

The pilot makes about 1,000 referrals a year (8,000 field responses, about 70% of the neighbors
who consent reached, 1 in 5 of those referred; the metrics benchmark's shape), to the demo
directory's 8 organizations. 100 times that is 100,000 referrals, each with its case (neighbor,
field response, follow-up: bench.seed), its consent and its history rows (one for the referral,
one more for each answer: the Task's `meta.versionId` is read from them), spread evenly over the
8 organizations and over the statuses as in the metrics benchmark (45% completed … 6% still
requested), so the measured organization holds 12,500 referrals and about 750 requested ones:
far more waiting than a real one would let wait, which is the point.

Measured in this process with Django's test client and a provider-staff token of the first
organization: the search at two page sizes (`_count` 10 and 50, the default), walking the
pages by the `next` link and starting over at the end; p50/p95 over a fixed number of requests
after a warm-up, and the query count, which must be the same at both sizes. The baseline of
each is the same search at the small page size.

    .venv/bin/python -m bench.run fhir_task     # with the others' machinery (results and
                                                # BENCHMARKS.md)
    .venv/bin/python -m bench.fhir_task         # standalone: its own database, created and
                                                # dropped (HEART_BENCH_DATABASE_URL, default
                                                # .../heart_fhir_bench); writes
                                                # var/bench-fhir-task.json
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, over, ratio

PILOT_REFERRALS = 1_000
SCALE = int(os.environ.get("HEART_BENCH_FHIR_SCALE", "100"))
RUNS = int(os.environ.get("HEART_BENCH_FHIR_RUNS", "100"))
WARMUP = 5
PAGE_SIZES = (10, 50)
GOAL_MS = 100.0
STANDALONE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/heart_fhir_bench"
CATEGORIES = ("mental_health", "housing", "substance_use", "food", "medical", "benefits")

_REFERRAL_SEED = [
    """
    INSERT INTO referrals_consent (id, method, obtained_at, withdrawn_at, withdrawal_note,
        created_at, case_id, neighbor_id, obtained_by_id, provider_id, withdrawn_by_id,
        expires_at, purpose, scope)
    SELECT c.id, CASE WHEN s.category = 'substance_use' THEN 'written' ELSE 'verbal' END,
        c.opened_at + interval '1 hour', NULL, '', c.opened_at, c.id, c.neighbor_id,
        %(navigator)s, s.provider_id, NULL, now() + interval '200 days',
        'care coordination',
        CASE WHEN s.category = 'substance_use'
             THEN '["contact", "reason", "substance_use"]'::jsonb
             ELSE '["contact", "reason"]'::jsonb END
    FROM heart_cases_case c
    JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS i, id, provider_id, category
          FROM referrals_service) s ON s.i = c.id %% %(services)s
    """,
    """
    INSERT INTO referrals_referral (id, reason, status, business_status, status_reason,
        status_note, requested_at, acknowledged_at, status_changed_at, handoff_at, ended_at,
        chase_at, expire_at, chased_at, created_at, updated_at, case_id, consent_id,
        provider_id, requested_by_id, service_id, status_changed_by_id)
    SELECT k.id, 'Seeded referral: counseling after a crisis call', x.status,
        CASE WHEN x.status = 'requested' THEN 'sent' ELSE 'viewed' END,
        CASE WHEN x.status = 'rejected' THEN 'no-capacity'
             WHEN x.status = 'cancelled' THEN 'neighbor-declined' ELSE '' END,
        '', k.obtained_at, CASE WHEN x.status <> 'requested' THEN k.obtained_at
                                + interval '3 hours' END,
        k.obtained_at + interval '1 day',
        CASE WHEN x.status = 'completed' THEN k.obtained_at + interval '2 days' END,
        CASE WHEN x.status IN ('completed', 'rejected', 'failed', 'cancelled')
             THEN k.obtained_at + interval '2 days' END,
        k.obtained_at + interval '2 days', k.obtained_at + interval '5 days', NULL,
        k.obtained_at, k.obtained_at, k.case_id, k.id, k.provider_id, %(navigator)s,
        s.id, %(navigator)s
    FROM referrals_consent k
    JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS i, id FROM referrals_service) s
      ON s.i = k.id %% %(services)s
    CROSS JOIN LATERAL (SELECT CASE WHEN r < 45 THEN 'completed'
                                    WHEN r < 55 THEN 'in-progress'
                                    WHEN r < 60 THEN 'on-hold'
                                    WHEN r < 68 THEN 'accepted'
                                    WHEN r < 80 THEN 'rejected'
                                    WHEN r < 86 THEN 'failed'
                                    WHEN r < 94 THEN 'cancelled'
                                    ELSE 'requested' END AS status
                        FROM (SELECT ((k.id / %(services)s) * 43) %% 100 AS r) rr) x
    """,
]


def seed(bench: Bench, referrals: int) -> dict[str, Any]:
    """The directory, `referrals` cases with a referral each, and the referrals' history."""
    from django.db import connection
    from django.utils import timezone

    from demo.city import DIRECTORY
    from heart_cases.actors import stamp, system_actor
    from referrals.models import Provider, Referral, Service

    seeder = bench.seed
    seeder.truncate_domain()
    seeder.execute(
        "TRUNCATE referrals_referral, referrals_historicalreferral, referrals_consent, "
        "referrals_historicalconsent RESTART IDENTITY CASCADE"
    )
    actor = system_actor("bench.fhir_task")
    providers = []
    for entry in DIRECTORY:
        provider = Provider.objects.filter(slug=entry["slug"]).first()
        if provider is None:
            provider = stamp(
                Provider(slug=entry["slug"], name=entry["name"]), actor=actor, reason="Bench"
            )
            provider.save()
        providers.append(provider)
    Service.objects.filter(provider__in=providers).delete()
    for k, provider in enumerate(providers):
        stamp(
            Service(
                provider=provider,
                name=f"{provider.name} intake",
                category=CATEGORIES[k % len(CATEGORIES)],
            ),
            actor=actor,
            reason="Bench",
        ).save()
    now = timezone.now()
    first_pair, pairs = bench.pair_ids[0], len(bench.pair_ids)
    started = time.monotonic()
    # Closed history, over the year before now: one case per referral.
    seeder.describe(
        """
        SELECT g, false, %(first)s + g %% %(pairs)s, o.opened, o.opened + interval '48 hours',
               o.opened + interval '45 hours'
        FROM generate_series(1, %(n)s) g
        CROSS JOIN LATERAL (
            SELECT %(now)s::timestamptz - interval '3 days'
                   - ((g * 7919) %% 31536000) * interval '1 second' AS opened) o
        """,
        {"n": referrals, "first": first_pair, "pairs": pairs, "now": now},
    )
    seeder.materialize()
    bench.log(f"fhir_task: {referrals} cases seeded ({time.monotonic() - started:.0f} s)")
    started = time.monotonic()
    params = {"navigator": bench.navigator_id, "services": len(providers)}
    for statement in _REFERRAL_SEED:
        seeder.execute(statement, params)
    columns = ", ".join(field.column for field in Referral._meta.concrete_fields)
    seeder.execute(
        f"INSERT INTO referrals_historicalreferral ({columns}, history_date, "  # noqa: S608
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, requested_at, 'Referred', '+', requested_by_id "
        "FROM referrals_referral ORDER BY id"
    )
    seeder.execute(
        f"INSERT INTO referrals_historicalreferral ({columns}, history_date, "  # noqa: S608
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, status_changed_at, 'Answered', '~', status_changed_by_id "
        "FROM referrals_referral WHERE status <> 'requested' ORDER BY id"
    )
    for table in ("referrals_consent", "referrals_referral", "referrals_historicalreferral"):
        seeder.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', "  # noqa: S608
            f"'{'history_id' if 'historical' in table else 'id'}'), coalesce((SELECT max("
            f"{'history_id' if 'historical' in table else 'id'}) FROM {table}), 0) + 1, false)"
        )
    seeder.analyze()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) referrals_referral")
        cursor.execute("VACUUM (ANALYZE) referrals_historicalreferral")
        cursor.execute("VACUUM (ANALYZE) referrals_consent")
    bench.log(f"fhir_task: referrals and history seeded ({time.monotonic() - started:.0f} s)")
    measured = providers[0]
    return {
        "referrals": Referral.objects.count(),
        "history_rows": Referral.history.count(),
        "organizations": len(providers),
        "measured_organization": measured.slug,
        "its_referrals": Referral.objects.filter(provider=measured).count(),
        "its_requested": Referral.objects.filter(provider=measured, status="requested").count(),
    }


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(int(0.95 * len(ordered)) - 1, 0)], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _measure(client: Any, slug: str, count: int, **headers: Any) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = f"/fhir/Task?owner={slug}&status=requested&_count={count}"
    url = first
    latencies: list[float] = []
    query_counts: list[int] = []
    statuses: set[int] = set()
    sizes: set[int] = set()
    for run in range(WARMUP + RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, **headers)
            elapsed = (time.perf_counter() - started) * 1000
        statuses.add(response.status_code)
        body = response.json()
        links = {link["relation"]: link["url"] for link in body.get("link", [])}
        url = links["next"].removeprefix("http://testserver") if "next" in links else first
        if run >= WARMUP:
            latencies.append(elapsed)
            query_counts.append(len(queries.captured_queries))
            sizes.add(len(body.get("entry", [])))
    return {
        "path": first,
        "count": count,
        "runs": RUNS,
        "warmup": WARMUP,
        "statuses": sorted(statuses),
        "entries_seen": sorted(sizes),
        **_percentiles(latencies),
        "queries": max(query_counts),
        "queries_min": min(query_counts),
    }


def run(bench: Bench) -> Outcome:
    from django.test import Client

    from heart_cases.staff import staff_create_or_update

    outcome = Outcome(name="fhir_task")
    counts = seed(bench, PILOT_REFERRALS * SCALE)
    bench.log(f"fhir_task: {counts}")
    slug = counts["measured_organization"]
    staff = staff_create_or_update(
        username="bench-fhir-provider", role="provider", languages=["en"], provider_slug=slug
    )
    token = {"HTTP_AUTHORIZATION": f"Token {staff.token}"}
    client = Client()
    measured: dict[int, dict[str, Any]] = {}
    for count in PAGE_SIZES:
        result = _measure(client, slug, count, **token)
        measured[count] = result
        bench.log(
            f"fhir_task _count={count}: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
            f"{result['queries']} queries, statuses {result['statuses']}"
        )
    outcome.details = {"seeded": counts, "measured": measured}
    small, large = PAGE_SIZES
    for count in PAGE_SIZES:
        result = measured[count]
        baseline = measured[small]["p95_ms"]
        outcome.figures.append(
            Figure(
                key=f"fhir.task.search.{count}.p95",
                name=f"GET /fhir/Task?owner=…&status=requested, {count} a page, p95",
                value=result["p95_ms"],
                unit="ms",
                baseline=baseline if count != small else None,
                baseline_name=f"the same at {small} a page",
                ratio_is="value / baseline",
                ratio=ratio(result["p95_ms"], baseline) if count != small else None,
                goal=f"< {GOAL_MS:g} ms",
                met=result["p95_ms"] < GOAL_MS,
                missed_by=over(result["p95_ms"], GOAL_MS, "p95", " ms"),
            )
        )
    few, many = measured[small], measured[large]
    outcome.figures.append(
        Figure(
            key="fhir.task.search.queries",
            name=f"GET /fhir/Task?owner=…&status=requested, queries at {large} a page",
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
        "fhir_task", run, database_url=STANDALONE_DATABASE_URL, description=__doc__, argv=argv
    )


if __name__ == "__main__":
    sys.exit(main())
