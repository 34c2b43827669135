"""Field responses know whether they fell inside their program's service area (issue 15); the
responses recorded before are placed by the areas configured when this runs."""

from typing import Any

from django.db import migrations, models

CHUNK = 5000


def place_earlier_responses(apps: Any, schema_editor: Any) -> None:
    from calls.areas import in_service_area_many

    FieldResponse = apps.get_model("heart_cases", "FieldResponse")
    located = FieldResponse.objects.filter(latitude__isnull=False, longitude__isnull=False)
    last = 0
    while True:
        rows = list(
            located.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "program", "latitude", "longitude")[:CHUNK]
        )
        if not rows:
            return
        last = rows[-1][0]
        by_program: dict[str, list[tuple[int, Any, Any]]] = {}
        for pk, program, latitude, longitude in rows:
            by_program.setdefault(program, []).append((pk, latitude, longitude))
        for program, points in by_program.items():
            answers = in_service_area_many(program, [(lat, lon) for _pk, lat, lon in points])
            for value in (True, False):
                ids = [
                    pk
                    for (pk, _lat, _lon), answer in zip(points, answers, strict=True)
                    if answer is value
                ]
                if ids:
                    # A computed column, not a change to anyone's care: no history row.
                    FieldResponse.objects.filter(pk__in=ids).update(in_service_area=value)


class Migration(migrations.Migration):
    dependencies = [
        ("heart_cases", "0009_erasure_function"),
    ]

    operations = [
        migrations.AddField(
            model_name="fieldresponse",
            name="in_service_area",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="historicalfieldresponse",
            name="in_service_area",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.RunPython(place_earlier_responses, migrations.RunPython.noop, elidable=True),
    ]
