"""Bulk seeding in set-based SQL (INSERT … SELECT FROM generate_series), never through the API.

Each seeded case is one neighbor, one field response, one case, its 48-hour follow-up task and
the pair assignment that owns it; a closed case also has the successful contact attempt that
settled it. Rows are described first in a temporary table `bench_seed` (one row per case:
open or closed, pair, times) and then written to every table from it, so each benchmark only
says what its cases look like.

Shortcuts a real intake would not take, said in BENCHMARKS.md: no django-simple-history rows,
no NeighborPhone rows, and foreign-key triggers are off while loading (session_replication_role
= replica; the rows are consistent by construction).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

DOMAIN_TABLES = (
    "navigation_notification",
    "navigation_notice",
    "navigation_contactattempt",
    "navigation_pairassignment",
    "navigation_followuptask",
    "heart_cases_fieldresponse",
    "heart_cases_case",
    "heart_cases_neighborphone",
    "heart_cases_possibleduplicate",
    "heart_cases_neighbor",
    "heart_cases_casenumber",
    "heart_cases_accesslog",
)
IDENTITY_TABLES = (
    "heart_cases_neighbor",
    "heart_cases_case",
    "heart_cases_fieldresponse",
    "navigation_followuptask",
    "navigation_pairassignment",
    "navigation_contactattempt",
    "heart_cases_casenumber",
    "heart_cases_neighborphone",
)

_SEED_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS bench_seed (
    i bigint PRIMARY KEY,
    is_open boolean NOT NULL,
    pair_id bigint NOT NULL,
    opened_at timestamptz NOT NULL,
    deadline timestamptz NOT NULL,
    work_by timestamptz NOT NULL
)
"""

# From bench_seed to every table. Ids are the seed's `i`, so cases, neighbors, field
# responses, tasks and assignments of one seeded case share one id.
_MATERIALIZE = [
    """
    INSERT INTO heart_cases_neighbor (id, first_name, last_name, alias, first_name_key,
        last_name_key, alias_key, date_of_birth, phone, language, unsheltered, gender, race,
        ethnicity, created_at, updated_at, linked_to_id)
    SELECT s.i, f.name, 'Seed' || s.i, '', lower(f.name), 'seed' || s.i, '',
        date '1950-01-01' + (s.i %% 20000)::int,
        '+1919' || lpad((2000000 + s.i %% 7000000)::text, 7, '0'),
        CASE WHEN s.i %% 5 = 0 THEN 'es' ELSE 'en' END, s.i %% 4 = 0, '', '', '',
        s.opened_at, s.opened_at, NULL
    FROM bench_seed s
    JOIN (SELECT ordinality - 1 AS k, name FROM unnest(ARRAY['Ana', 'Luis', 'Maya', 'Omar',
        'Rosa', 'Tariq', 'Keisha', 'Jamal', 'Elena', 'Marcus', 'Lupe', 'Dana', 'Ivan', 'Grace',
        'Hector', 'Nia', 'Sam', 'Tomas', 'Yara', 'Zoe']) WITH ORDINALITY AS n(name)) f
      ON f.k = s.i %% 20
    """,
    """
    INSERT INTO heart_cases_case (id, number, status, outcome, outcome_note, opened_at,
        closed_at, previous_case_id, neighbor_id)
    SELECT s.i, 'HC-B-' || lpad(s.i::text, 8, '0'),
        CASE WHEN s.is_open THEN 'open' ELSE 'closed' END,
        CASE WHEN s.is_open THEN '' ELSE 'connected_to_care' END, '', s.opened_at,
        CASE WHEN s.is_open THEN NULL ELSE s.opened_at + interval '30 hours' END, NULL, s.i
    FROM bench_seed s
    """,
    """
    INSERT INTO heart_cases_fieldresponse (id, incident_number, unit, program, call_type,
        responded_at, cleared_at, address, latitude, longitude, needs, disposition,
        follow_up_consent, responder_felt_safe, narrative, body_fingerprint, created_at, case_id,
        recorded_by_id, neighbor_id)
    SELECT s.i, 'B' || lpad(s.i::text, 9, '0'), 'CRT-' || (s.i %% 9), 'CRT', 'Trespass',
        s.deadline - interval '48 hours', s.deadline - interval '47 hours',
        (s.i %% 900) || ' Main St', 35.994, -78.899, '["housing"]'::jsonb, 'resolved_on_scene',
        true, true, '', md5(s.i::text) || md5((s.i + 1)::text), s.opened_at, s.i,
        %(responder)s, s.i
    FROM bench_seed s
    """,
    """
    INSERT INTO navigation_followuptask (id, kind, status, deadline, work_by, created_at,
        completed_at, case_id, field_response_id, pair_id, due_at, next_task_id, resolved_at)
    SELECT s.i, 'follow_up', CASE WHEN s.is_open THEN 'pending' ELSE 'done' END, s.deadline,
        s.work_by, s.opened_at,
        CASE WHEN s.is_open THEN NULL ELSE s.opened_at + interval '26 hours' END,
        s.i, s.i, s.pair_id, NULL, NULL, NULL
    FROM bench_seed s
    """,
    """
    INSERT INTO navigation_pairassignment (id, assigned_at, ended_at, reason, case_id, pair_id)
    SELECT s.i, s.opened_at + interval '1 minute', NULL, 'Assigned automatically: least loaded',
        s.i, s.pair_id
    FROM bench_seed s
    """,
    """
    INSERT INTO navigation_contactattempt (id, method, outcome, occurred_at, duration_minutes,
        notes, created_at, case_id, made_by_id, task_id)
    SELECT s.i, 'phone', 'reached', s.opened_at + interval '26 hours', 12, '',
        s.opened_at + interval '26 hours', s.i, p.peer_id, s.i
    FROM bench_seed s JOIN navigation_pair p ON p.id = s.pair_id
    WHERE NOT s.is_open
    """,
]

_PHONES = """
INSERT INTO heart_cases_neighborphone (id, number, created_at, neighbor_id)
SELECT n.id, n.phone, n.created_at, n.id
FROM heart_cases_neighbor n JOIN bench_seed s ON s.i = n.id
"""


@dataclass
class Seeder:
    """One psycopg connection that loads rows with foreign-key triggers off."""

    database_url: str
    responder_id: int

    def __post_init__(self) -> None:
        self.conn = psycopg.connect(self.database_url)
        with self.conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '256MB'")
            cur.execute("SET work_mem = '64MB'")
            cur.execute(_SEED_TABLE)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def describe(self, select_sql: str, params: dict[str, object] | None = None) -> None:
        """Add rows to bench_seed: `select_sql` yields (i, is_open, pair_id, opened_at,
        deadline, work_by)."""
        with self.conn.cursor() as cur:
            cur.execute(f"INSERT INTO bench_seed {select_sql}", params or {})

    def describe_rows(
        self, rows: Sequence[tuple[int, bool, int, datetime, datetime, datetime]]
    ) -> None:
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_seed VALUES (%s, %s, %s, %s, %s, %s)", rows)

    def materialize(self, *, phones: bool = False) -> int:
        """Write every described case to the domain tables; returns how many. `phones`: also
        the NeighborPhone rows intake matches by (the task list and sweeps never read them)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM bench_seed")
            count = int(cur.fetchone()[0])  # type: ignore[index]
            for statement in _MATERIALIZE:
                cur.execute(statement, {"responder": self.responder_id})
            if phones:
                cur.execute(_PHONES)
            cur.execute("TRUNCATE bench_seed")
        self.conn.commit()
        self.reset_identities()
        return count

    def reset_identities(self) -> None:
        with self.conn.cursor() as cur:
            for table in IDENTITY_TABLES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
        self.conn.commit()

    def analyze(self) -> None:
        """What autovacuum would have done soon after a bulk load (and long ago for the small
        staff tables), done now so that plans do not depend on when autovacuum last ran."""
        self.conn.autocommit = True
        try:
            with self.conn.cursor() as cur:
                for table in DOMAIN_TABLES:
                    cur.execute(f"VACUUM (ANALYZE) {table}")
                cur.execute("ANALYZE")
        finally:
            self.conn.autocommit = False

    def truncate_domain(self) -> None:
        """Empty the tables the benchmarks fill (staff, pairs and schedules stay)."""
        with self.conn.cursor() as cur:
            # CASCADE: referrals and consents point at cases (empty in the benchmarks).
            cur.execute(f"TRUNCATE {', '.join(DOMAIN_TABLES)} RESTART IDENTITY CASCADE")
            cur.execute(
                "TRUNCATE heart_cases_historicalneighbor, heart_cases_historicalcase, "
                "heart_cases_historicalfieldresponse, heart_cases_historicalneighborphone, "
                "navigation_historicalfollowuptask, navigation_historicalpairassignment, "
                "navigation_historicalcontactattempt"
            )
        self.conn.commit()

    def truncate_notices(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("TRUNCATE navigation_notification, navigation_notice RESTART IDENTITY")
            # The sweep marks each reminded task; forget that too, so the next run starts over.
            cur.execute(
                "UPDATE navigation_followuptask SET reminded_at = NULL "
                "WHERE reminded_at IS NOT NULL"
            )
        self.conn.commit()
        self.conn.autocommit = True
        try:
            with self.conn.cursor() as cur:
                cur.execute("VACUUM (ANALYZE) navigation_followuptask")
        finally:
            self.conn.autocommit = False

    def execute(self, statement: str, params: dict[str, object] | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(statement, params or {})
        self.conn.commit()


def timed(label: str, seconds_since: float) -> str:
    return f"{label} in {time.monotonic() - seconds_since:.1f} s"
