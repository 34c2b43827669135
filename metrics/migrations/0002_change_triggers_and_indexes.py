"""What keeps the metrics facts current, and two indexes the metrics read by.

Triggers on the source tables note, in the writer's own transaction, which neighbor record or
case changed in a way the metrics see (metrics.facts folds the notes in before each read). They
only INSERT into metrics_factchange: they never block or change the writer's rows. Bulk loads
with session_replication_role = replica (the benchmarks) skip them and rebuild the facts.

The indexes: cases by opened_at (recounting the cases opened on a day) and referrals by
requested_at (the period's referral cohort). Both are on other apps' tables, created here so
that those apps' models stay as they are; `IF NOT EXISTS` and reversible.
"""

from __future__ import annotations

from django.db import migrations

# (table, kinds of change noted and from which column, columns whose change matters). The
# trigger SQL below is built from these constants only (hence the S608 exemptions).
WATCHED = [
    (
        "heart_cases_fieldresponse",
        [("n", "neighbor_id"), ("c", "case_id")],
        [
            "neighbor_id",
            "case_id",
            "responded_at",
            "program",
            "call_type",
            "disposition",
            "responder_felt_safe",
            "incident_number",
        ],
    ),
    (
        "heart_cases_neighbor",
        [("n", "id")],
        ["linked_to_id", "gender", "race", "ethnicity", "language", "unsheltered", "date_of_birth"],
    ),
    (
        "navigation_followuptask",
        [("c", "case_id")],
        ["case_id", "field_response_id", "kind", "status", "deadline", "completed_at"],
    ),
    ("navigation_contactattempt", [("c", "case_id")], ["case_id", "occurred_at", "outcome"]),
]

INDEXES = [
    ("metrics_case_opened_at", "heart_cases_case", "opened_at"),
    ("metrics_referral_requested_at", "referrals_referral", "requested_at"),
]


def _name(table: str) -> str:
    return f"metrics_note_{table}"


def _postgresql_create(table: str, notes: list[tuple[str, str]], columns: list[str]) -> str:
    def inserts(row: str) -> str:
        values = ", ".join(f"('{kind}', {row}.{column})" for kind, column in notes)
        return f"INSERT INTO metrics_factchange (kind, key) VALUES {values};"  # noqa: S608

    note_old = "INSERT INTO metrics_factchange (kind, key) VALUES ('{kind}', OLD.{column});"
    moved = " ".join(
        f"IF OLD.{column} IS DISTINCT FROM NEW.{column} THEN "
        + note_old.format(kind=kind, column=column)
        + " END IF;"
        for kind, column in notes
    )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    name = _name(table)
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN {inserts("OLD")} RETURN NULL; END IF;
    {inserts("NEW")}
    -- A row moved to another neighbor or case: the one it left changed too.
    IF TG_OP = 'UPDATE' THEN {moved} END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {name}_write ON {table};
DROP TRIGGER IF EXISTS {name}_update ON {table};
CREATE TRIGGER {name}_write AFTER INSERT OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {name}();
CREATE TRIGGER {name}_update AFTER UPDATE ON {table}
    FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {name}();
"""


def _postgresql_drop(table: str) -> str:
    name = _name(table)
    return f"""
DROP TRIGGER IF EXISTS {name}_write ON {table};
DROP TRIGGER IF EXISTS {name}_update ON {table};
DROP FUNCTION IF EXISTS {name}();
"""


def _sqlite_create(table: str, notes: list[tuple[str, str]], columns: list[str]) -> list[str]:
    def inserts(row: str) -> str:
        values = ", ".join(f"('{kind}', {row}.{column})" for kind, column in notes)
        return f"INSERT INTO metrics_factchange (kind, key) VALUES {values};"  # noqa: S608

    moved = " ".join(
        f"INSERT INTO metrics_factchange (kind, key) SELECT '{kind}', OLD.{column} "
        f"WHERE OLD.{column} IS NOT NEW.{column};"
        for kind, column in notes
    )
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    name = _name(table)
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name}_insert AFTER INSERT ON {table} "
        f"BEGIN {inserts('NEW')} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_delete AFTER DELETE ON {table} "
        f"BEGIN {inserts('OLD')} END",
        f"CREATE TRIGGER IF NOT EXISTS {name}_update AFTER UPDATE ON {table} "
        f"WHEN {changed} BEGIN {inserts('NEW')} {moved} END",
    ]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, notes, columns in WATCHED:
        if vendor == "postgresql":
            schema_editor.execute(_postgresql_create(table, notes, columns))
        elif vendor == "sqlite":
            for statement in _sqlite_create(table, notes, columns):
                schema_editor.execute(statement)
    for name, table, column in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, _notes, _columns in WATCHED:
        if vendor == "postgresql":
            schema_editor.execute(_postgresql_drop(table))
        elif vendor == "sqlite":
            for when in ("insert", "delete", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {_name(table)}_{when}")
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0001_initial"),
        ("heart_cases", "0002_access_log_append_only"),
        ("navigation", "0004_attempts_task_chain_duty_windows"),
        ("referrals", "0002_directory_consent_and_referrals"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
