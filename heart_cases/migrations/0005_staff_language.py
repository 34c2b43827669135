"""Staff members' interface language (issue 14)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("heart_cases", "0004_access_log_reason")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="staffprofile",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("en", "English"), ("es", "Español")],
                default="",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="historicalstaffprofile",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("en", "English"), ("es", "Español")],
                default="",
                max_length=8,
            ),
        ),
    ]
