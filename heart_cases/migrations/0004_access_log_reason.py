"""Break the glass and access review (issue 16): each access-log entry can carry the reason a
navigator gave for opening a case outside their pair, with a partial index of those entries;
and, on PostgreSQL, a GIN index on `object_ids`, so that a review of one case or neighbor also
finds the list and search entries that showed it (they name it in `object_ids`, not in
`case_id`).

Adding a column rewrites no row (PostgreSQL keeps a constant default in the catalog), so the
append-only triggers of 0002 and 0003 are not involved; the column keeps its default in the
database, so that a writer that predates it (an old worker during a deploy) still appends.
"""

from __future__ import annotations

from django.db import migrations, models

CREATE_GIN = """
CREATE INDEX IF NOT EXISTS access_log_object_ids
    ON heart_cases_accesslog USING gin (object_ids jsonb_path_ops);
"""
DROP_GIN = "DROP INDEX IF EXISTS access_log_object_ids;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_GIN)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GIN)


class Migration(migrations.Migration):
    dependencies = [("heart_cases", "0003_access_log_refuses_truncate")]

    operations = [
        migrations.AddField(
            model_name="accesslog",
            name="reason",
            field=models.TextField(blank=True, default="", db_default=""),
        ),
        migrations.AddIndex(
            model_name="accesslog",
            index=models.Index(
                condition=~models.Q(reason=""), fields=["at"], name="access_log_break_glass"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
