"""A small known history, built through the services at the times things happened."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from heart_cases.models import ELIGIBLE_CALL_TYPES, Case, Neighbor
from heart_cases.services import (
    FieldResponseInput,
    IntakeResult,
    NeighborInput,
    case_close,
    field_response_record,
    neighbor_link,
)
from navigation.models import FollowUpTask
from navigation.services import attempt_record
from referrals.models import Provider, Referral, Service
from referrals.services import provider_link_actor, referral_create, referral_transition

NY = ZoneInfo("America/New_York")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


_serial = itertools.count(1)


@dataclass
class History:
    """Records what happened, each step at its own time (time-machine moves the clock)."""

    responder: User
    navigator: User
    people: dict[str, NeighborInput] = field(default_factory=dict)

    def person(self, name: str, **demographics: Any) -> NeighborInput:
        if name not in self.people:
            n = next(_serial)
            self.people[name] = NeighborInput(
                first_name=name.capitalize(),
                last_name=f"Metrics{n}",
                phone=f"+1919555{7000 + n:04d}",
                language=demographics.pop("language", "en"),
                **demographics,
            )
        return self.people[name]

    def respond(
        self,
        name: str,
        at: datetime,
        *,
        program: str = "CRT",
        call_type: str = "",
        consent: bool = True,
        disposition: str = "resolved_on_scene",
        felt_safe: bool | None = True,
        incident: str = "",
        unit: str = "",
        **demographics: Any,
    ) -> IntakeResult:
        n = next(_serial)
        neighbor = self.person(name, **demographics)
        with time_machine.travel(at, tick=False):
            return field_response_record(
                actor=self.responder,
                data=FieldResponseInput(
                    incident_number=incident or f"M-{n}",
                    unit=unit or f"{program}-1",
                    program=program,
                    call_type=call_type or ELIGIBLE_CALL_TYPES[program][0],
                    responded_at=at,
                    follow_up_consent=consent,
                    disposition=disposition,
                    responder_felt_safe=felt_safe,
                    neighbor=neighbor,
                ),
            )

    def attempt(self, result: IntakeResult, at: datetime, outcome: str) -> None:
        """An attempt on the follow-up's chain (on the task that is on the list now)."""
        assert result.follow_up is not None
        task = FollowUpTask.objects.get(pk=result.follow_up.id)
        while task.next_task_id is not None:
            task = FollowUpTask.objects.get(pk=task.next_task_id)
        with time_machine.travel(at + timedelta(minutes=1), tick=False):
            attempt_record(
                actor=self.navigator, task=task, method="phone", outcome=outcome, occurred_at=at
            )

    def close(self, result: IntakeResult, at: datetime, outcome: str) -> None:
        with time_machine.travel(at, tick=False):
            case_close(
                actor=self.navigator,
                case=Case.objects.get(pk=result.case.pk),
                outcome=outcome,
                note="Metrics test",
            )

    def link(self, name: str, into: str) -> None:
        records = {
            key: Neighbor.objects.get(phones__number=self.people[key].phone) for key in (name, into)
        }
        neighbor_link(
            actor=self.navigator, neighbor=records[name], into=records[into], reason="Same person"
        )

    def refer(self, result: IntakeResult, at: datetime, service: Service) -> Referral:
        with time_machine.travel(at, tick=False):
            return referral_create(
                actor=self.navigator,
                case=Case.objects.get(pk=result.case.pk),
                service=service,
                reason="Metrics test referral",
                consent_method="verbal",
                consent_obtained_at=at,
            )

    def answer(self, referral: Referral, at: datetime, action: str, **extra: Any) -> Referral:
        """The provider answers through its signed link; staff cancel."""
        referral = Referral.objects.get(pk=referral.pk)
        with time_machine.travel(at, tick=False):
            if action == "cancel":
                return referral_transition(
                    actor=self.navigator, referral=referral, action=action, **extra
                )
            return referral_transition(
                actor=provider_link_actor(referral.provider),
                referral=referral,
                action=action,
                via_link=True,
                **extra,
            )


@pytest.fixture
def history(responder, make_staff) -> History:
    user, _ = responder
    navigator, _ = make_staff("metrics-supervisor", "supervisor")
    return History(responder=user, navigator=navigator)


@pytest.fixture
def services(db) -> list[Service]:
    provider = Provider.objects.create(slug="metrics-provider", name="Metrics Provider")
    return [
        Service.objects.create(provider=provider, name=f"Service {k}", category="housing")
        for k in (1, 2, 3)
    ]


@pytest.fixture
def analyst(make_staff) -> APIClient:
    user, _ = make_staff("metrics-analyst", "analyst")
    client = APIClient()
    # Tokens expire; the tests move the clock, so they authenticate directly.
    client.force_authenticate(user)
    return client


def metrics(client: APIClient, start: str, end: str, *, now: datetime) -> dict[str, Any]:
    with time_machine.travel(now, tick=False):
        response = client.get("/api/v1/metrics/", {"start": start, "end": end})
    assert response.status_code == 200, response.content
    return response.json()
