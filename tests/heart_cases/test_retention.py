"""The retention rule (API.md, "Consent and privacy"): `manage.py retention_sweep` de-identifies
the neighbors with nothing open and no activity for HEART_RETENTION_DAYS, live and in the
history, and the published numbers do not change."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation
from rest_framework.test import APIClient

from heart_cases import retention
from heart_cases.models import (
    AccessLog,
    Case,
    CaseNote,
    Contact,
    FieldResponse,
    Neighbor,
    NeighborPhone,
)
from heart_cases.services import case_close
from navigation.models import ContactAttempt, FollowUpTask, Notification
from referrals.models import Referral

pytestmark = pytest.mark.django_db

# Eight years on: everything the demo city did is past the seven-year rule.
LATER = timedelta(days=2557 + 365)


@pytest.fixture
def demo(roles: Any) -> None:
    call_command("seed_demo", "--responses", "40", "--days", "21", stdout=StringIO())
    # Birth dates on 1 January would move a band (the rule keeps the year only): the demo has none.
    assert not Neighbor.objects.filter(date_of_birth__month=1, date_of_birth__day=1).exists()


def metrics(start: date, end: date) -> dict[str, Any]:
    analyst = APIClient()
    analyst.force_authenticate(get_user_model().objects.get(username="analyst"))
    response = analyst.get("/api/v1/metrics/", {"start": str(start), "end": str(end)})
    assert response.status_code == 200, response.content
    body = response.json()
    body.pop("facts_as_of")
    body["period"].pop("computed_at")
    return body


def sweep_later(**options: Any) -> str:
    out = StringIO()
    with time_machine.travel(timezone.now() + LATER, tick=False):
        call_command("retention_sweep", *options.get("args", ()), stdout=out)
    return out.getvalue()


def identifying(neighbor_ids: list[int]) -> dict[str, list[Any]]:
    """Every identifying value still held, live or in the history, for these records."""
    held: dict[str, list[Any]] = {}
    for erased in retention.ERASED:
        models = [erased.model]
        if hasattr(erased.model, "history"):
            models.append(erased.model.history.model)  # type: ignore[attr-defined]
        for model in models:
            rows = model.objects.filter(**{f"{erased.neighbor}__in": neighbor_ids})
            for name, blank in erased.blanks.items():
                if erased.delete and model is erased.model:
                    values = list(rows.values_list("pk", flat=True))
                else:
                    values = [v for v in rows.values_list(name, flat=True) if v != blank]
                if values:
                    held[f"{model._meta.label}.{name}"] = values[:3]
    return held


def identifiable_rows(neighbor_ids: set[int]) -> dict[str, set[int]]:
    """The live records, by model, that hold an identifying value (the sweep changes these)."""
    found = {}
    for erased in retention.ERASED:
        if erased.delete:
            continue
        rows = erased.model._default_manager.filter(**{f"{erased.neighbor}__in": neighbor_ids})
        pks = set(
            rows.exclude(retention._already_blank(erased.blanks)).values_list("pk", flat=True)
        )
        if pks:
            found[erased.label] = pks
    return found


def names(ids: set[int]) -> dict[int, tuple[Any, ...]]:
    rows = Neighbor.objects.filter(pk__in=ids)
    return {row[0]: row[1:] for row in rows.values_list("pk", *retention.NEIGHBOR_BLANKS)}


def test_the_sweep_erases_identity_everywhere_and_the_metrics_of_the_past_do_not_change(demo):
    today = timezone.localdate()
    year = (today - timedelta(days=365), today)
    before = metrics(*year)
    assert before["demographics"]["age_band"], before["demographics"]
    open_people = set(
        Case.objects.filter(status=Case.Status.OPEN).values_list("neighbor", flat=True)
    )
    closed_only = list(
        Neighbor.objects.exclude(pk__in=open_people)
        .filter(linked_to__isnull=True, linked_records__isnull=True)
        .values_list("pk", flat=True)
    )
    assert closed_only, "the demo has closed cases"
    assert open_people, "the demo has open cases"
    assert identifying(closed_only), "the demo's neighbors have names, phones, narratives"
    # A contact and a note (and a correction of it) on one of them.
    peer = get_user_model().objects.get(username="peer1")
    case = Case.objects.filter(neighbor_id__in=closed_only).first()
    Contact.objects.create(
        neighbor=case.neighbor,
        name="Rosa Diaz",
        relationship="sister",
        phone="+19195550199",
        created_by=peer,
    )
    note = CaseNote.objects.create(
        case=case, author=peer, at=timezone.now(), occurred_at=timezone.now(), text="Rosa says"
    )
    CaseNote.objects.create(
        case=case,
        author=peer,
        at=timezone.now(),
        occurred_at=timezone.now(),
        text="Rosa, not Rose",
        amends=note,
    )
    assert {"heart_cases.Contact.name", "heart_cases.CaseNote.text"} <= set(
        identifying(closed_only)
    )

    names_before = names(open_people)
    to_change = identifiable_rows(set(closed_only))
    assert {"heart_cases.Neighbor", "heart_cases.FieldResponse", "heart_cases.Contact"} <= set(
        to_change
    )
    out = sweep_later()

    erased = set(Neighbor.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    assert set(closed_only) <= erased
    assert not erased & open_people, "a neighbor with an open case is never erased"
    assert f"{len(erased)} neighbor records de-identified" in out
    assert identifying(sorted(erased)) == {}
    assert not NeighborPhone.objects.filter(neighbor__in=erased).exists()
    assert names(open_people) == names_before, "the others are untouched"
    # What the numbers count stays: the rows, their times, the demographics, the birth year.
    for neighbor in Neighbor.objects.filter(pk__in=erased):
        assert neighbor.display_name == f"Neighbor #{neighbor.pk}"
    assert Neighbor.objects.filter(pk__in=erased, birth_year__isnull=False).exists()
    assert FieldResponse.objects.filter(neighbor__in=erased).count() > 0
    # The history says the erasure happened, and who did it.
    row = Neighbor.history.filter(id=closed_only[0]).latest("history_date")
    assert row.history_user.username == "system:retention_sweep"
    assert "retention rule" in row.history_change_reason
    assert Neighbor.history.filter(id=closed_only[0]).count() > 1, "earlier versions stay"
    # Every record the sweep changed (of every model it erases in) has that row.
    for label, pks in to_change.items():
        model = next(e.model for e in retention.ERASED if e.label == label)
        by_sweep = model.history.filter(  # type: ignore[attr-defined]
            id__in=pks,
            history_user__username="system:retention_sweep",
            history_change_reason__startswith="Erased under the retention rule",
            history_type="~",
        )
        assert set(by_sweep.values_list("id", flat=True)) == pks, label
    deleted_phones = NeighborPhone.history.filter(
        neighbor_id__in=erased, history_type="-", history_user__username="system:retention_sweep"
    )
    assert deleted_phones.exists()
    entries = AccessLog.objects.filter(action=AccessLog.Action.ERASE)
    assert sorted(pk for entry in entries for pk in entry.object_ids) == sorted(erased)
    assert all(entry.user.username == "system:retention_sweep" for entry in entries)
    # Notifications named them: each keeps a title saying why, in its own language.
    notifications = Notification.objects.filter(notice__case__neighbor__in=erased)
    assert notifications.exists()
    for notification in notifications:
        with translation.override(notification.language):
            assert notification.title == str(retention.ERASED_TITLE)
        assert notification.body == ""

    assert metrics(*year) == before

    # Idempotent: the next night finds nothing more.
    assert "0 neighbor records de-identified" in sweep_later()


def test_a_record_with_anything_open_or_recent_is_not_due(demo):
    now = timezone.now() + LATER
    since = retention.cutoff(now)
    due = set(retention.due(since, limit=10_000))
    assert due
    pending = FollowUpTask.objects.filter(status=FollowUpTask.Status.PENDING)
    assert not due & set(pending.values_list("case__neighbor", flat=True))
    open_referrals = Referral.objects.filter(status__in=Referral.OPEN_STATUSES)
    assert not due & set(open_referrals.values_list("case__neighbor", flat=True))
    # An activity inside the period keeps the record: a call logged on one of its cases.
    attempt = ContactAttempt.objects.filter(case__neighbor__in=due).first()
    assert attempt is not None
    ContactAttempt.objects.filter(pk=attempt.pk).update(occurred_at=since + timedelta(days=1))
    assert attempt.case.neighbor_id not in set(retention.due(since, limit=10_000))


def test_linked_records_are_one_person_erased_together_or_not_at_all(demo):
    supervisor = get_user_model().objects.get(username="supervisor")
    now = timezone.now() + LATER
    since = retention.cutoff(now)
    open_case = Case.objects.filter(status=Case.Status.OPEN).first()
    quiet = Neighbor.objects.get(pk=retention.due(since, limit=1)[0])
    Neighbor.objects.filter(pk=quiet.pk).update(linked_to=open_case.neighbor)
    assert quiet.pk not in retention.due(since, limit=10_000)
    for case in Case.objects.filter(neighbor=open_case.neighbor, status=Case.Status.OPEN):
        case_close(actor=supervisor, case=case, outcome=Case.Outcome.UNABLE_TO_REACH, note="")
    # Closing settles the tasks and referrals; "today" is years before `now`: the whole person
    # is quiet, and both records are due.
    assert {quiet.pk, open_case.neighbor_id} <= set(retention.due(since, limit=10_000))


def test_a_dry_run_counts_and_changes_nothing(demo):
    out = sweep_later(args=["--dry-run"])
    assert "HEART_RETENTION_DAYS=2557" in out
    assert "are due; nothing was changed" in out
    assert not Neighbor.objects.filter(erased_at__isnull=False).exists()
    assert not AccessLog.objects.filter(action=AccessLog.Action.ERASE).exists()


def test_the_runtime_role_erases_history_only_through_the_function(demo):
    """History is append-only for the role the worker runs as; the sweep still works as it."""
    due = retention.due(retention.cutoff(timezone.now() + LATER), limit=5)
    actor = retention.system_actor(retention.ACTOR)
    role = "heart_test_runtime_retention"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
    call_command("db_runtime_role", role, stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        assert retention.erase(due, actor=actor) == len(due)
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE heart_cases_historicalneighbor SET first_name = 'rewritten'")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert identifying(due) == {}


def test_the_nightly_task_continues_itself_when_its_time_is_up(demo, monkeypatch):
    from heart_cases import tasks

    queued: list[str] = []
    monkeypatch.setattr(tasks, "RUN_SECONDS", -1.0)
    monkeypatch.setattr(tasks, "enqueue_now", lambda task, *args: queued.append(task.name))
    monkeypatch.setattr(retention.settings, "HEART_RETENTION_BATCH", 2)
    with time_machine.travel(timezone.now() + LATER, tick=False):
        assert tasks.retention_sweep() == 2
    assert queued == ["heart_cases.retention_sweep"]
    assert Neighbor.objects.filter(erased_at__isnull=False).count() == 2
