"""Give the database role that gunicorn and Celery connect as what the application needs at run
time, and keep the audit trail append-only for it.

The tables' owner runs migrations and then this command, after every `migrate` (it is
idempotent: it first takes back what it grants, so it also corrects a role that was given too
much). The runtime role owns nothing, so it cannot ALTER, DROP or un-trigger any table, and:

- reads and writes every table of the schema (SELECT, INSERT, UPDATE, DELETE) and uses its
  sequences (USAGE, SELECT: `nextval`, never `setval`);
- only reads and appends to the access log (SELECT, INSERT);
- only reads and appends to the history tables (simple-history), except that it may clear a
  row's `history_user_id`: Django does that to every history table when a user is deleted
  (the column is SET_NULL), and refusing it would make deleting any account fail;
- may blank a de-identified neighbor's identifying fields in the history only through the
  function `heart_erase_history` (the retention sweep, heart_cases.retention);
- may also TRUNCATE the metrics tables, which the beat task empties when it rebuilds them
  (derived data, `metrics.facts`).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from simple_history.models import HistoricalChanges

from heart_cases.models import AccessLog

# Apps whose tables the application empties at run time (the metrics rebuild).
EMPTIED_AT_RUN_TIME = ("metrics",)
# What the runtime role must not hold on an append-only table, however it came by it (directly,
# through a group, or from PUBLIC).
NOT_ON_APPEND_ONLY = ("UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def quote(identifier: str) -> str:
    """An SQL identifier, quoted; unlike `quote_name`, safe for any role name."""
    return '"' + identifier.replace('"', '""') + '"'


class Command(BaseCommand):
    help = (
        "Grant ROLE what the application needs at run time; the access log and the history "
        "tables stay append-only for it. Run as the tables' owner after every migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="The role in the DATABASE_URL of gunicorn and Celery.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are PostgreSQL's; this database has none.")
        role = options["role"]
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            check_role(cursor, role)
            for statement in runtime_grants(connection, cursor, role):
                cursor.execute(statement)
            check_append_only(cursor, role)
        self.stdout.write(
            f"{role} may now run the application; the access log and {len(history_models())} "
            "history tables are append-only for it."
        )


def history_models() -> list[type[Model]]:
    return sorted(
        (model for model in apps.get_models() if issubclass(model, HistoricalChanges)),
        key=lambda model: model._meta.db_table,
    )


def check_role(cursor: Any, role: str) -> None:
    cursor.execute(
        "SELECT r.rolsuper, pg_has_role(r.oid, c.relowner, 'MEMBER') "
        "FROM pg_catalog.pg_roles r, pg_catalog.pg_class c "
        "WHERE r.rolname = %s AND c.oid = %s::regclass",
        [role, AccessLog._meta.db_table],
    )
    row = cursor.fetchone()
    if row is None:
        raise CommandError(f"There is no role {role!r}; create it first (CREATE ROLE … LOGIN).")
    superuser, owner = row
    if superuser:
        raise CommandError(f"{role} is a superuser: nothing can be refused to it.")
    if owner:
        raise CommandError(
            f"{role} owns the tables (or is a member of their owner): the runtime role must be "
            "another role, which owns nothing."
        )


def runtime_grants(connection: BaseDatabaseWrapper, cursor: Any, role: str) -> list[str]:
    """The statements, in order: take everything back, then grant what run time needs."""
    cursor.execute(
        "SELECT current_database(), n.nspname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s::regclass",
        [AccessLog._meta.db_table],
    )
    database, schema = cursor.fetchone()
    existing = set(connection.introspection.table_names(cursor))
    who = quote(role)
    tables = f"ALL TABLES IN SCHEMA {quote(schema)}"
    sequences = f"ALL SEQUENCES IN SCHEMA {quote(schema)}"
    statements = [
        f"GRANT CONNECT ON DATABASE {quote(database)} TO {who}",
        f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who}",
        # Revoking on a table also revokes its column privileges.
        f"REVOKE ALL ON {tables} FROM {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {who}",
        f"REVOKE ALL ON {sequences} FROM {who}",
        f"GRANT USAGE, SELECT ON {sequences} TO {who}",
        f"REVOKE UPDATE, DELETE ON TABLE {quote(AccessLog._meta.db_table)} FROM {who}",
    ]
    for model in history_models():
        if model._meta.db_table not in existing:
            continue
        table = quote(model._meta.db_table)
        statements.append(f"REVOKE UPDATE, DELETE ON TABLE {table} FROM {who}")
        for field in model._meta.concrete_fields:
            if field.name == "history_user" and field.column:
                column = quote(field.column)
                statements.append(f"GRANT UPDATE ({column}) ON TABLE {table} TO {who}")
    # The retention sweep blanks a de-identified neighbor's earlier versions through this one
    # function (migration heart_cases 0009), which runs with the owner's rights.
    cursor.execute("SELECT to_regprocedure('heart_erase_history(bigint[])') IS NOT NULL")
    if cursor.fetchone()[0]:
        statements.append(f"GRANT EXECUTE ON FUNCTION heart_erase_history(bigint[]) TO {who}")
    for label in EMPTIED_AT_RUN_TIME:
        if not apps.is_installed(label):
            continue
        for model in apps.get_app_config(label).get_models():
            if model._meta.db_table in existing:
                statements.append(f"GRANT TRUNCATE ON TABLE {quote(model._meta.db_table)} TO {who}")
    return statements


def check_append_only(cursor: Any, role: str) -> None:
    """What the role holds in effect, through a group or PUBLIC too: none of NOT_ON_APPEND_ONLY
    on the append-only tables, and no column of the access log to UPDATE or REFERENCE."""
    tables = [AccessLog._meta.db_table, *(model._meta.db_table for model in history_models())]
    cursor.execute(
        "SELECT t.name, p.privilege FROM unnest(%s::text[]) AS t(name), "
        "unnest(%s::text[]) AS p(privilege) WHERE to_regclass(t.name) IS NOT NULL AND ("
        "has_table_privilege(%s, to_regclass(t.name), p.privilege) OR (t.name = %s "
        "AND p.privilege IN ('UPDATE', 'REFERENCES') "
        "AND has_any_column_privilege(%s, to_regclass(t.name), p.privilege)))",
        [tables, list(NOT_ON_APPEND_ONLY), role, AccessLog._meta.db_table, role],
    )
    held = cursor.fetchall()
    if held:
        granted = ", ".join(f"{privilege} on {table}" for table, privilege in held)
        raise CommandError(
            f"{role} still holds {granted} (through a group or PUBLIC?); nothing was changed."
        )
