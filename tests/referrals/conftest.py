"""A small city for referral tests: a case with its pair, a directory with a provider that has
staff (Casa), another that has staff (Housing), and one without accounts (Pantry, answered by
signed link)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from heart_cases import queueing
from heart_cases.models import Case
from navigation.services import pair_assign, pair_create
from referrals import services
from referrals.models import Provider, Referral, Service, ServiceLanguage
from tests.conftest import token_client


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, tuple[Any, ...]]]:
    """Celery messages the code would publish after commit, kept here instead of reaching the
    shared broker. Run them with `run_queued`."""
    sent: list[tuple[Any, tuple[Any, ...]]] = []

    def record(task: Any, *args: Any) -> bool:
        sent.append((task, args))
        return True

    monkeypatch.setattr(queueing, "enqueue_now", record)
    return sent


def run_queued(queued: list[tuple[Any, tuple[Any, ...]]], name: str | None = None) -> int:
    """Run the recorded messages (of one task name) in this process, as a worker would."""
    ran = 0
    for task, args in list(queued):
        if name is None or task.name == name:
            task.apply(args=args).get()
            ran += 1
    return ran


@dataclass
class City:
    navigator: User
    navigator_api: APIClient
    peer: User
    supervisor: User
    supervisor_api: APIClient
    casa_staff: User
    casa_api: APIClient
    housing_staff: User
    housing_api: APIClient
    casa: Provider
    housing: Provider
    pantry: Provider
    counseling: Service
    clinic: Service
    shelter: Service
    groceries: Service
    case: Case

    def refer(
        self, service: Service | None = None, case: Case | None = None, **kw: Any
    ) -> Referral:
        return services.referral_create(
            actor=self.navigator,
            case=case or self.case,
            service=service or self.counseling,
            reason=kw.pop("reason", "Counseling in Spanish after a crisis call."),
            consent_method=kw.pop("consent_method", "verbal"),
            consent_obtained_at=kw.pop("consent_obtained_at", timezone.now()),
            **kw,  # consent_purpose, consent_scope, consent_expires_at
        )


def _service(provider: Provider, name: str, category: str, languages: list[str]) -> Service:
    service = Service.objects.create(provider=provider, name=name, category=category)
    for code in languages:
        ServiceLanguage.objects.create(service=service, code=code)
    return service


@pytest.fixture
def intake(responder: Any, body: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    _, client = responder

    def post(**overrides: Any) -> dict[str, Any]:
        response = client.post("/api/v1/field-responses/", body(**overrides), format="json")
        assert response.status_code in (200, 201), response.content
        return response.json()

    return post


@pytest.fixture
def city(make_staff: Callable[..., Any], intake: Callable[..., dict[str, Any]]) -> City:
    casa = Provider.objects.create(slug="casa", name="Casa Esperanza")
    housing = Provider.objects.create(slug="housing", name="Bull City Housing")
    pantry = Provider.objects.create(
        slug="pantry", name="Triangle Food Share", email="intake@pantry.example"
    )
    counseling = _service(casa, "Salud mental", "mental_health", ["es", "en"])
    clinic = _service(casa, "Clínica", "medical", ["es", "en"])
    shelter = _service(housing, "Emergency shelter", "housing", ["en"])
    groceries = _service(pantry, "Food pantry", "food", ["en", "es"])

    navigator, navigator_token = make_staff(
        "maria",
        "clinician",
        languages=["en", "es"],
        first_name="María",
        last_name="Ortega",
        email="maria@heart.example",
    )
    peer, _ = make_staff("jamal", "peer", first_name="Jamal", last_name="Barnes")
    supervisor, supervisor_token = make_staff("dana", "supervisor")
    casa_staff, casa_token = make_staff("ana", "provider", provider_slug="casa")
    housing_staff, housing_token = make_staff("greg", "provider", provider_slug="housing")
    pair = pair_create(actor=supervisor, clinician=navigator, peer=peer)
    case = Case.objects.get(pk=intake()["case"]["id"])
    pair_assign(actor=supervisor, case=case, pair=pair, reason="Test pair")
    return City(
        navigator=navigator,
        navigator_api=token_client(navigator_token),
        peer=peer,
        supervisor=supervisor,
        supervisor_api=token_client(supervisor_token),
        casa_staff=casa_staff,
        casa_api=token_client(casa_token),
        housing_staff=housing_staff,
        housing_api=token_client(housing_token),
        casa=casa,
        housing=housing,
        pantry=pantry,
        counseling=counseling,
        clinic=clinic,
        shelter=shelter,
        groceries=groceries,
        case=case,
    )


def referral_body(city: City, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case": city.case.pk,
        "provider": city.casa.pk,
        "service": city.counseling.pk,
        "reason": "Counseling in Spanish after a crisis call.",
        "consent": {
            "obtained": True,
            "method": "verbal",
            "obtained_at": timezone.localtime().isoformat(),
        },
    }
    body.update(overrides)
    return body
