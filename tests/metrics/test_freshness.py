"""Metrics reads never need to write: on a read-only connection (a read replica) they read the
facts as the beat task left them and say how fresh they are (`facts_as_of`, `pending_changes`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from metrics import facts, tasks
from metrics.models import FactChange, FactState
from tests.metrics.conftest import local, metrics

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 10, 12)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|TRUNCATE|ANALYZE)\b", re.IGNORECASE)
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="read-only transactions (SET TRANSACTION READ ONLY, SQLSTATE 25006) are PostgreSQL's",
)


def october(client, *, now: datetime = NOW) -> dict:
    return metrics(client, "2026-10-01", "2026-10-31", now=now)


def as_of(data: dict) -> datetime:
    return datetime.fromisoformat(data["facts_as_of"])


@contextmanager
def read_only() -> Iterator[None]:
    """What runs inside is in a read-only transaction, as on a read replica: PostgreSQL refuses
    every write (SQLSTATE 25006) and SHOW transaction_read_only says "on". The test's own
    transaction becomes read-only inside a savepoint; rolling back to it makes it writable again.
    (A session set read-only with SET SESSION CHARACTERISTICS would need a transactional test,
    whose flush re-creates the role groups and breaks the serialized-rollback tests after it.)"""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute("SHOW transaction_read_only")
            assert cursor.fetchone() == ("on",)
        yield
        transaction.set_rollback(True)


@on_postgresql
def test_a_read_only_transaction_reads_the_last_folded_facts_and_writes_nothing(history, analyst):
    first = history.respond("fresh1", local(2026, 10, 5, 10))
    history.attempt(first, local(2026, 10, 5, 15), "reached")
    before = october(analyst, now=local(2026, 10, 20, 9))  # a read that can write folds first
    assert before["field_responses"]["total"] == 1
    assert before["follow_ups"]["met_within_48h"] == 1
    assert before["pending_changes"] == 0
    assert as_of(before) == local(2026, 10, 20, 9)

    second = history.respond("fresh2", local(2026, 10, 6, 10))
    history.attempt(second, local(2026, 10, 9, 10), "reached")  # after its 48 hours
    waiting = FactChange.objects.count()
    assert waiting > 0
    state = FactState.objects.values_list("refreshed_at", "built_at").get()

    with read_only(), CaptureQueriesContext(connection) as queries:
        replica = october(analyst)
    writes = [q["sql"] for q in queries.captured_queries if WRITES.match(q["sql"])]
    assert writes == []
    assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)
    # The last folded numbers, and how stale they are.
    assert replica["field_responses"]["total"] == 1
    assert replica["follow_ups"] | {"by_week": []} == before["follow_ups"] | {"by_week": []}
    assert replica["facts_as_of"] == before["facts_as_of"]
    assert replica["pending_changes"] == waiting
    assert FactChange.objects.count() == waiting
    assert FactState.objects.values_list("refreshed_at", "built_at").get() == state

    # The beat task (on the primary) folds the changes in; the next read shows them.
    with time_machine.travel(local(2026, 11, 10, 11, 59), tick=False):
        tasks.refresh_facts()
    assert not FactChange.objects.exists()
    with read_only():
        after = october(analyst)
    assert after["field_responses"]["total"] == 2
    assert after["follow_ups"]["due"] == 2
    assert after["follow_ups"]["met_within_48h"] == 1
    assert after["pending_changes"] == 0
    assert as_of(after) == local(2026, 11, 10, 11, 59)


@on_postgresql
def test_a_refresh_refused_as_read_only_is_not_an_error(history, analyst, monkeypatch, caplog):
    """A connection that turns out read-only only when the fold writes (the check did not see
    it): the fold is rolled back whole and the read answers from the facts as they are."""
    history.respond("refused1", local(2026, 10, 5, 10))
    october(analyst)
    history.respond("refused2", local(2026, 10, 6, 10))
    monkeypatch.setattr(facts, "_read_only", lambda: False)
    with read_only():
        data = october(analyst)
    assert "the database is read-only" in caplog.text
    assert data["field_responses"]["total"] == 1
    assert data["pending_changes"] > 0


def test_with_refresh_on_read_off_a_read_takes_the_facts_as_they_are(history, analyst, settings):
    history.respond("off1", local(2026, 10, 5, 10))
    assert october(analyst)["field_responses"]["total"] == 1
    history.respond("off2", local(2026, 10, 6, 10))
    settings.HEART_METRICS_REFRESH_ON_READ = False
    stale = october(analyst)
    assert stale["field_responses"]["total"] == 1
    assert stale["pending_changes"] == FactChange.objects.count() > 0
    tasks.refresh_facts()
    fresh = october(analyst)
    assert fresh["field_responses"]["total"] == 2
    assert fresh["pending_changes"] == 0


def test_facts_never_built_say_so(history, analyst, settings):
    history.respond("never1", local(2026, 10, 5, 10))
    settings.HEART_METRICS_REFRESH_ON_READ = False
    data = october(analyst)
    assert data["facts_as_of"] is None
    assert data["field_responses"]["total"] == 0
    assert data["pending_changes"] == FactChange.objects.count() > 0


def test_the_waiting_changes_are_counted_up_to_a_cap(history, analyst, settings, monkeypatch):
    monkeypatch.setattr(facts, "PENDING_COUNTED_UP_TO", 3)
    for k in range(4):
        history.respond(f"cap{k}", local(2026, 10, 5 + k, 10))
    assert FactChange.objects.count() > 3
    settings.HEART_METRICS_REFRESH_ON_READ = False
    assert october(analyst)["pending_changes"] == 3


def test_the_dashboard_says_how_fresh_its_numbers_are(client, make_staff, history, settings):
    history.respond("page1", local(2026, 10, 5, 10))
    user, _ = make_staff("fresh-analyst", "analyst")
    client.force_login(user)
    path = "/metrics/?start=2026-10-01&end=2026-10-31"
    with time_machine.travel(NOW, tick=False):
        html = client.get(path).content.decode()
    assert "Every recorded change is counted (brought up to date at 2026-11-10 12:00)" in html
    history.respond("page2", local(2026, 10, 6, 10))
    settings.HEART_METRICS_REFRESH_ON_READ = False
    with time_machine.travel(NOW, tick=False):
        html = client.get(path).content.decode()
    pending = FactChange.objects.count()
    assert "These numbers are as of 2026-11-10 12:00:" in html
    assert f"{pending} recorded changes are not counted yet" in html
