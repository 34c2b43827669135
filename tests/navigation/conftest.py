from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.models import ServiceSchedule

_numbers = itertools.count(1)


@pytest.fixture
def open_case(responder):
    """Record a field response through the intake service; returns the IntakeResult."""
    user, _ = responder

    def make(
        *,
        responded_at: datetime | None = None,
        language: str = "en",
        phone: str | None = None,
        first_name: str | None = None,
        consent: bool = True,
    ) -> Any:
        n = next(_numbers)
        return field_response_record(
            actor=user,
            data=FieldResponseInput(
                incident_number=f"T-{n}",
                unit="CRT-1",
                program="CRT",
                call_type="Trespass",
                responded_at=responded_at or timezone.now() - timedelta(hours=1),
                follow_up_consent=consent,
                neighbor=NeighborInput(
                    first_name=first_name or f"Neighbor{n}",
                    last_name="Test",
                    phone=phone if phone is not None else f"+1919555{n % 10000:04d}",
                    language=language,
                ),
            ),
        )

    return make


@pytest.fixture
def expanded_hours(db):
    """Switch to the expanded schedule (every day 07:00–19:00, holidays worked): data only."""
    ServiceSchedule.objects.filter(program="CN").update(active=False)
    ServiceSchedule.objects.filter(name__startswith="Expanded").update(active=True)
