"""The access log stays append-only on PostgreSQL for everyone the application runs as: a trigger
refuses TRUNCATE even to the table's owner, and the runtime role that `db_runtime_role` sets up
can read and append to it but not change, empty, alter, drop or un-trigger it."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg import errors

from heart_cases.models import AccessLog, Case, Neighbor

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="roles and triggers are PostgreSQL's"
)


def fresh_role_name(kind: str) -> str:
    # Roles are cluster-wide: a name no other test run (or helper) can have.
    return f"heart_test_{kind}_{uuid.uuid4().hex[:12]}"


def log_entry() -> AccessLog:
    return AccessLog.objects.create(action="view", object_type="case", object_ids=[1], case_id=1)


@pytest.mark.django_db
def test_truncate_is_refused_even_to_the_tables_owner():
    log_entry()
    owner = fresh_role_name("owner")
    with connection.cursor() as cursor:
        # Inside the test's transaction: the role and the change of owner roll back with it.
        cursor.execute(f'CREATE ROLE "{owner}" NOLOGIN')
        cursor.execute(f'ALTER TABLE heart_cases_accesslog OWNER TO "{owner}"')
        with (
            pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
            transaction.atomic(),
        ):
            cursor.execute(f'SET LOCAL ROLE "{owner}"; TRUNCATE heart_cases_accesslog')
    assert AccessLog.objects.count() == 1


@pytest.mark.django_db
def test_the_grant_command_refuses_a_superuser_and_a_role_that_does_not_exist():
    with pytest.raises(CommandError, match="superuser"):
        call_command("db_runtime_role", connection.settings_dict["USER"])
    with pytest.raises(CommandError, match="no role"):
        call_command("db_runtime_role", fresh_role_name("missing"))


@pytest.mark.django_db
def test_the_grant_command_refuses_a_member_of_the_tables_owner():
    owner, member = fresh_role_name("owner"), fresh_role_name("member")
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{owner}" NOLOGIN')
        cursor.execute(f'CREATE ROLE "{member}" NOLOGIN IN ROLE "{owner}"')
        cursor.execute(f'ALTER TABLE heart_cases_accesslog OWNER TO "{owner}"')
    with pytest.raises(CommandError, match="owns the tables"):
        call_command("db_runtime_role", member)


@pytest.mark.django_db
def test_the_grant_command_refuses_a_role_that_may_update_the_log_through_public():
    role = fresh_role_name("runtime")
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        cursor.execute("GRANT UPDATE ON heart_cases_accesslog TO PUBLIC")
    with pytest.raises(CommandError, match="UPDATE on heart_cases_accesslog"):
        call_command("db_runtime_role", role)


@pytest.fixture
def runtime_role(transactional_db: Any) -> Iterator[dict[str, Any]]:
    """A login role set up as production's runtime role, committed so another connection can
    log in as it; dropped, with its privileges, at the end."""
    name, password = fresh_role_name("runtime"), secrets.token_hex(16)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")
    try:
        with connection.cursor() as cursor:
            # As if it had once been given everything: the command takes back what it must.
            cursor.execute(f'GRANT ALL ON heart_cases_accesslog TO "{name}"')
        call_command("db_runtime_role", name)
        call_command("db_runtime_role", name)  # idempotent: run after every migrate
        settings = connection.settings_dict
        yield {
            "host": settings["HOST"] or None,
            "port": settings["PORT"] or None,
            "dbname": settings["NAME"],
            "user": name,
            "password": password,
        }
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


REFUSED_ON_THE_ACCESS_LOG = [
    "UPDATE heart_cases_accesslog SET action = 'list'",
    "DELETE FROM heart_cases_accesslog",
    "TRUNCATE heart_cases_accesslog",
    "ALTER TABLE heart_cases_accesslog DISABLE TRIGGER ALL",
    "ALTER TABLE heart_cases_accesslog DISABLE TRIGGER heart_access_log_append_only",
    "ALTER TABLE heart_cases_accesslog DISABLE TRIGGER heart_access_log_no_truncate",
    "DROP TRIGGER heart_access_log_append_only ON heart_cases_accesslog",
    "ALTER TABLE heart_cases_accesslog ADD COLUMN note text",
    "DROP TABLE heart_cases_accesslog",
    # Triggers do not fire for a session in replica mode; only a superuser may ask for it.
    "SET session_replication_role = replica",
]

REFUSED_ON_HISTORY = [
    "UPDATE heart_cases_historicalcase SET outcome_note = 'rewritten'",
    "DELETE FROM heart_cases_historicalcase",
    "TRUNCATE heart_cases_historicalcase",
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_runtime_role_appends_to_the_access_log_but_cannot_alter_empty_or_untrigger_it(
    runtime_role,
):
    entry = log_entry()
    neighbor = Neighbor.objects.create(first_name="Ana", last_name="Diaz")
    case = Case.objects.create(number="HC-T-1", neighbor=neighbor, opened_at=timezone.now())
    with psycopg.connect(**runtime_role, autocommit=True) as runtime:
        # What the application does at run time works.
        runtime.execute(
            "INSERT INTO heart_cases_accesslog "
            "(at, action, object_type, object_ids, outcome, request_id, path) "
            "VALUES (now(), 'view', 'case', '[2]', 'allowed', '', '/cases/2/')"
        )
        assert runtime.execute("SELECT count(*) FROM heart_cases_accesslog").fetchone() == (2,)
        updated = runtime.execute(
            "UPDATE heart_cases_case SET outcome_note = 'called' WHERE id = %s", [case.pk]
        )
        assert updated.rowcount == 1
        number = runtime.execute(
            "INSERT INTO heart_cases_casenumber (created_at) VALUES (now()) RETURNING id"
        ).fetchone()
        assert number is not None
        deleted = runtime.execute("DELETE FROM heart_cases_casenumber WHERE id = %s", number)
        assert deleted.rowcount == 1
        # Deleting a user clears history_user_id on every history table (SET_NULL).
        runtime.execute("UPDATE heart_cases_historicalcase SET history_user_id = NULL")

        for statement in REFUSED_ON_THE_ACCESS_LOG + REFUSED_ON_HISTORY:
            with pytest.raises(errors.InsufficientPrivilege):
                runtime.execute(statement)

    entries = AccessLog.objects.order_by("id")
    assert [(e.pk, e.action) for e in entries][:1] == [(entry.pk, "view")]
    assert entries.count() == 2
    assert Case.history.filter(id=case.pk).count() == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'heart_cases_accesslog'::regclass "
            "AND tgenabled = 'O' ORDER BY tgname"
        )
        enabled = [name for (name,) in cursor.fetchall()]
    assert enabled == ["heart_access_log_append_only", "heart_access_log_no_truncate"]
