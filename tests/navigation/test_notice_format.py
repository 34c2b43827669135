"""The `when` filter writes exactly what Django's `date` filter writes, only faster."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import translation

NY = ZoneInfo("America/New_York")
FORMATS = ["D M j, H:i", "D j M, H:i", "Y-m-d H:i", "j/m/Y", "D, d M Y (H:i)"]
# Every weekday and month, both sides of both daylight-saving changes, midnight and 23:59.
MOMENTS = [
    datetime(2026, 1, 1, 0, 0, tzinfo=ZoneInfo("UTC")) + timedelta(hours=h * 37 + h % 60)
    for h in range(240)
] + [
    datetime(2026, 3, 8, 6, 59, tzinfo=ZoneInfo("UTC")),
    datetime(2026, 3, 8, 7, 1, tzinfo=ZoneInfo("UTC")),
    datetime(2026, 11, 1, 5, 59, tzinfo=ZoneInfo("UTC")),
    datetime(2026, 11, 1, 6, 1, tzinfo=ZoneInfo("UTC")),
    datetime(2026, 12, 31, 23, 59, tzinfo=NY),
]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_when_matches_djangos_date_filter(language, fmt):
    ours = Template("{% load notice_format %}{{ moment|when:fmt }}")
    django = Template("{{ moment|date:fmt }}")
    with translation.override(language):
        for moment in MOMENTS:
            context = Context({"moment": moment, "fmt": fmt})
            assert ours.render(context) == django.render(context), (language, fmt, moment)


def test_when_hands_other_formats_and_values_to_django():
    template = Template("{% load notice_format %}{{ moment|when:fmt }}")
    moment = datetime(2026, 11, 25, 9, 5, tzinfo=NY)
    with translation.override("es"):
        # 'l' (full weekday) and 'F' (full month) are not among when's own characters.
        assert template.render(Context({"moment": moment, "fmt": "l j \\d\\e F"})) == (
            "miércoles 25 de noviembre"
        )
        assert template.render(Context({"moment": None, "fmt": "D j M"})) == ""


def test_when_writes_in_the_program_time_zone():
    template = Template('{% load notice_format %}{{ moment|when:"D M j, H:i" }}')
    utc = datetime(2026, 11, 25, 14, 0, tzinfo=ZoneInfo("UTC"))
    assert template.render(Context({"moment": utc})) == "Wed Nov 25, 09:00"
