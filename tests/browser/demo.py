"""What the browser tests set up on the demo city: a case opened by the CAD's intake two hours
ago, on the given clinician's pair."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from heart_cases.models import Case
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.models import FollowUpTask, Pair
from navigation.services import pair_assign


def open_case(
    clinician: Any,
    *,
    number: int,
    first_name: str,
    last_name: str,
    phone: str = "+19195550142",
    language: str = "en",
    needs: tuple[str, ...] = ("food", "substance_use"),
) -> Case:
    responded_at = timezone.now() - timedelta(hours=2)
    result = field_response_record(
        actor=get_user_model().objects.get(username="cad"),
        data=FieldResponseInput(
            incident_number=f"D2026-{number:07d}",
            unit="CRT-1",
            program="CRT",
            call_type="Nonviolent mental health crisis",
            responded_at=responded_at,
            cleared_at=responded_at + timedelta(minutes=40),
            follow_up_consent=True,
            needs=needs,
            neighbor=NeighborInput(
                first_name=first_name, last_name=last_name, phone=phone, language=language
            ),
        ),
    )
    pair = Pair.objects.get(clinician=clinician)
    pair_assign(actor=clinician, case=result.case, pair=pair, reason="Test: the pair on duty")
    return result.case


def first_open_task(peer: str) -> FollowUpTask:
    """The first task on a demo peer's list (work-by order): what their day starts with."""
    task = (
        FollowUpTask.objects.filter(
            status__in=["pending", "missed"],
            next_task__isnull=True,
            pair__peer__username=peer,
            case__status="open",
        )
        .order_by("work_by", "id")
        .first()
    )
    assert task is not None, f"the demo gives {peer} open tasks"
    return task
