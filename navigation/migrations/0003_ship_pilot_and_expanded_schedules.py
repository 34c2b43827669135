"""Ship the two schedules the program has used: the pilot (active) and the expanded one."""

from __future__ import annotations

from datetime import time

from django.db import migrations

PILOT = ("Pilot: weekdays 09:00–19:00", False, range(0, 5), time(9), time(19))
EXPANDED = ("Expanded: every day 07:00–19:00", True, range(0, 7), time(7), time(19))


def forwards(apps, schema_editor):
    schedule_model = apps.get_model("navigation", "ServiceSchedule")
    window_model = apps.get_model("navigation", "ServiceWindow")
    for (name, works_holidays, days, opens, closes), active in ((PILOT, True), (EXPANDED, False)):
        schedule, created = schedule_model.objects.get_or_create(
            program="CN",
            name=name,
            defaults={"works_holidays": works_holidays, "active": active},
        )
        if created:
            for day in days:
                window_model.objects.create(
                    schedule=schedule, weekday=day, opens=opens, closes=closes
                )


def backwards(apps, schema_editor):
    apps.get_model("navigation", "ServiceSchedule").objects.filter(
        name__in=[PILOT[0], EXPANDED[0]]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("navigation", "0002_notices_and_service_hours")]

    operations = [migrations.RunPython(forwards, backwards)]
