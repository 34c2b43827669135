"""The eligible calls' facts (metrics.models CallFact, CallDay, ResponseMinuteDay), and the
triggers that note, in the writer's own transaction, which eligible call changed: the call
itself, or a field response of its incident (a HEART unit's response, arrival or clear time).

On PostgreSQL the call's triggers are per statement, over its transition tables: the CAD's
batches write a thousand calls in one statement, and one INSERT … SELECT notes them all. The
field responses' trigger is per row, like migration 0002's: intake writes one at a time. Bulk
loads with session_replication_role = replica (the benchmarks) skip them and rebuild the facts.
"""

from django.db import migrations, models

CALLS = "calls_eligiblecall"
RESPONSES = "heart_cases_fieldresponse"
# A field response's columns whose change the call facts see.
RESPONSE_COLUMNS = ["incident_number", "responded_at", "dispatched_at", "arrived_at", "cleared_at"]
NOTE_CALLS_OF = (
    "INSERT INTO metrics_factchange (kind, key) "
    "SELECT 'e', id FROM calls_eligiblecall WHERE incident_number = {row}.incident_number;"
)

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION metrics_note_{CALLS}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO metrics_factchange (kind, key) SELECT 'e', id FROM old_rows;
    ELSE
        INSERT INTO metrics_factchange (kind, key) SELECT 'e', id FROM new_rows;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER metrics_note_{CALLS}_insert AFTER INSERT ON {CALLS}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION metrics_note_{CALLS}();
CREATE TRIGGER metrics_note_{CALLS}_update AFTER UPDATE ON {CALLS}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION metrics_note_{CALLS}();
CREATE TRIGGER metrics_note_{CALLS}_delete AFTER DELETE ON {CALLS}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION metrics_note_{CALLS}();

CREATE OR REPLACE FUNCTION metrics_note_calls_of_{RESPONSES}() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN {NOTE_CALLS_OF.format(row="OLD")} END IF;
    IF TG_OP = 'INSERT'
        OR (TG_OP = 'UPDATE' AND NEW.incident_number IS DISTINCT FROM OLD.incident_number) THEN
        {NOTE_CALLS_OF.format(row="NEW")}
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER metrics_note_calls_of_{RESPONSES}_write AFTER INSERT OR DELETE ON {RESPONSES}
    FOR EACH ROW EXECUTE FUNCTION metrics_note_calls_of_{RESPONSES}();
CREATE TRIGGER metrics_note_calls_of_{RESPONSES}_update AFTER UPDATE ON {RESPONSES}
    FOR EACH ROW WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in RESPONSE_COLUMNS)})
    EXECUTE FUNCTION metrics_note_calls_of_{RESPONSES}();
"""  # noqa: S608 - built from the constants above only

POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS metrics_note_{CALLS}_insert ON {CALLS};
DROP TRIGGER IF EXISTS metrics_note_{CALLS}_update ON {CALLS};
DROP TRIGGER IF EXISTS metrics_note_{CALLS}_delete ON {CALLS};
DROP FUNCTION IF EXISTS metrics_note_{CALLS}();
DROP TRIGGER IF EXISTS metrics_note_calls_of_{RESPONSES}_write ON {RESPONSES};
DROP TRIGGER IF EXISTS metrics_note_calls_of_{RESPONSES}_update ON {RESPONSES};
DROP FUNCTION IF EXISTS metrics_note_calls_of_{RESPONSES}();
"""

_CALL_NOTE = "INSERT INTO metrics_factchange (kind, key) VALUES ('e', {row}.id);"
SQLITE_CREATE = [
    f"CREATE TRIGGER IF NOT EXISTS metrics_note_{CALLS}_insert AFTER INSERT ON {CALLS} "
    f"BEGIN {_CALL_NOTE.format(row='NEW')} END",
    f"CREATE TRIGGER IF NOT EXISTS metrics_note_{CALLS}_update AFTER UPDATE ON {CALLS} "
    f"BEGIN {_CALL_NOTE.format(row='NEW')} END",
    f"CREATE TRIGGER IF NOT EXISTS metrics_note_{CALLS}_delete AFTER DELETE ON {CALLS} "
    f"BEGIN {_CALL_NOTE.format(row='OLD')} END",
    f"CREATE TRIGGER IF NOT EXISTS metrics_note_calls_of_{RESPONSES}_insert AFTER INSERT "
    f"ON {RESPONSES} BEGIN {NOTE_CALLS_OF.format(row='NEW')} END",
    f"CREATE TRIGGER IF NOT EXISTS metrics_note_calls_of_{RESPONSES}_delete AFTER DELETE "
    f"ON {RESPONSES} BEGIN {NOTE_CALLS_OF.format(row='OLD')} END",
    f"CREATE TRIGGER IF NOT EXISTS metrics_note_calls_of_{RESPONSES}_update AFTER UPDATE "
    f"ON {RESPONSES} WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in RESPONSE_COLUMNS)} "
    f"BEGIN {NOTE_CALLS_OF.format(row='OLD')} {NOTE_CALLS_OF.format(row='NEW')} END",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS metrics_note_{CALLS}_{when}" for when in ("insert", "update", "delete")
] + [
    f"DROP TRIGGER IF EXISTS metrics_note_calls_of_{RESPONSES}_{when}"
    for when in ("insert", "update", "delete")
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE)
    elif vendor == "sqlite":
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0004_follow_ups_outside_service_hours"),
        ("calls", "0001_initial"),
        ("heart_cases", "0010_field_response_in_service_area"),
    ]

    operations = [
        migrations.CreateModel(
            name="CallFact",
            fields=[
                ("call_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("local_date", models.DateField()),
                ("hour", models.SmallIntegerField()),
                ("program", models.CharField(max_length=3)),
                ("outcome", models.CharField(max_length=24)),
                ("responded", models.BooleanField()),
                ("in_service_area", models.BooleanField(null=True)),
                ("response_minutes", models.IntegerField(null=True)),
                ("responder_seconds", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.AlterField(
            model_name="factchange",
            name="kind",
            field=models.CharField(
                choices=[("n", "Neighbor record"), ("c", "Case"), ("e", "Eligible call")],
                max_length=1,
            ),
        ),
        migrations.CreateModel(
            name="CallDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("local_date", models.DateField()),
                ("weekday", models.SmallIntegerField()),
                ("hour", models.SmallIntegerField()),
                ("program", models.CharField(max_length=3)),
                ("outcome", models.CharField(max_length=24)),
                ("responded", models.BooleanField()),
                ("calls", models.IntegerField()),
                ("responder_seconds", models.BigIntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("local_date", "weekday", "hour", "program", "outcome", "responded"),
                        name="call_day_unique",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ResponseMinuteDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("local_date", models.DateField()),
                ("program", models.CharField(max_length=3)),
                ("minutes", models.IntegerField()),
                ("calls", models.IntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("local_date", "program", "minutes"),
                        name="response_minute_day_unique",
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
