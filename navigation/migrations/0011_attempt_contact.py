"""Whom a contact attempt reached when not the neighbor: one of the neighbor's contacts
(issue 13). Nullable, so rows written by code that predates the column (a rolling deploy) are
attempts to the neighbor."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("heart_cases", "0007_neighbor_workspace"),
        ("navigation", "0010_database_defaults"),
    ]

    operations = [
        migrations.AddField(
            model_name="contactattempt",
            name="contact",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="attempts",
                to="heart_cases.contact",
            ),
        ),
        migrations.AddField(
            model_name="historicalcontactattempt",
            name="contact",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="heart_cases.contact",
            ),
        ),
    ]
