"""Benchmark-only endpoints (HEART_BENCH_ENDPOINTS): baselines for intake's throughput.

`SqlRowsApi` is the floor under intake's own work (issue 19): the same authentication,
permission, JSON parsing and body validation as `POST /api/v1/field-responses/`, then the rows a
new neighbor's intake writes (neighbor, phone, case with its number from the counter, field
response, follow-up, and the history row of each of the five) inserted by one hand-written SQL
statement, with no matching, no locks, no schedule and nothing queued. What intake does beyond
it is its logic.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from navigation.models import FollowUpTask

from .actors import acting_user
from .api import FieldResponseInput
from .api_common import require_perms
from .models import Case, FieldResponse, Neighbor, NeighborPhone
from .services import NextCaseNumber, name_key

# In the statement's order: each row's alias and model (later rows name earlier ones' ids).
_ROWS: tuple[tuple[str, type[models.Model]], ...] = (
    ("n", Neighbor),
    ("ph", NeighborPhone),
    ("c", Case),
    ("fr", FieldResponse),
    ("t", FollowUpTask),
)


def _columns(model: type[models.Model], values: dict[str, Any]) -> list[tuple[str, Any]]:
    """(column, value) for every concrete column but the primary key: the given value, else
    the field's default (as an unsaved instance would save it)."""
    now = values.pop("__now__")
    out: list[tuple[str, Any]] = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in values:
            value = values[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        elif field.has_default():
            value = field.get_default()
        elif field.null:
            value = None
        else:
            value = "" if isinstance(field, models.CharField | models.TextField) else None
        if not isinstance(value, _Ref):
            value = field.get_db_prep_save(value, connection)
        out.append((str(field.column), value))
    return out


class _Ref:
    """The id of a row inserted earlier in the same statement (its CTE alias), or an SQL
    expression of it (of none: no alias)."""

    def __init__(self, alias: str, sql: str = "", params: tuple[Any, ...] = ()) -> None:
        self.alias, self.sql, self.params = alias, sql or f"{alias}.id", params


def _history_columns(
    model: type[models.Model], base: list[tuple[str, Any]], *, alias: str, extra: dict[str, Any]
) -> list[tuple[str, Any]]:
    """The history row of a row inserted as `alias`: the same values, its id, and who/when."""
    history = model.history.model  # type: ignore[attr-defined]
    given = dict(base)
    out: list[tuple[str, Any]] = []
    for field in history._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column == "id":
            out.append(("id", _Ref(alias)))
        elif field.column in given:
            out.append((field.column, given[field.column]))
        elif field.attname in extra:
            out.append((field.column, extra[field.attname]))
        elif field.has_default():
            out.append((field.column, field.get_db_prep_save(field.get_default(), connection)))
        else:
            out.append((field.column, None))
    return out


def _insert(
    table: str, columns: list[tuple[str, Any]], *, alias: str, returning: bool
) -> tuple[str, list[Any]]:
    quote = connection.ops.quote_name
    refs = sorted({value.alias for _, value in columns if isinstance(value, _Ref) and value.alias})
    select: list[str] = []
    params: list[Any] = []
    for _, value in columns:
        if isinstance(value, _Ref):
            select.append(value.sql)
            params.extend(value.params)
        else:
            select.append("%s")
            params.append(value)
    names = ", ".join(quote(column) for column, _ in columns)
    source = f" FROM {', '.join(refs)}" if refs else ""
    sql = f"{alias} AS (INSERT INTO {quote(table)} ({names}) SELECT {', '.join(select)}{source}" + (
        " RETURNING id)" if returning else ")"
    )
    return sql, params


def rows_insert(*, actor_id: int, data: Any) -> dict[str, Any]:
    """One statement: the ten rows of a new neighbor's intake."""
    now = timezone.now()
    person = data.neighbor
    reason = f"Field response {data.incident_number} from {data.unit}"
    deadline = data.responded_at + timedelta(hours=48)
    values: dict[str, dict[str, Any]] = {
        "n": {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "alias": person.alias,
            "first_name_key": name_key(person.first_name),
            "last_name_key": name_key(person.last_name),
            "alias_key": name_key(person.alias),
            "date_of_birth": person.date_of_birth,
            "phone": person.phone,
            "language": person.language,
            "unsheltered": person.unsheltered,
        },
        "ph": {"neighbor_id": _Ref("n"), "number": person.phone},
        "c": {"neighbor_id": _Ref("n"), "status": Case.Status.OPEN, "opened_at": now},
        "fr": {
            "incident_number": data.incident_number,
            "unit": data.unit,
            "program": data.program,
            "call_type": data.call_type,
            "responded_at": data.responded_at,
            "cleared_at": data.cleared_at,
            "address": data.address,
            "latitude": data.latitude,
            "longitude": data.longitude,
            "neighbor_id": _Ref("n"),
            "case_id": _Ref("c"),
            "needs": list(data.needs),
            "disposition": data.disposition,
            "follow_up_consent": data.follow_up_consent,
            "responder_felt_safe": data.responder_felt_safe,
            "narrative": data.narrative,
            "source": data.source,
            "recorded_by_id": actor_id,
        },
        "t": {
            "case_id": _Ref("c"),
            "field_response_id": _Ref("fr"),
            "kind": FollowUpTask.Kind.FOLLOW_UP,
            "status": FollowUpTask.Status.PENDING,
            "deadline": deadline,
            "work_by": deadline,
        },
    }
    extra = {
        "history_date": now,
        "history_type": "+",
        "history_change_reason": reason,
        "history_user_id": actor_id,
    }
    parts: list[str] = []
    params: list[Any] = []
    for alias, model in _ROWS:
        given = {**values[alias], "__now__": now}
        columns = _columns(model, given)
        if model is Case:
            # The case number from the counter's sequence, as case_open makes it.
            number_sql, number_args = NextCaseNumber(now).as_sql(None, connection)
            columns = [
                (column, _Ref("", number_sql, number_args))
                if column == "number"
                else (column, value)
                for column, value in columns
            ]
        sql, args = _insert(model._meta.db_table, columns, alias=alias, returning=True)
        parts.append(sql)
        params += args
        if hasattr(model, "history"):
            history = _history_columns(model, columns, alias=alias, extra=extra)
            sql, args = _insert(
                model.history.model._meta.db_table,  # type: ignore[attr-defined]
                history,
                alias=f"h{alias}",
                returning=False,
            )
            parts.append(sql)
            params += args
    # Names come from the models, values go as parameters.
    statement = "WITH " + ",\n".join(parts) + " SELECT n.id, c.id, fr.id, t.id FROM n, c, fr, t"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        neighbor_id, case_id, response_id, task_id = cursor.fetchone()
    return {
        "neighbor": neighbor_id,
        "case": case_id,
        "field_response": response_id,
        "task": task_id,
    }


class SqlRowsApi(APIView):
    """The floor for intake's writes; see the module's docstring."""

    permission_classes = [IsAuthenticated, require_perms("heart_cases.record_field_response")]

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        serializer = FieldResponseInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            ids = rows_insert(actor_id=acting_user(request).pk, data=serializer.to_input())
        return Response(ids, status=status.HTTP_201_CREATED)
