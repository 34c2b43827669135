"""Navigator workspace: notes, contacts, search (issue 13).

Contacts (family and others the pair may call), and on PostgreSQL the pg_trgm extension with
GIN trigram indexes on the folded, space-free name keys that neighbor search reads. SQLite
(`make run`) has no pg_trgm: those operations do nothing there.
"""

import django.db.models.deletion
import phonenumber_field.modelfields
import simple_history.models
from django.conf import settings
from django.db import migrations, models

# The full name key: first and last name keys run together ("josedelacruz").
TRIGRAM_INDEXES = {
    "neighbor_full_name_trgm": "(first_name_key || last_name_key)",
    "neighbor_last_name_trgm": "last_name_key",
    "neighbor_alias_trgm": "alias_key",
}


def trigram_forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON heart_cases_neighbor "
            f"USING gin (({expression}) gin_trgm_ops)"
        )
    # The full key with a b-tree too: an exact or prefix match (text_pattern_ops) is cheaper
    # than the trigram index when the text typed is a whole name.
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS neighbor_full_name_prefix ON heart_cases_neighbor "
        "((first_name_key || last_name_key) text_pattern_ops)"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS neighbor_alias_prefix ON heart_cases_neighbor "
        "(alias_key text_pattern_ops)"
    )


def trigram_backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [*TRIGRAM_INDEXES, "neighbor_full_name_prefix", "neighbor_alias_prefix"]:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other database objects may use it.


class Migration(migrations.Migration):
    dependencies = [
        ("heart_cases", "0006_retention"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalContact",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("relationship", models.CharField(blank=True, max_length=100)),
                (
                    "phone",
                    phonenumber_field.modelfields.PhoneNumberField(
                        blank=True, help_text="E.164.", max_length=128, region=None
                    ),
                ),
                ("language", models.CharField(blank=True, max_length=16)),
                ("may_contact", models.BooleanField(default=True)),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.TextField(null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                        max_length=1,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "neighbor",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="heart_cases.neighbor",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical contact",
                "verbose_name_plural": "historical contacts",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="Contact",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                ("relationship", models.CharField(blank=True, max_length=100)),
                (
                    "phone",
                    phonenumber_field.modelfields.PhoneNumberField(
                        blank=True, help_text="E.164.", max_length=128, region=None
                    ),
                ),
                ("language", models.CharField(blank=True, max_length=16)),
                ("may_contact", models.BooleanField(default=True)),
                ("note", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "neighbor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contacts",
                        to="heart_cases.neighbor",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["neighbor", "created_at"], name="contact_neighbor_created")
                ],
            },
        ),
        migrations.AddIndex(
            model_name="neighbor",
            index=models.Index(fields=["phone"], name="neighbor_phone"),
        ),
        migrations.AddIndex(
            model_name="neighbor",
            index=models.Index(fields=["date_of_birth"], name="neighbor_date_of_birth"),
        ),
        migrations.RunPython(trigram_forward, trigram_backward, elidable=False),
    ]
