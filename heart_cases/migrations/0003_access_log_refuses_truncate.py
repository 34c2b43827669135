"""The access log refuses TRUNCATE too (PostgreSQL): a statement-level trigger beside 0002's
row-level ones, which TRUNCATE does not fire.

A superuser is let through: it can disable any trigger or turn triggers off for its session
(`session_replication_role`), so refusing it would protect nothing, and the test runner,
connected as one, empties every table between transactional tests with TRUNCATE (`flush`). The
table's owner is refused (a `manage.py flush` against production stops here), and so is the
application's runtime role, which also lacks the privilege (`manage.py db_runtime_role`).
"""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION heart_access_log_no_truncate() RETURNS trigger AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'heart_cases_accesslog is append-only: TRUNCATE refused',
        ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER heart_access_log_no_truncate
    BEFORE TRUNCATE ON heart_cases_accesslog
    FOR EACH STATEMENT EXECUTE FUNCTION heart_access_log_no_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS heart_access_log_no_truncate ON heart_cases_accesslog;
DROP FUNCTION IF EXISTS heart_access_log_no_truncate();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("heart_cases", "0002_access_log_append_only")]

    operations = [migrations.RunPython(forwards, backwards)]
