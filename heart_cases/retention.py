"""The retention rule: a neighbor the program has not worked with for HEART_RETENTION_DAYS is
de-identified (API.md, "Consent and privacy").

A neighbor is due when they have no open case, no pending follow-up and no open referral, and
nothing happened on their record (a response, a case opened or closed, a task done, a call, a
referral's change, a note, a contact, an edit) for the retention period; linked records are one
person, so a record is due only when every record of its person is. Erasing one:

- blanks the identifying fields (ERASED below): names, alias, phones, date of birth, addresses,
  narratives, notes and contacts, in the live rows and in every earlier version in the history;
- keeps what the published numbers count: every row, its times, program, outcome and the
  demographics (gender, race, ethnicity, language, housing), and of the birth date only the year
  (the age bands, heart_cases.models.Neighbor.birth_year);
- writes a history row for each changed record, by the system actor `system:retention_sweep`,
  whose reason says that the erasure happened, and one access-log entry (action `erase`) per batch.

On PostgreSQL the history tables are append-only for the runtime role (`db_runtime_role`): the
earlier versions are blanked by the function `heart_erase_history`, which runs with its owner's
rights and touches only the identifying columns of records already marked erased.

Idempotent: an erased record is never due again, and a batch is one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Case, Exists, Model, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import ExtractYear, Greatest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from .actors import system_actor
from .models import AccessLog, Neighbor
from .models import Case as NeighborCase
from .services import access_log_write

ACTOR = "retention_sweep"
ERASED_TITLE = gettext_lazy("Erased under the retention rule")
# Ages over 89 are themselves identifying (HIPAA's Safe Harbor): a birth year is kept no earlier
# than 90 years before the erasure. Every such neighbor is in the top band (65 and over) in any
# period the program published, so the bands do not change.
OLDEST_KEPT_AGE = 90


@dataclass(frozen=True)
class Erased:
    """The identifying fields of one model, and the path from it to its neighbor's id."""

    label: str
    neighbor: str
    blanks: dict[str, Any]
    delete: bool = False

    @property
    def model(self) -> type[Model]:
        return apps.get_model(self.label)


NEIGHBOR_BLANKS: dict[str, Any] = {
    "first_name": "",
    "last_name": "",
    "alias": "",
    "first_name_key": "",
    "last_name_key": "",
    "alias_key": "",
    "date_of_birth": None,
    "phone": "",
}

# Everything the erasure blanks, live and in the history. The PostgreSQL function in migration
# heart_cases 0009 blanks the same columns of the same history tables: change both together.
ERASED: tuple[Erased, ...] = (
    Erased("heart_cases.Neighbor", "id", NEIGHBOR_BLANKS),
    # Rows of phone numbers are nothing but the number: they go (the history keeps that they
    # were, not what they were).
    Erased("heart_cases.NeighborPhone", "neighbor_id", {"number": ""}, delete=True),
    Erased("heart_cases.Contact", "neighbor_id", {"name": "", "phone": "", "note": ""}),
    Erased(
        "heart_cases.FieldResponse",
        "neighbor_id",
        {"address": "", "latitude": None, "longitude": None, "narrative": ""},
    ),
    Erased("heart_cases.Case", "neighbor_id", {"outcome_note": ""}),
    Erased("heart_cases.CaseNote", "case__neighbor_id", {"text": ""}),
    Erased("heart_cases.Debrief", "field_response__neighbor_id", {"note": ""}),
    Erased("navigation.ContactAttempt", "case__neighbor_id", {"notes": ""}),
    Erased("referrals.Referral", "case__neighbor_id", {"reason": "", "status_note": ""}),
    Erased("referrals.Consent", "neighbor_id", {"withdrawal_note": ""}),
)


def retention_days() -> int:
    return int(settings.HEART_RETENTION_DAYS)


def batch_size() -> int:
    return max(1, int(settings.HEART_RETENTION_BATCH))


def cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=retention_days())


def _recent(model_label: str, neighbor: str, since: datetime, *fields: str) -> Exists:
    model = apps.get_model(model_label)
    recent = Q()
    for name in fields:
        recent |= Q(**{f"{name}__gte": since})
    return Exists(model.objects.filter(recent, **{neighbor: OuterRef("pk")}))


def _open(model_label: str, neighbor: str, **open_filter: Any) -> Exists:
    model = apps.get_model(model_label)
    return Exists(model.objects.filter(**{neighbor: OuterRef("pk")}, **open_filter))


def inactive(neighbors: QuerySet[Neighbor], since: datetime) -> QuerySet[Neighbor]:
    """The records among `neighbors`, not yet erased, with nothing open and nothing done since
    `since`. Each test is an indexed EXISTS on the neighbor's (or its cases') foreign key."""
    from navigation.models import ContactAttempt, FollowUpTask
    from referrals.models import Referral

    return neighbors.filter(
        erased_at__isnull=True,
        created_at__lt=since,
        updated_at__lt=since,
    ).exclude(
        _open("heart_cases.Case", "neighbor", status=NeighborCase.Status.OPEN)
        | _open("navigation.FollowUpTask", "case__neighbor", status=FollowUpTask.Status.PENDING)
        | _open("referrals.Referral", "case__neighbor", status__in=Referral.OPEN_STATUSES)
        | _recent("heart_cases.FieldResponse", "neighbor", since, "responded_at", "created_at")
        | _recent("heart_cases.Case", "neighbor", since, "opened_at", "closed_at")
        | _recent("navigation.FollowUpTask", "case__neighbor", since, "completed_at", "resolved_at")
        | Exists(
            ContactAttempt.objects.filter(
                Q(occurred_at__gte=since) | Q(created_at__gte=since),
                case__neighbor=OuterRef("pk"),
            )
        )
        | _recent("referrals.Referral", "case__neighbor", since, "status_changed_at", "updated_at")
        | _recent("referrals.Consent", "neighbor", since, "withdrawn_at", "created_at")
        | _recent("heart_cases.CaseNote", "case__neighbor", since, "at")
        | _recent("heart_cases.Contact", "neighbor", since, "created_at")
    )


def due(since: datetime, *, after: int = 0, limit: int = 500) -> list[int]:
    """Up to `limit` ids above `after` of records due for erasure, in id order. A record linked
    to another (or that others are linked to) is due only when its whole person is."""
    ids = list(
        inactive(Neighbor.objects.filter(pk__gt=after), since)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return ids
    linked = {
        pk: root or pk
        for pk, root in Neighbor.objects.filter(
            Q(pk__in=ids) & (Q(linked_to__isnull=False) | Q(linked_records__isnull=False))
        ).values_list("pk", "linked_to_id")
    }
    if not linked:
        return ids
    roots = set(linked.values())
    members = dict(
        Neighbor.objects.filter(Q(pk__in=roots) | Q(linked_to__in=roots)).values_list(
            "pk", "linked_to_id"
        )
    )
    people: dict[int, set[int]] = {}
    for pk, root in members.items():
        people.setdefault(root or pk, set()).add(pk)
    everyone = set().union(*people.values())
    quiet = set(
        inactive(Neighbor.objects.filter(pk__in=everyone), since).values_list("pk", flat=True)
    )
    return [pk for pk in ids if pk not in linked or people[linked[pk]] <= quiet]


def erase(ids: list[int], *, actor: User, now: datetime | None = None) -> int:
    """De-identify these neighbor records (due ones: the caller checked) in one transaction.
    Returns how many were erased; a record already erased is skipped. Set-based: a few
    statements per model for the whole batch, the history rows written by INSERT … SELECT."""
    now = now or timezone.now()
    reason = (
        f"Erased under the retention rule: no activity for {retention_days()} days. "
        "Identifying fields blanked here and in the earlier versions."
    )
    with transaction.atomic():
        ids = list(
            Neighbor.objects.select_for_update()
            .filter(pk__in=ids, erased_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        # The birth year is computed from the birth date the same statement blanks (SQL reads
        # the row as it was).
        Neighbor.objects.filter(pk__in=ids).update(
            **NEIGHBOR_BLANKS,
            birth_year=Case(
                When(date_of_birth__isnull=True, then=None),
                default=Greatest(ExtractYear("date_of_birth"), Value(now.year - OLDEST_KEPT_AGE)),
            ),
            erased_at=now,
            updated_at=now,
        )
        _history(Neighbor.objects.filter(pk__in=ids), actor=actor, reason=reason, now=now)
        for erased in ERASED[1:]:
            _erase_live(erased, ids, actor=actor, reason=reason, now=now)
        _erase_notifications(ids)
        erase_history(ids)
        access_log_write(
            user=actor,
            action=AccessLog.Action.ERASE,
            object_type="neighbor",
            object_ids=ids,
            path="manage.py retention_sweep",
            reason=reason,
        )
    return len(ids)


def _erase_live(erased: Erased, ids: list[int], *, actor: User, reason: str, now: datetime) -> None:
    model = erased.model
    rows = model._default_manager.filter(**{f"{erased.neighbor}__in": ids})
    if erased.delete:
        # The history's row for the deletion copies the record; erase_history blanks it.
        _history(rows, actor=actor, reason=reason, now=now, history_type="-")
        rows._raw_delete(rows.db)  # type: ignore[attr-defined]  # its history is written above
        return
    pks = list(rows.exclude(_already_blank(erased.blanks)).values_list("pk", flat=True))
    if not pks:
        return
    model._default_manager.filter(pk__in=pks).update(**erased.blanks)
    _history(model._default_manager.filter(pk__in=pks), actor=actor, reason=reason, now=now)


def _already_blank(blanks: dict[str, Any]) -> Q:
    condition = Q()
    for name, blank in blanks.items():
        condition &= Q(**{f"{name}__isnull": True}) if blank is None else Q(**{name: blank})
    return condition


def _history(
    rows: QuerySet[Any],
    *,
    actor: User,
    reason: str,
    now: datetime,
    history_type: str = "~",
) -> None:
    """One history row per record of `rows`, as it is now, by the sweep's actor, saying that
    the erasure happened: one INSERT … SELECT (simple-history's own bulk_history_create
    builds every row in Python, which costs the sweep most of its time)."""
    model = rows.model
    if not hasattr(model, "history"):
        return
    historical = model.history.model  # type: ignore[attr-defined]
    fields = list(historical.tracked_fields)
    select, params = (
        rows.order_by().values_list(*(field.attname for field in fields)).query.sql_with_params()
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(historical._meta.db_table)} ({columns}, "  # noqa: S608
            f"{quote('history_date')}, {quote('history_type')}, "
            f"{quote('history_change_reason')}, {quote('history_user_id')}) "
            f"SELECT source.*, %s, %s, %s, %s FROM ({select}) AS source",
            [now, history_type, reason, actor.pk, *params],
        )


def _erase_notifications(ids: list[int]) -> None:
    """Notifications about these neighbors' cases name them in their title and body: each
    keeps only a title saying why, in the language it was written in."""
    from navigation.models import Notification

    titles = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            titles.append(When(language=code, then=Value(str(ERASED_TITLE))))
    with translation.override(settings.LANGUAGE_CODE):
        default = Value(str(ERASED_TITLE))
    Notification.objects.filter(notice__case__neighbor_id__in=ids).update(
        title=Case(*titles, default=default), body=""
    )


def erase_history(ids: list[int]) -> None:
    """Blank the identifying fields in the earlier versions of these (erased) records."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT heart_erase_history(%s::bigint[])", [ids])
        return
    for erased in ERASED:
        model = erased.model
        if not hasattr(model, "history"):
            continue
        historical = model.history.model  # type: ignore[attr-defined]
        historical.objects.filter(**{f"{erased.neighbor}__in": ids}).exclude(
            _already_blank(erased.blanks)
        ).update(**erased.blanks)


def batches(since: datetime, *, size: int) -> Iterator[list[int]]:
    after = 0
    while ids := due(since, after=after, limit=size):
        yield ids
        after = ids[-1]


def erasing(now: datetime, *, size: int | None = None) -> Iterator[int]:
    """Erase every record due at `now`, a batch per transaction, yielding each batch's count.
    After each batch it rests HEART_RETENTION_PAUSE times as long as the batch took, so that
    the people working meanwhile keep most of the machine. Safe to run twice or side by side:
    a batch locks its rows and skips those already erased."""
    actor = system_actor(ACTOR)
    pause = max(0.0, float(settings.HEART_RETENTION_PAUSE))
    for ids in batches(cutoff(now), size=size or batch_size()):
        started = time.monotonic()
        erased = erase(ids, actor=actor, now=now)
        yield erased
        if pause:
            time.sleep((time.monotonic() - started) * pause)
