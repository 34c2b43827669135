"""Intake writes a new record and its history row in one statement (heart_cases/history.py,
issue 19). The history row must be the one simple-history's own save() writes: the same
columns and values, the actor, the reason and "+"; and skipping post_save must skip nothing but
that row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import signals
from django.utils import timezone
from simple_history.models import HistoricalRecords

from heart_cases.actors import stamp
from heart_cases.history import insert_with_history
from heart_cases.models import Case, FieldResponse, Neighbor, NeighborPhone
from navigation.models import FollowUpTask
from tests.conftest import field_response_body

pytestmark = pytest.mark.django_db

WRITTEN_IN_ONE_STATEMENT = (Neighbor, NeighborPhone, Case, FieldResponse, FollowUpTask)
# What differs between two records saved a moment apart: ids, times, and the unique values.
APART = {
    "id",
    "history_id",
    "history_date",
    "created_at",
    "updated_at",
    "number",
    "neighbor_id",
    "case_id",
    "field_response_id",
    "incident_number",
}


def history_values(instance: Any) -> dict[str, Any]:
    (row,) = type(instance).history.filter(id=instance.pk).values()
    return {key: value for key, value in row.items() if key not in APART}


def twins(actor: Any) -> list[tuple[Any, Any]]:
    """For each model, two new records alike: one saved by save(), one by insert_with_history."""
    made = []
    now = timezone.now()
    for way in ("save", "one statement"):

        def keep(instance: Any, *, way: str = way) -> Any:
            stamp(instance, actor=actor, reason=f"Twin written by {way}")
            if way == "save":
                instance.save()
                return instance
            return insert_with_history(instance)

        neighbor = keep(
            Neighbor(first_name="Twin", last_name="Record", first_name_key="twin", phone="")
        )
        phone = keep(NeighborPhone(neighbor=neighbor, number=f"+1919555{len(made):04d}"))
        case = keep(Case(number=f"HC-TWIN-{len(made)}", neighbor=neighbor, opened_at=now))
        response = keep(
            FieldResponse(
                incident_number=f"TWIN-{len(made)}",
                unit="CRT-1",
                program="CRT",
                call_type="Welfare check",
                responded_at=now - timedelta(hours=1),
                neighbor=neighbor,
                case=case,
                needs=["housing"],
                follow_up_consent=True,
                recorded_by=actor,
            )
        )
        task = keep(
            FollowUpTask(
                case=case,
                field_response=response,
                kind=FollowUpTask.Kind.FOLLOW_UP,
                deadline=now + timedelta(hours=47),
                work_by=now + timedelta(hours=2),
            )
        )
        made.append((neighbor, phone, case, response, task))
    return list(zip(*made, strict=True))


def test_one_statement_writes_the_history_row_save_writes(responder: Any) -> None:
    actor, _client = responder
    for by_save, by_statement in twins(actor):
        assert by_statement.pk is not None
        assert by_statement._state.adding is False
        # The record itself as save() leaves it: the database's defaults read back too.
        fresh = type(by_statement).objects.get(pk=by_statement.pk)
        for field in type(by_statement)._meta.concrete_fields:
            assert getattr(by_statement, field.attname) == getattr(fresh, field.attname), field
        saved, written = history_values(by_save), history_values(by_statement)
        assert saved.pop("history_change_reason") == "Twin written by save"
        assert written.pop("history_change_reason") == "Twin written by one statement"
        assert written == saved
        assert written["history_type"] == "+"
        assert written["history_user_id"] == actor.pk
        assert type(by_statement).history.filter(id=by_statement.pk).count() == 1


def test_intake_writes_each_history_row_once_with_its_actor_and_reason(responder: Any) -> None:
    actor, client = responder
    answer = client.post("/api/v1/field-responses/", field_response_body(), format="json")
    assert answer.status_code == 201, answer.content
    response = FieldResponse.objects.get(pk=answer.json()["id"])
    records = [
        response.neighbor,
        response.neighbor.phones.get(),
        response.case,
        response,
        FollowUpTask.objects.get(field_response=response),
    ]
    for record in records:
        (row,) = type(record).history.filter(id=record.pk)
        assert row.history_user_id == actor.pk, record
        assert row.history_type == "+"
        assert "D2026-0012345" in row.history_change_reason, record
        # Every column the history keeps holds the record's value.
        for field in type(record)._meta.concrete_fields:
            if hasattr(row, field.attname):
                assert getattr(row, field.attname) == getattr(record, field.attname), field


@pytest.mark.parametrize("model", WRITTEN_IN_ONE_STATEMENT, ids=lambda m: m.__name__)
def test_no_receiver_but_the_history_listens_to_these_saves(model: Any) -> None:
    """insert_with_history sends no pre_save or post_save. If another app starts listening to
    these models' saves, it would miss them: this fails first."""
    assert signals.pre_save._live_receivers(model) == ([], [])
    sync, asynchronous = signals.post_save._live_receivers(model)
    assert asynchronous == []
    assert len(sync) == 1
    assert isinstance(sync[0].__self__, HistoricalRecords)


def test_the_case_number_made_by_the_insert_reads_as_before(responder: Any) -> None:
    """NextCaseNumber: HC-<year>-<the counter's next id>, six digits or more (never cut), the
    same number in the case and its history row."""
    from django.db import connection

    from heart_cases.models import CaseNumber
    from heart_cases.services import case_open

    actor, _client = responder
    year = timezone.localtime().year
    numbers = []
    for start in (41, 1_234_566):
        neighbor = insert_with_history(
            stamp(
                Neighbor(first_name="Numbered", last_name=f"Case{start}"), actor=actor, reason="t"
            )
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [CaseNumber._meta.db_table, start],
            )
        case = case_open(actor=actor, neighbor=neighbor, opened_at=timezone.now(), reason="t")
        assert case.history.get().number == case.number
        assert Case.objects.get(pk=case.pk).number == case.number
        numbers.append(case.number)
    assert numbers == [f"HC-{year}-000042", f"HC-{year}-1234567"]
