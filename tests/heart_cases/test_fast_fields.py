"""The fields made faster for bodies that come a thousand at a time (issue 19) answer exactly
as the DRF fields and the checks they replace: the same values, the same errors and codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from heart_cases import clock
from heart_cases.api_common import AwareDateTimeField, TextField


def outcome(field: serializers.Field, value: Any) -> tuple[str, Any]:
    try:
        return "ok", field.run_validation(value)
    except serializers.ValidationError as exc:
        return "error", [(str(e), e.code) for e in exc.detail]  # type: ignore[union-attr]


TEXTS = ["plain", "a\ud800b", "\udfff", "x\ud83dy\ude00", "José 日本 🏠", "", "x" * 70, 42]


@pytest.mark.parametrize("value", TEXTS)
def test_text_field_answers_as_drfs_char_field(value):
    ours, drfs = TextField(max_length=64), serializers.CharField(max_length=64)
    assert outcome(ours, value) == outcome(drfs, value)


def test_a_surrogate_is_named_by_its_code_point():
    assert outcome(TextField(), "ok\udc01") == (
        "error",
        [("Surrogate characters are not allowed: U+DC01.", "surrogate_characters_not_allowed")],
    )


def _is_naive_text(value: str) -> bool:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return False
    return parsed is not None and parsed.tzinfo is None


class _Before(serializers.DateTimeField):
    """AwareDateTimeField as it was: DRF's parse, then a second one to tell a naive time."""

    default_error_messages = AwareDateTimeField.default_error_messages

    def to_internal_value(self, value: Any) -> Any:
        result = super().to_internal_value(value)
        if isinstance(value, str) and result is not None and _is_naive_text(value):
            self.fail("naive")
        if result is not None:
            problem = clock.time_out_of_range(result)
            if problem:
                raise serializers.ValidationError(problem, code="out_of_range")
        return result


NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TIMES: list[Any] = [
    (NOW - dt.timedelta(hours=3)).isoformat(),
    (NOW - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    (NOW - dt.timedelta(hours=3)).astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(),
    (NOW - dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.123+00:00"),
    (NOW - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S"),  # naive
    (NOW + dt.timedelta(days=2)).isoformat(),  # ahead of the clock
    "2026-02-30T10:00:00+00:00",  # no such day
    "2026-11-20T14:05:00+25:00",  # no such offset
    "2019-01-01T00:00:00+00:00",  # before the programs began
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "2026-11-20",
    "yesterday",
    "",
    "20261120T140500Z",
    NOW - dt.timedelta(hours=1),
    dt.date(2026, 11, 20),
    12,
]


@pytest.mark.parametrize("value", TIMES)
def test_aware_datetime_field_answers_as_before(value):
    ours = AwareDateTimeField(default_timezone=dt.UTC)
    before = _Before(default_timezone=dt.UTC)
    assert outcome(ours, value) == outcome(before, value)


def test_the_earliest_record_follows_the_settings():
    with override_settings(HEART_EARLIEST_RECORD=dt.date(2024, 5, 1)):
        assert clock.earliest_record().date() == dt.date(2024, 5, 1)
    with override_settings(HEART_EARLIEST_RECORD=dt.date(2021, 1, 1), TIME_ZONE="UTC"):
        assert clock.earliest_record() == dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
