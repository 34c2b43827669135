# The index on pair_id alone is the leading column of task_pair_status_work_by (issue 19).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("navigation", "0011_attempt_contact"),
    ]

    operations = [
        migrations.AlterField(
            model_name="followuptask",
            name="pair",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tasks",
                to="navigation.pair",
            ),
        ),
    ]
