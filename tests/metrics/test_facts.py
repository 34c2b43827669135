"""The metrics facts follow the source tables: triggers note each change the metrics see, and a
read folds the notes in, ending where a rebuild from scratch would."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from heart_cases.models import FieldResponse, Neighbor
from heart_cases.services import neighbor_unlink
from metrics import facts
from metrics.models import (
    CaseDay,
    CaseFact,
    FactChange,
    FollowUpDay,
    FollowUpFact,
    ResponseDay,
    ResponseFact,
)
from tests.metrics.conftest import local

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[list[dict], ...]:
    """Every fact and day count, without the days' own ids (and without days whose counts
    came back to zero: a rebuild does not write those)."""

    def rows(model, *order):
        found = [
            {k: v for k, v in row.items() if k != "id"}
            for row in model.objects.order_by(*order).values()
        ]
        return [row for row in found if any(v for v in row.values() if isinstance(v, int))]

    return (
        rows(ResponseFact, "pk"),
        rows(FollowUpFact, "pk"),
        rows(CaseFact, "pk"),
        rows(ResponseDay, "local_date", "program"),
        rows(FollowUpDay, "due_date"),
        rows(CaseDay, "opened_on"),
    )


def test_each_write_the_metrics_see_notes_a_change(history):
    result = history.respond("nora", local(2026, 10, 5, 10))
    noted = set(FactChange.objects.values_list("kind", "key"))
    assert {("n", result.neighbor.pk), ("c", result.case.pk)} <= noted

    FactChange.objects.all().delete()
    neighbor = Neighbor.objects.get(pk=result.neighbor.pk)
    neighbor.alias = "Nori"  # the metrics do not look at aliases
    neighbor.save()
    assert not FactChange.objects.exists()
    neighbor.gender = "female"
    neighbor.save()
    assert list(FactChange.objects.values_list("kind", "key")) == [("n", neighbor.pk)]

    FactChange.objects.all().delete()
    history.attempt(result, local(2026, 10, 5, 12), "no_answer")
    assert ("c", result.case.pk) in set(FactChange.objects.values_list("kind", "key"))


@pytest.mark.parametrize(("notes_per_round", "batch"), [(5000, 500), (3, 2)])
def test_folding_changes_in_ends_where_a_rebuild_does(history, monkeypatch, notes_per_round, batch):
    monkeypatch.setattr(facts, "NOTES_PER_ROUND", notes_per_round)
    monkeypatch.setattr(facts, "BATCH", batch)
    h = history
    facts.rebuild()
    first = h.respond("olga", local(2026, 10, 1, 9), gender="female", race="Black")
    h.respond("olga", local(2026, 10, 8, 9))
    h.respond("pia", local(2026, 10, 2, 9), consent=False, incident="D-LATE", unit="CRT-2")
    facts.refresh()
    # A late post from another unit of the same incident, timed before the first one: the
    # incident's first eligible response changes, and it belongs to another neighbor.
    h.respond(
        "quinn",
        local(2026, 10, 2, 8),
        consent=False,
        incident="D-LATE",
        unit="COR-2",
        program="COR",
        call_type="Threat",
    )
    h.attempt(first, local(2026, 10, 1, 20), "reached")
    h.respond("rita", local(2026, 10, 3, 9), consent=False)
    h.link("rita", into="olga")
    facts.refresh()
    h.respond("sam", local(2026, 10, 4, 9))
    h.link("sam", into="olga")
    with time_machine.travel(local(2026, 10, 6, 9), tick=False):
        neighbor_unlink(
            actor=h.navigator,
            neighbor=Neighbor.objects.get(phones__number=h.people["rita"].phone),
            reason="Not the same person after all",
        )
    facts.refresh()
    assert not FactChange.objects.exists()
    folded = snapshot()
    facts.rebuild()
    assert snapshot() == folded
    responses, follow_ups, *days = folded
    assert all(days)
    assert len(responses) == FieldResponse.objects.count() == 6
    olga = Neighbor.objects.get(phones__number=h.people["olga"].phone).pk
    assert sorted(r["local_date"].day for r in responses if r["person_id"] == olga) == [1, 4, 8]
    first_of_incident = {
        r["field_response_id"]: r["first_eligible_of_incident"]
        for r in responses
        if r["field_response_id"]
        in FieldResponse.objects.filter(incident_number="D-LATE").values_list("id", flat=True)
    }
    assert sorted(first_of_incident.values()) == [False, True]
    assert first_of_incident[FieldResponse.objects.get(unit="COR-2").pk] is True
    assert any(f["contacted_in_time"] for f in follow_ups)


def test_a_read_with_nothing_changed_costs_one_query(history, django_assert_num_queries):
    history.respond("tess", local(2026, 10, 5, 10))
    facts.refresh()
    with django_assert_num_queries(1):
        facts.refresh()


def test_another_time_zone_rebuilds_the_facts_on_the_next_read(history):
    history.respond("uma", local(2026, 10, 31, 23, 30))  # 03:30 UTC on Nov 1
    facts.refresh()
    assert ResponseFact.objects.get().local_date.day == 31
    with override_settings(TIME_ZONE="UTC"):
        facts.refresh()
        assert ResponseFact.objects.get().local_date.day == 1
    facts.refresh()
    assert ResponseFact.objects.get().local_date.day == 31


def test_a_long_backlog_is_rebuilt_rather_than_replayed(history, monkeypatch):
    facts.rebuild()
    for day in range(1, 4):
        history.respond("vic", local(2026, 10, day, 10) + timedelta(minutes=day))
    monkeypatch.setattr(facts, "REBUILD_ABOVE", 2)
    facts.refresh()
    assert not FactChange.objects.exists()
    assert ResponseFact.objects.count() == 3
    earlier = [d for d in ResponseFact.objects.values_list("prev2", flat=True) if d is not None]
    assert earlier == [date(2026, 10, 1)]  # the third response's second-before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_refreshes_and_writes_at_once_end_where_a_rebuild_does(history):
    """Two readers refresh while intake writes (real threads, real commits): no fact is
    inserted twice, no change is lost."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite (`make run`) takes one writer at a time")
    history.respond("start", local(2026, 10, 1, 8))
    facts.rebuild()
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def run(work) -> None:
        try:
            start.wait(timeout=10)
            work()
        except BaseException as exc:  # the test reports it below
            errors.append(exc)
        finally:
            connection.close()

    def read() -> None:
        for _ in range(6):
            facts.refresh()

    def write() -> None:
        for k in range(12):
            history.respond(f"writer{k % 4}", local(2026, 10, 2 + k, 9))

    threads = [threading.Thread(target=run, args=(work,)) for work in (read, read, write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    facts.refresh()
    folded = snapshot()
    assert len(folded[0]) == 13
    facts.rebuild()
    assert snapshot() == folded
