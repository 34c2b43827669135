"""Benchmark: the metrics endpoint and the dashboard over a year at 100 times the pilot.

A year of 800,000 field responses (the pilot's 8,000 times 100) and what follows from them,
seeded in set-based SQL (INSERT … SELECT FROM generate_series) into the benchmark database:
~568,000 neighbors (60% of the responses from neighbors seen once, 30% from 80,000 seen one to
a dozen times, 10% from 8,000 seen about ten times; 1 in 200 of the once-seen records linked to
a frequent one), one case per field response, a 48-hour follow-up for
the 90% who consented, 1 to 3 contact attempts on most of them, and a referral (with its
consent) for about 1 in 5 follow-ups that reached the neighbor, across the referral statuses.

The metrics facts (metrics/models.py) are built once after the load, as `manage.py
metrics_rebuild` would (the bulk load bypasses the triggers). Then, in this process with Django's
test client, an analyst's token for the API and a supervisor's session for the page:
`GET /api/v1/metrics/` for the full year and for its last month, `GET /metrics/` for the full
year, and the API for the year again with 10 new field responses recorded through intake
before each read (the refresh folds them in); p50/p95 over a fixed number of requests after a
warm-up, and the query count. The baseline of the year's figures is a plain `SELECT count(*)`
of the year's field responses: the floor any live count of the year stands on.

    .venv/bin/python -m bench.metrics            # standalone: its own database, created and
                                                 # dropped (HEART_BENCH_DATABASE_URL, default
                                                 # .../heart_metrics_bench)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any

from .context import Bench
from .figures import Figure, Outcome, over, ratio

RESPONSES = int(os.environ.get("HEART_BENCH_METRICS_RESPONSES", "800000"))
RUNS = int(os.environ.get("HEART_BENCH_METRICS_RUNS", "25"))
WARMUP = 3
# New field responses recorded before each read of the "with changes" measurement.
CHANGES = 10
FREQUENT = 8_000  # neighbors seen about ten times in the year
REPEAT = 80_000  # neighbors seen one to a dozen times
ENDPOINT_GOAL_MS = 1000.0
PAGE_GOAL_MS = 2000.0
STANDALONE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/heart_metrics_bench"

PROVIDERS = [
    ("bench-casa", "Casa Bench Community Health", ("mental_health", "medical")),
    ("bench-housing", "Bench Housing Collaborative", ("housing", "housing")),
    ("bench-recovery", "Bench Recovery Center", ("substance_use", "substance_use")),
    ("bench-food", "Bench Food Share", ("food", "food")),
    ("bench-clinic", "Bench Community Clinic", ("medical", "mental_health")),
    ("bench-benefits", "Bench Benefits Legal Aid", ("benefits", "legal")),
    ("bench-crisis", "Bench Crisis Center", ("mental_health", "mental_health")),
    ("bench-familias", "Bench Familias Unidas", ("family", "benefits")),
]

# Neighbor ids: the frequent ones first, then the repeat ones, then those seen only once.
_STATEMENTS = [
    # Neighbors, with the demographics the dashboard breaks down.
    """
    INSERT INTO heart_cases_neighbor (id, first_name, last_name, alias, first_name_key,
        last_name_key, alias_key, date_of_birth, phone, language, unsheltered, gender, race,
        ethnicity, created_at, updated_at, linked_to_id)
    SELECT n, 'Seed', 'Neighbor' || n, '', 'seed', 'neighbor' || n, '',
        CASE WHEN n %% 20 = 0 THEN NULL ELSE date '1940-01-01' + ((n * 7907) %% 24800)::int END,
        '+1919' || lpad((2000000 + n %% 7000000)::text, 7, '0'),
        CASE WHEN n %% 7 = 0 THEN 'es' ELSE 'en' END, n %% 5 = 0,
        (ARRAY['female', 'male', 'male', 'female', 'male', 'nonbinary', ''])[1 + (n * 3) %% 7],
        (ARRAY['Black', 'White', 'Black', 'White', 'Asian', 'Multiracial', 'Black',
               'American Indian', ''])[1 + (n * 5) %% 9],
        (ARRAY['Not Hispanic or Latino', 'Not Hispanic or Latino', 'Hispanic or Latino',
               'Not Hispanic or Latino', ''])[1 + (n * 11) %% 5],
        %(start)s::timestamptz, %(start)s::timestamptz,
        CASE WHEN n > %(frequent)s + %(repeat)s AND n %% 200 = 0
             THEN 1 + (n * 31) %% %(frequent)s END
    FROM generate_series(1, %(neighbors)s::bigint) n
    """,
    # Field responses: spread evenly over the year, programs about 60/25/15 CRT/CCD/COR.
    """
    INSERT INTO heart_cases_fieldresponse (id, incident_number, unit, program, call_type,
        responded_at, cleared_at, address, latitude, longitude, needs, disposition,
        follow_up_consent, responder_felt_safe, narrative, body_fingerprint, created_at, case_id,
        recorded_by_id, neighbor_id)
    SELECT g, 'M' || lpad(g::text, 9, '0'), p.program || '-' || (g %% 7), p.program,
        CASE p.program WHEN 'CRT' THEN (%(crt)s::text[])[1 + (g / 20) %% %(crt_n)s]
                       WHEN 'CCD' THEN (%(ccd)s::text[])[1 + (g / 20) %% %(ccd_n)s]
                       ELSE (%(cor)s::text[])[1 + (g / 20) %% %(cor_n)s] END,
        t.at, t.at + interval '50 minutes', (g %% 900) || ' Main St', 35.994, -78.899,
        '["mental_health"]'::jsonb,
        CASE WHEN (g * 17) %% 100 < 8 THEN 'transported'
             WHEN (g * 17) %% 100 < 28 THEN 'referred'
             WHEN (g * 17) %% 100 < 88 THEN 'resolved_on_scene'
             WHEN (g * 17) %% 100 < 95 THEN 'declined_services'
             WHEN (g * 17) %% 100 < 98 THEN 'police_requested' ELSE 'other' END,
        (g * 23) %% 10 <> 0,
        CASE WHEN (g * 29) %% 1000 < 5 THEN false
             WHEN (g * 29) %% 1000 < 7 THEN NULL ELSE true END,
        '', md5(g::text) || md5((g + 1)::text), t.at + interval '75 minutes', g,
        %(responder)s,
        -- The neighbor of response g: a frequent one when g %% 10 = 0; one of the repeat
        -- neighbors, drawn skewed (the square of a spread-out fraction) so that some come
        -- twice and some a dozen times, when g %% 10 is 1 to 3; else one seen only once.
        CASE WHEN g %% 10 = 0 THEN 1 + (g * 7919) %% %(frequent)s
             WHEN g %% 10 <= 3 THEN %(frequent)s + 1 + floor(%(repeat)s * power(
                 (((g / 10) * 3 + g %% 10 - 1) * 7919 %% %(repeat_draws)s)::float8
                 / %(repeat_draws)s, 2))::bigint
             ELSE %(frequent)s + %(repeat)s + (g / 10) * 6 + (g %% 10 - 4) + 1 END
    FROM generate_series(1, %(responses)s::bigint) g
    CROSS JOIN LATERAL (SELECT CASE WHEN (g * 13) %% 20 < 12 THEN 'CRT'
                                    WHEN (g * 13) %% 20 < 17 THEN 'CCD' ELSE 'COR' END
                               AS program) p
    CROSS JOIN LATERAL (SELECT %(start)s::timestamptz
                               + (g - 1) * %(step)s * interval '1 second' AS at) t
    """,
    # One case per field response, closed unless it is from the last three days.
    """
    INSERT INTO heart_cases_case (id, number, status, outcome, outcome_note, opened_at,
        closed_at, previous_case_id, neighbor_id)
    SELECT f.id, 'HC-M-' || lpad(f.id::text, 9, '0'),
        CASE WHEN o.is_open THEN 'open' ELSE 'closed' END,
        CASE WHEN o.is_open THEN '' WHEN NOT f.follow_up_consent THEN 'follow_up_declined'
             ELSE 'connected_to_care' END,
        '', f.created_at, CASE WHEN o.is_open THEN NULL ELSE f.responded_at + interval '3 days' END,
        NULL, f.neighbor_id
    FROM heart_cases_fieldresponse f
    CROSS JOIN LATERAL (SELECT f.follow_up_consent AND f.neighbor_id > %(frequent)s + %(repeat)s
                               AND f.responded_at > %(now)s::timestamptz - interval '3 days'
                               AS is_open) o
    """,
    # The 48-hour follow-ups of consented responses, with the story of each (k = 0..99):
    # 0-69 reached at the first call, 70-81 reached at the second, 82-91 three calls unanswered,
    # 92-95 never called, 96-99 cancelled (case closed) before the deadline.
    """
    CREATE TEMP TABLE metrics_seed AS
    SELECT f.id AS g, f.responded_at AS at, f.responded_at + interval '48 hours' AS deadline,
        (f.id * 37) %% 100 AS k,
        interval '1 hour' * (1 + (f.id * 41) %% 40) AS first_after,
        interval '1 hour' * (4 + (f.id * 43) %% 17) AS gap
    FROM heart_cases_fieldresponse f WHERE f.follow_up_consent
    """,
    """
    INSERT INTO navigation_followuptask (id, kind, status, deadline, work_by, created_at,
        completed_at, case_id, field_response_id, pair_id, due_at, next_task_id, resolved_at)
    SELECT s.g, 'follow_up',
        CASE WHEN s.k >= 96 THEN 'cancelled'
             WHEN s.k < 70 AND s.at + s.first_after <= %(now)s THEN 'done'
             WHEN s.k < 82 AND s.at + s.first_after + s.gap <= least(s.deadline, %(now)s)
                  THEN 'done'
             WHEN s.deadline <= %(now)s THEN 'missed' ELSE 'pending' END,
        s.deadline, s.deadline - interval '2 hours', s.at + interval '75 minutes',
        CASE WHEN s.k >= 96 THEN s.at + interval '10 hours'
             WHEN s.k < 70 AND s.at + s.first_after <= %(now)s THEN s.at + s.first_after
             WHEN s.k < 82 AND s.at + s.first_after + s.gap <= least(s.deadline, %(now)s)
                  THEN s.at + s.first_after + s.gap END,
        s.g, s.g, %(first_pair)s + s.g %% %(pairs)s, NULL, NULL,
        CASE WHEN s.k BETWEEN 70 AND 95 AND s.deadline <= %(now)s
             THEN s.deadline + interval '3 days' END
    FROM metrics_seed s
    """,
    """
    INSERT INTO navigation_contactattempt (id, method, outcome, occurred_at, duration_minutes,
        notes, created_at, case_id, made_by_id, task_id)
    SELECT s.g * 4 + n, 'phone',
        CASE WHEN (s.k < 70 AND n = 1) OR (s.k BETWEEN 70 AND 81 AND n = 2) THEN 'reached'
             WHEN n = 2 THEN 'left_voicemail' ELSE 'no_answer' END,
        s.at + s.first_after + (n - 1) * s.gap, 8, '', s.at + s.first_after + (n - 1) * s.gap,
        s.g, p.peer_id, s.g
    FROM metrics_seed s
    CROSS JOIN LATERAL generate_series(1, CASE WHEN s.k < 70 THEN 1 WHEN s.k < 82 THEN 2
                                               WHEN s.k < 92 THEN 3 ELSE 0 END) n
    JOIN navigation_pair p ON p.id = %(first_pair)s + s.g %% %(pairs)s
    WHERE s.at + s.first_after + (n - 1) * s.gap <= %(now)s
    """,
    # A referral for 1 in 5 reached neighbors, made an hour after the contact, across the
    # statuses: 45% completed, then in progress, waitlisted, accepted, declined, no-show,
    # cancelled, still requested.
    """
    CREATE TEMP TABLE metrics_referral_seed AS
    SELECT t.id AS g, t.case_id, f.neighbor_id, t.completed_at + interval '1 hour' AS at,
        ((t.id / 5) * 43) %% 100 AS r, sv.provider_id, sv.service_id, p.clinician_id
    FROM navigation_followuptask t
    JOIN heart_cases_fieldresponse f ON f.id = t.field_response_id
    JOIN navigation_pair p ON p.id = t.pair_id
    JOIN (SELECT row_number() OVER (ORDER BY s.id) - 1 AS i, s.id AS service_id, s.provider_id
          FROM referrals_service s WHERE s.provider_id = ANY(%(providers)s)) sv
      ON sv.i = t.id %% %(services)s
    WHERE t.status = 'done' AND (t.id * 53) %% 5 = 0
      AND t.completed_at + interval '1 hour' <= %(now)s
    """,
    """
    INSERT INTO referrals_consent (id, method, obtained_at, withdrawn_at, withdrawal_note,
        created_at, case_id, neighbor_id, obtained_by_id, provider_id, withdrawn_by_id,
        expires_at)
    SELECT r.g, 'verbal', r.at, NULL, '', r.at, r.case_id, r.neighbor_id, r.clinician_id,
        r.provider_id, NULL, r.at + interval '365 days'
    FROM metrics_referral_seed r
    """,
    """
    INSERT INTO referrals_referral (id, reason, status, business_status, status_reason,
        status_note, requested_at, acknowledged_at, status_changed_at, handoff_at, ended_at,
        chase_at, expire_at, chased_at, created_at, updated_at, case_id, consent_id,
        provider_id, requested_by_id, service_id, status_changed_by_id)
    SELECT r.g, 'Seeded referral', x.status,
        CASE WHEN x.status = 'requested' THEN 'sent' ELSE 'viewed' END,
        CASE WHEN x.status = 'rejected'
             THEN (ARRAY['no-capacity', 'not-eligible', 'waitlist', 'no-funds',
                         'additional-assessment-required', 'other'])[1 + r.g %% 6]
             WHEN x.status = 'cancelled'
             THEN (ARRAY['expired', 'neighbor-declined', 'unable-to-contact'])[1 + r.g %% 3]
             ELSE '' END,
        '', r.at, CASE WHEN x.status <> 'requested' THEN r.at + interval '3 hours' END,
        r.at + interval '1 day',
        CASE WHEN x.status = 'completed' THEN r.at + interval '2 days' END,
        CASE WHEN x.status IN ('completed', 'rejected', 'failed', 'cancelled')
             THEN r.at + interval '2 days' END,
        r.at + interval '2 days', r.at + interval '5 days', NULL, r.at, r.at, r.case_id, r.g,
        r.provider_id, r.clinician_id, r.service_id, r.clinician_id
    FROM metrics_referral_seed r
    CROSS JOIN LATERAL (SELECT CASE WHEN r.r < 45 THEN 'completed'
                                    WHEN r.r < 55 THEN 'in-progress'
                                    WHEN r.r < 60 THEN 'on-hold'
                                    WHEN r.r < 68 THEN 'accepted'
                                    WHEN r.r < 80 THEN 'rejected'
                                    WHEN r.r < 86 THEN 'failed'
                                    WHEN r.r < 94 THEN 'cancelled'
                                    ELSE 'requested' END AS status) x
    """,
    "DROP TABLE metrics_seed",
    "DROP TABLE metrics_referral_seed",
]

_IDENTITY_TABLES = (
    "heart_cases_neighbor",
    "heart_cases_fieldresponse",
    "heart_cases_case",
    "navigation_followuptask",
    "navigation_contactattempt",
    "referrals_consent",
    "referrals_referral",
)


def year_bounds() -> tuple[date, date]:
    """The benchmark's year: the 365 local days up to and including yesterday."""
    from django.utils import timezone

    today = timezone.localdate()
    return today - timedelta(days=365), today - timedelta(days=1)


def _providers() -> list[int]:
    from heart_cases.actors import stamp, system_actor
    from referrals.models import Provider, Service

    actor = system_actor("bench.metrics")
    ids = []
    for slug, name, categories in PROVIDERS:
        provider = Provider.objects.filter(slug=slug).first()
        if provider is None:
            provider = stamp(Provider(slug=slug, name=name), actor=actor, reason="Bench")
            provider.save()
            for k, category in enumerate(categories, start=1):
                stamp(
                    Service(provider=provider, name=f"{name} service {k}", category=category),
                    actor=actor,
                    reason="Bench",
                ).save()
        ids.append(provider.pk)
    return ids


def seed(bench: Bench, *, responses: int) -> dict[str, int]:
    """Empty the domain tables and load the year. Returns row counts."""
    from django.utils import timezone

    from heart_cases.models import ELIGIBLE_CALL_TYPES

    seeder = bench.seed
    seeder.truncate_domain()
    seeder.execute("TRUNCATE referrals_referral, referrals_consent RESTART IDENTITY CASCADE")
    providers = _providers()
    first_day, last_day = year_bounds()
    zone = timezone.get_current_timezone()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    neighbors = FREQUENT + REPEAT + (responses // 10) * 6 + 6
    params: dict[str, Any] = {
        "responses": responses,
        "neighbors": neighbors,
        "frequent": FREQUENT,
        "repeat": REPEAT,
        "repeat_draws": (responses // 10) * 3 + 3,
        "start": start,
        # Evenly over the year, the last one a minute before its end.
        "step": ((end - start).total_seconds() - 60) / responses,
        "now": timezone.now(),
        "responder": bench.responder_id,
        "first_pair": bench.pair_ids[0],
        "pairs": len(bench.pair_ids),
        "providers": providers,
        "services": len(providers) * 2,
    }
    for program, key in (("CRT", "crt"), ("CCD", "ccd"), ("COR", "cor")):
        params[key] = list(ELIGIBLE_CALL_TYPES[program])
        params[f"{key}_n"] = len(ELIGIBLE_CALL_TYPES[program])
    for statement in _STATEMENTS:
        started = time.monotonic()
        seeder.execute(statement, params)
        first_line = " ".join(statement.split())[:60]
        bench.log(f"metrics seed: {first_line}… {time.monotonic() - started:.1f} s")
    with seeder.conn.cursor() as cur:
        for table in _IDENTITY_TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
    seeder.conn.commit()
    started = time.monotonic()
    seeder.analyze()
    seeder.conn.autocommit = True
    try:
        with seeder.conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) referrals_referral")
            cur.execute("VACUUM (ANALYZE) referrals_consent")
    finally:
        seeder.conn.autocommit = False
    bench.log(f"metrics seed: vacuum analyze {time.monotonic() - started:.1f} s")
    counts = {}
    with seeder.conn.cursor() as cur:
        for table in _IDENTITY_TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            counts[table] = int(cur.fetchone()[0])  # type: ignore[index]
    seeder.conn.commit()
    return counts


# --- measuring ----------------------------------------------------------------------------------


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(int(0.95 * len(ordered)) - 1, 0)], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _measure(
    client: Any, path: str, *, runs: int = RUNS, between: Any = None, **headers: Any
) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    latencies: list[float] = []
    query_counts: list[int] = []
    statuses: set[int] = set()
    for run in range(WARMUP + runs):
        if between is not None:
            between(run)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(path, **headers)
            elapsed = (time.perf_counter() - started) * 1000
        statuses.add(response.status_code)
        if run >= WARMUP:
            latencies.append(elapsed)
            query_counts.append(len(queries.captured_queries))
    return {
        "path": path,
        "runs": runs,
        # Where the time of the last request went, query by query.
        "last_request_queries": [
            {"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:90]}
            for q in queries.captured_queries
        ],
        "warmup": WARMUP,
        "statuses": sorted(statuses),
        **_percentiles(latencies),
        "queries": max(query_counts),
        "queries_min": min(query_counts),
    }


def _count_baseline(start: datetime, end: datetime) -> dict[str, Any]:
    """A plain count of the year's field responses: the floor of any live count of the year."""
    from django.db import connection

    latencies = []
    for run in range(WARMUP + RUNS):
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(
                "SELECT count(*) FROM heart_cases_fieldresponse "
                "WHERE responded_at >= %s AND responded_at < %s",
                [start, end],
            )
            cursor.fetchone()
            elapsed = (time.perf_counter() - started) * 1000
        if run >= WARMUP:
            latencies.append(elapsed)
    return {
        "sql": "SELECT count(*) … responded_at in the year",
        "runs": RUNS,
        **_percentiles(latencies),
    }


def _record_changes(bench: Bench, count: int) -> Any:
    """Before each read: `count` new field responses recorded through intake (the triggers note
    them), as if the read came a few minutes after the last one at 100x the pilot's volume."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record

    responder = User.objects.get(pk=bench.responder_id)

    def record(run: int) -> None:
        now = timezone.now()
        for k in range(count):
            n = run * count + k
            field_response_record(
                actor=responder,
                data=FieldResponseInput(
                    incident_number=f"MB-{n:07d}",
                    unit="CRT-9",
                    program="CRT",
                    call_type="Trespass",
                    responded_at=now - timedelta(minutes=30),
                    follow_up_consent=True,
                    responder_felt_safe=True,
                    neighbor=NeighborInput(
                        first_name="Bench", last_name=f"Reader{n}", phone=f"+1984{5000000 + n}"
                    ),
                ),
            )

    return record


def run(bench: Bench) -> Outcome:
    from django.contrib.auth.models import User
    from django.test import Client

    from heart_cases.staff import staff_create_or_update
    from metrics import facts
    from metrics.selectors import Period

    outcome = Outcome(name="metrics")
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    started = time.monotonic()
    counts = seed(bench, responses=RESPONSES)
    seeded = time.monotonic() - started
    bench.log(
        f"metrics: {counts['heart_cases_fieldresponse']:,} field responses seeded ({seeded:.0f} s)"
    )
    started = time.monotonic()
    facts.rebuild()
    built = time.monotonic() - started
    bench.seed.conn.autocommit = True
    try:
        with bench.seed.conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) metrics_responsefact, metrics_followupfact")
    finally:
        bench.seed.conn.autocommit = False
    bench.log(f"metrics: facts built from scratch in {built:.1f} s")

    analyst = staff_create_or_update(username="bench-analyst", role="analyst", languages=["en"])
    supervisor = staff_create_or_update(
        username="bench-supervisor", role="supervisor", languages=["en"]
    )
    first_day, last_day = year_bounds()
    year = Period(first_day, last_day)
    month = Period(last_day.replace(day=1), last_day)
    token = {"HTTP_AUTHORIZATION": f"Token {analyst.token}"}
    api = Client()
    page = Client()
    page.force_login(User.objects.get(pk=supervisor.user.pk))

    def api_path(period: Period) -> str:
        return f"/api/v1/metrics/?start={period.start}&end={period.end}"

    def page_path(period: Period) -> str:
        return f"/metrics/?start={period.start}&end={period.end}"

    count = _count_baseline(year.starts_at, year.ends_at)
    bench.log(f"metrics: SELECT count(*) of the year p50 {count['p50_ms']} ms")
    api_year = _measure(api, api_path(year), **token)
    bench.log(f"metrics: API, year: {_line(api_year)}")
    api_month = _measure(api, api_path(month), **token)
    bench.log(f"metrics: API, last month: {_line(api_month)}")
    page_year = _measure(page, page_path(year))
    bench.log(f"metrics: page, year: {_line(page_year)}")
    changed = _measure(api, api_path(year), between=_record_changes(bench, CHANGES), **token)
    bench.log(f"metrics: API, year, {CHANGES} new responses before each read: {_line(changed)}")

    outcome.details = {
        "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "rows": counts,
        "seed_seconds": round(seeded, 1),
        "facts_rebuild_seconds": round(built, 1),
        "year": [str(year.start), str(year.end)],
        "count_baseline": count,
        "api_year": api_year,
        "api_month": api_month,
        "page_year": page_year,
        "api_year_with_changes": changed,
        "changes_per_read": CHANGES,
    }
    size = f"{counts['heart_cases_fieldresponse']:,} field responses"
    for stat in ("p50_ms", "p95_ms"):
        label = stat[:3]
        outcome.figures.append(
            Figure(
                key=f"metrics.api.year.{label}",
                name=f"Metrics API, a full year, {label} @ {size}",
                value=api_year[stat],
                unit="ms",
                baseline=count[stat],
                baseline_name="plain SELECT count(*) of the year's field responses",
                ratio_is="value / baseline",
                ratio=ratio(api_year[stat], count[stat]),
                goal=f"< {ENDPOINT_GOAL_MS:g} ms",
                met=api_year[stat] < ENDPOINT_GOAL_MS,
                missed_by=over(api_year[stat], ENDPOINT_GOAL_MS, label, " ms"),
            )
        )
    for stat in ("p50_ms", "p95_ms"):
        label = stat[:3]
        outcome.figures.append(
            Figure(
                key=f"metrics.page.year.{label}",
                name=f"Metrics dashboard page, a full year, {label} @ {size}",
                value=page_year[stat],
                unit="ms",
                baseline=api_year[stat],
                baseline_name="the metrics API for the same year",
                ratio_is="value / baseline",
                ratio=ratio(page_year[stat], api_year[stat]),
                goal=f"< {PAGE_GOAL_MS:g} ms",
                met=page_year[stat] < PAGE_GOAL_MS,
                missed_by=over(page_year[stat], PAGE_GOAL_MS, label, " ms"),
            )
        )
    outcome.figures.append(
        Figure(
            key="metrics.api.year.p50_with_changes",
            name=f"Metrics API, a full year, p50, {CHANGES} new responses folded in per read",
            value=changed["p50_ms"],
            unit="ms",
            baseline=api_year["p50_ms"],
            baseline_name="the same with nothing changed",
            ratio_is="value / baseline",
            ratio=ratio(changed["p50_ms"], api_year["p50_ms"]),
            goal=f"< {ENDPOINT_GOAL_MS:g} ms",
            met=changed["p50_ms"] < ENDPOINT_GOAL_MS,
            missed_by=over(changed["p50_ms"], ENDPOINT_GOAL_MS, "p50", " ms"),
        )
    )
    outcome.figures.append(
        Figure(
            key="metrics.api.month.p50",
            name="Metrics API, the last month, p50",
            value=api_month["p50_ms"],
            unit="ms",
            baseline=api_year["p50_ms"],
            baseline_name="the same for the full year",
            ratio_is="value / baseline",
            ratio=ratio(api_month["p50_ms"], api_year["p50_ms"]),
            goal="(none)",
            met=None,
        )
    )
    outcome.figures.append(
        Figure(
            key="metrics.api.queries",
            name="Metrics API queries, a full year",
            value=api_year["queries"],
            unit="queries",
            baseline=api_month["queries"],
            baseline_name="the same for one month",
            ratio_is="value / baseline",
            ratio=ratio(api_year["queries"], api_month["queries"]),
            goal="identical",
            met=api_year["queries"] == api_month["queries"]
            and api_year["queries_min"] == api_month["queries_min"],
            missed_by=f"{api_year['queries']} queries against {api_month['queries']}",
        )
    )
    return outcome


def _line(measured: dict[str, Any]) -> str:
    return (
        f"p50 {measured['p50_ms']} ms, p95 {measured['p95_ms']} ms, max {measured['max_ms']} ms, "
        f"{measured['queries']} queries, statuses {measured['statuses']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone, on a database of its own that it creates and drops."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m bench.metrics", description=__doc__)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args(argv)
    os.environ.setdefault("HEART_BENCH_DATABASE_URL", STANDALONE_DATABASE_URL)
    from .context import open_bench
    from .infra import ROOT, database_drop

    bench = open_bench()
    try:
        began = time.monotonic()
        outcome = run(bench)
        outcome.seconds = time.monotonic() - began
    finally:
        bench.close()
        if not args.keep_db:
            database_drop(bench.database_url)
    out = ROOT / "var" / "bench-metrics.json"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(outcome.as_dict(), indent=2, default=str) + "\n")
    for figure in outcome.figures:
        mark = {True: "met", False: "MISSED", None: "-"}[figure.met]
        print(
            f"{figure.name:<72} {figure.value:>9g} {figure.unit:<7} baseline {figure.baseline!s:>8}"
            f"  ratio {figure.ratio!s:>7}  goal {figure.goal} [{mark}]"
        )
    print(f"Wrote {out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
