"""When the metrics facts were last brought up to date (`FactState.refreshed_at`).

A read that cannot write (a read replica, a read-only session) reads the facts as they are and
says how fresh they are. Facts built before this column existed were current when they were
built, so it starts as `built_at`.
"""

from __future__ import annotations

from django.db import migrations, models


def forwards(apps, schema_editor):
    FactState = apps.get_model("metrics", "FactState")
    FactState.objects.exclude(signature="").update(refreshed_at=models.F("built_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0002_change_triggers_and_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="factstate",
            name="refreshed_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
