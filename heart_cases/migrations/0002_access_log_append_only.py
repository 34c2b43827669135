"""The access log is append-only: PostgreSQL refuses UPDATE and DELETE on it."""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION heart_access_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'heart_cases_accesslog is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER heart_access_log_append_only
    BEFORE UPDATE OR DELETE ON heart_cases_accesslog
    FOR EACH ROW EXECUTE FUNCTION heart_access_log_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS heart_access_log_append_only ON heart_cases_accesslog;
DROP FUNCTION IF EXISTS heart_access_log_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("heart_cases", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
