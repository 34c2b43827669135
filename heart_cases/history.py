"""simple-history's HistoricalRecords, with one change: the history manager class is built
once per queryset class instead of on every access.

simple-history reads `instance.history` to find the historical model each time it writes a
history row, and its descriptor builds a new manager class from the queryset class on every
read (`Manager.from_queryset`, which walks the queryset's members with `inspect`). An intake
writes five history rows; building those classes was about a tenth of its Python time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, connections, models, router
from django.db.models import sql
from django.utils import timezone
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords as _HistoricalRecords


class _BuiltOnceHistoryManager(HistoryManager):
    @classmethod
    @cache
    def from_queryset(cls, queryset_class: Any, class_name: str | None = None) -> Any:
        return super().from_queryset(queryset_class, class_name)


class HistoricalRecords(_HistoricalRecords):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("history_manager", _BuiltOnceHistoryManager)
        super().__init__(*args, **kwargs)


# The columns simple-history writes beside a copy of the record's own.
_HISTORY_OWN = ("history_id", "history_date", "history_type", "history_user_id")


def insert_with_history(instance: Any) -> Any:
    """Save a new record and its "+" history row in one statement on PostgreSQL (a data-modifying
    WITH), instead of simple-history's second INSERT after post_save. The history row is the one
    simple-history would write: the same columns (its excluded fields left out), the actor and
    reason `stamp` put on the instance, the time now. Elsewhere, or for anything this does not
    cover (an instance without a stamped actor, a pk already set, inherited models), save().

    Saves on these models send no other post_save (tests/heart_cases/test_history_insert.py
    fails if a receiver is added), so skipping the signal skips only the history row this
    statement writes."""
    model: type[models.Model] = type(instance)
    meta = model._meta
    plan = _insert_plan(model) if connection.vendor == "postgresql" else None
    # Values the INSERT computes (an expression), read back like the database's defaults.
    computed = [
        f for f in meta.local_concrete_fields if hasattr(f.value_from_object(instance), "as_sql")
    ]
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        instance.save()
        if computed:
            instance.refresh_from_db(fields=[f.attname for f in computed])
        return instance
    if (
        plan is None
        or instance._state.adding is False
        or instance.pk is not None
        or not hasattr(instance, "_history_user")
    ):
        if computed:
            # save() would write the history row from the expression, computing it again.
            raise TypeError(
                f"{model.__name__}: a computed value needs insert_with_history's statement"
            )
        instance.save()
        return instance
    history_table, history_columns, copied = plan
    returning = [
        *meta.db_returning_fields,
        *(f for f in computed if f not in meta.db_returning_fields),
    ]
    if any(f.column not in copied for f in returning):
        raise TypeError(f"{model.__name__}: a computed value must be kept in its history")
    using = router.db_for_write(model, instance=instance)
    instance._prepare_related_fields_for_save(operation_name="save")
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = sql.InsertQuery(model)
    query.insert_values(fields, [instance])
    [(insert_sql, insert_params)] = query.get_compiler(using=using).as_sql()
    quote = connection.ops.quote_name
    user = instance._history_user
    extra = [
        getattr(instance, "_history_date", None) or timezone.now(),
        "+",
        getattr(instance, "_change_reason", None),
        user.pk if user is not None else None,
    ]
    statement = (
        f"WITH ins AS ({insert_sql} RETURNING *) "  # noqa: S608 (names from the models)
        f"INSERT INTO {quote(history_table)} ({', '.join(map(quote, history_columns))}) "
        f"SELECT {', '.join(f'ins.{quote(c)}' for c in copied)}, %s, %s, %s, %s FROM ins "
        f"RETURNING {', '.join(quote(str(f.column)) for f in returning)}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(statement, [*insert_params, *extra])
        row = cursor.fetchone()
    # What save() sets from its RETURNING: the id and the columns the database defaults.
    for value, field in zip(row, returning, strict=True):
        setattr(instance, field.attname, value)
    instance._state.adding = False
    instance._state.db = using
    return instance


@cache
def _insert_plan(model: type[models.Model]) -> tuple[str, list[str], list[str]] | None:
    """The history table, its columns in order (the copied ones, then date, type, reason and
    user), and the copied ones; None where one statement would not write what simple-history
    writes."""
    meta = model._meta
    history = getattr(model, "history", None)
    returning = meta.db_returning_fields
    if history is None or meta.parents or any(hasattr(f, "from_db_value") for f in returning):
        return None
    own = {f.column for f in meta.local_concrete_fields if not f.generated}
    copied: list[str] = []
    for field in history.model._meta.concrete_fields:
        if field.attname in _HISTORY_OWN or field.attname == "history_change_reason":
            continue
        if field.column not in own:
            return None
        copied.append(field.column)
    if any(f.column not in copied for f in returning):
        return None
    columns = [*copied, "history_date", "history_type", "history_change_reason", "history_user_id"]
    return history.model._meta.db_table, columns, copied
