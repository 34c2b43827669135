"""Retention: a neighbor record knows it was de-identified, and the access log can say that a
search or an erasure happened (issues 13, 16)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("heart_cases", "0005_staff_language")]

    operations = [
        migrations.AddField(
            model_name="neighbor",
            name="erased_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="neighbor",
            name="birth_year",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalneighbor",
            name="erased_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalneighbor",
            name="birth_year",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="accesslog",
            name="action",
            field=models.CharField(
                choices=[
                    ("view", "Viewed"),
                    ("list", "Listed"),
                    ("export", "Exported"),
                    ("search", "Searched"),
                    ("erase", "Erased"),
                ],
                max_length=16,
            ),
        ),
    ]
