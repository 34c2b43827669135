"""Every consent has an expiry (0004 filled the earlier ones): its own transaction, after the
rows were written, so that PostgreSQL does not hold the writes' trigger events while it alters
the table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0004_consent_purpose_scope_expiry")]

    operations = [
        migrations.AlterField(
            model_name="consent",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="historicalconsent",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
