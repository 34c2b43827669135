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
from django.db.models import Expression, sql
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
    insert_all_with_history(instance)
    return instance


class _EarlierRow(Expression):
    """The id of a record inserted earlier in the same statement: its CTE's RETURNING."""

    def __init__(self, alias: str, column: str) -> None:
        super().__init__()
        self.alias, self.column = alias, column

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        # The alias is ours and the column comes from the model.
        return f"(SELECT {connection.ops.quote_name(self.column)} FROM {self.alias})", ()  # noqa: S608


def insert_all_with_history(*instances: Any) -> None:
    """insert_with_history for several new records, in the order given, in ONE statement on
    PostgreSQL: each record and its history row is a pair of data-modifying CTEs, and a record
    whose foreign key points to an earlier one of them (an unsaved instance, as
    `NeighborPhone(neighbor=neighbor)`) takes that one's id from its CTE. One round trip for a
    new neighbor's phone, case and field response instead of four. Anything one statement does
    not cover is saved one by one, as insert_with_history always did."""
    if not instances:
        return
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True) or connection.vendor != "postgresql":
        for instance in instances:
            _save_one(instance, plan=None)
        return
    models: list[Any] = [type(instance) for instance in instances]
    if any(
        _insert_plan(model) is None or not _one_statement_covers(instance)
        for model, instance in zip(models, instances, strict=True)
    ):
        for model, instance in zip(models, instances, strict=True):
            _save_one(instance, plan=_insert_plan(model))
        return
    using = router.db_for_write(type(instances[0]), instance=instances[0])
    quote = connection.ops.quote_name
    parts: list[str] = []
    params: list[Any] = []
    returned: list[tuple[Any, list[Any], str]] = []
    restore: list[tuple[Any, str, Any]] = []
    aliases = {id(instance): f"r{k}" for k, instance in enumerate(instances)}
    for k, instance in enumerate(instances):
        model = models[k]
        meta = model._meta
        alias = f"r{k}"
        # A relation to an earlier record of this statement: its id from that record's CTE.
        for field in meta.local_concrete_fields:
            if not field.is_relation or not field.is_cached(instance):
                continue
            target = field.get_cached_value(instance)
            if target is not None and target.pk is None and id(target) in aliases:
                restore.append((instance, field.name, target))
                setattr(
                    instance,
                    field.attname,
                    _EarlierRow(aliases[id(target)], field.target_field.column),
                )
        plan = _insert_plan(model)
        assert plan is not None  # noqa: S101 (checked above; for the type checker)
        history_table, history_columns, copied = plan
        computed = _computed(instance)
        returning = [
            *meta.db_returning_fields,
            *(f for f in computed if f not in meta.db_returning_fields),
        ]
        if any(f.column not in copied for f in returning):
            raise TypeError(f"{model.__name__}: a computed value must be kept in its history")
        instance._prepare_related_fields_for_save(operation_name="save")
        fields = [
            f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field
        ]
        query = sql.InsertQuery(model)
        query.insert_values(fields, [instance])
        [(insert_sql, insert_params)] = query.get_compiler(using=using).as_sql()
        user = instance._history_user
        parts.append(f"{alias} AS ({insert_sql} RETURNING *)")
        params += insert_params
        parts.append(
            f"h{alias} AS (INSERT INTO {quote(history_table)} "  # noqa: S608 (names from the models)
            f"({', '.join(map(quote, history_columns))}) "
            f"SELECT {', '.join(f'{alias}.{quote(c)}' for c in copied)}, %s, %s, %s, %s "
            f"FROM {alias})"
        )
        params += [
            getattr(instance, "_history_date", None) or timezone.now(),
            "+",
            getattr(instance, "_change_reason", None),
            user.pk if user is not None else None,
        ]
        returned.append((instance, returning, alias))
    select = ", ".join(
        f"{alias}.{quote(str(f.column))}" for _, returning, alias in returned for f in returning
    )
    sources = ", ".join(alias for _, _, alias in returned)
    statement = f"WITH {', '.join(parts)} SELECT {select} FROM {sources}"  # noqa: S608
    with connections[using].cursor() as cursor:
        cursor.execute(statement, params)
        row = list(cursor.fetchone())
    # What save() sets from its RETURNING: the id and the columns the database defaults.
    for instance, returning, _alias in returned:
        values, row = row[: len(returning)], row[len(returning) :]
        for value, field in zip(values, returning, strict=True):
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = using
    for instance, name, target in restore:
        setattr(instance, name, target)


def _one_statement_covers(instance: Any) -> bool:
    return (
        instance._state.adding is not False
        and instance.pk is None
        and hasattr(instance, "_history_user")
    )


def _computed(instance: Any) -> list[Any]:
    """Values the INSERT computes (an expression), read back like the database's defaults."""
    return [
        f
        for f in instance._meta.local_concrete_fields
        if hasattr(f.value_from_object(instance), "as_sql")
    ]


def _save_one(instance: Any, *, plan: Any) -> None:
    """One record by save() (simple-history's post_save writes its history row), or by its own
    one statement where that covers it."""
    computed = _computed(instance)
    if plan is None:
        if getattr(settings, "SIMPLE_HISTORY_ENABLED", True) and computed:
            raise TypeError(
                f"{type(instance).__name__}: a computed value needs insert_with_history's statement"
            )
        instance.save()
        if computed:
            instance.refresh_from_db(fields=[f.attname for f in computed])
        return
    if not _one_statement_covers(instance):
        if computed:
            # save() would write the history row from the expression, computing it again.
            raise TypeError(
                f"{type(instance).__name__}: a computed value needs insert_with_history's statement"
            )
        instance.save()
        return
    insert_all_with_history(instance)


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
