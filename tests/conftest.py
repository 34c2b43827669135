from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery import Task
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from rest_framework.test import APIClient

from heart_cases import celery_app
from heart_cases.roles import ensure_role_groups
from heart_cases.staff import staff_create_or_update
from navigation.services import pair_create
from referrals.models import Provider

ROLES = ["responder", "clinician", "peer", "supervisor", "provider", "analyst"]

# DESIGN.md: the 48-hour follow-up is a row swept by beat, never a long Celery countdown.
LONGEST_DELAY = timedelta(minutes=5)
queued: list[tuple[str, tuple[Any, ...]]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A transactional test must also ask for serialized_rollback: a plain one ends with a
    flush, after which post_migrate re-creates the role groups under new ids, and the next
    serialized_rollback test, restoring the groups saved at the start, collides with them."""
    plain = []
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            plain.append(item.nodeid)
    if plain:
        raise pytest.UsageError(
            "Use django_db(transaction=True, serialized_rollback=True) in: " + ", ".join(plain)
        )


@pytest.fixture(autouse=True)
def no_task_is_queued_with_a_long_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: any apply_async with a countdown or ETA over 5 minutes fails it."""
    original = Task.apply_async

    def checked(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        countdown = options.get("countdown")
        eta = options.get("eta")
        if countdown is not None and countdown > LONGEST_DELAY.total_seconds():
            pytest.fail(f"{self.name} queued with a countdown of {countdown} s")
        if eta is not None and eta - timezone.now() > LONGEST_DELAY:
            pytest.fail(f"{self.name} queued with an ETA of {eta}")
        queued.append((self.name, tuple(args or ())))
        return original(self, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", checked)


@pytest.fixture(scope="session", autouse=True)
def purge_test_queue() -> Any:
    """Tests publish to the test Redis database; leave nothing behind for anyone else."""
    yield
    with contextlib.suppress(Exception):  # a broker that is down has nothing to purge
        celery_app.control.purge()


@pytest.fixture
def roles(db: Any) -> None:
    """Role groups exist after migrate; a flushed transactional test gets them back here."""
    from django.contrib.auth.models import Group

    from heart_cases.roles import ROLE_PERMISSIONS

    if Group.objects.filter(name__in=list(ROLE_PERMISSIONS)).count() < len(ROLE_PERMISSIONS):
        ensure_role_groups()


@pytest.fixture
def make_staff(roles: None) -> Callable[..., tuple[AbstractBaseUser, str]]:
    """Create a staff member of a role; returns (user, API token)."""

    def make(username: str, role: str, **kwargs: Any) -> tuple[AbstractBaseUser, str]:
        if role == "provider" and "provider_slug" not in kwargs:
            Provider.objects.get_or_create(slug="casa", defaults={"name": "Casa"})
            kwargs["provider_slug"] = "casa"
        kwargs.setdefault("languages", ["en"])
        result = staff_create_or_update(username=username, role=role, **kwargs)
        return result.user, result.token

    return make


@pytest.fixture
def make_pair(make_staff: Callable[..., Any]) -> Callable[..., Any]:
    def make(name: str, *, languages: tuple[str, ...] = ("en",), capacity: int = 25) -> Any:
        clinician, _ = make_staff(f"{name}-c", "clinician", languages=list(languages))
        peer, _ = make_staff(f"{name}-p", "peer", languages=list(languages))
        pair = pair_create(actor=clinician, clinician=clinician, peer=peer)
        if capacity != pair.capacity:
            pair.capacity = capacity
            pair.save()
        return pair

    return make


def as_user(user: AbstractBaseUser) -> APIClient:
    """An API client authenticated as `user` without a token (what a logged-in page sends)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def record_case(
    responder: Any, *, n: int, first_name: str, last_name: str, prefix: str = "T"
) -> Any:
    """A field response an hour ago through the intake service, for a new neighbor; its case."""
    from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record

    return field_response_record(
        actor=responder,
        data=FieldResponseInput(
            incident_number=f"{prefix}-{n}",
            unit="CRT-1",
            program="CRT",
            call_type="Trespass",
            responded_at=timezone.now() - timedelta(hours=1),
            follow_up_consent=True,
            neighbor=NeighborInput(
                first_name=first_name, last_name=last_name, phone=f"+1919555{n:04d}"
            ),
        ),
    ).case


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def responder(make_staff: Callable[..., Any]) -> tuple[AbstractBaseUser, APIClient]:
    user, token = make_staff("cad", "responder", service_account=True)
    return user, token_client(token)


@pytest.fixture
def supervisor(make_staff: Callable[..., Any]) -> tuple[AbstractBaseUser, APIClient]:
    user, token = make_staff("dana", "supervisor")
    return user, token_client(token)


@pytest.fixture
def clients_by_role(make_staff: Callable[..., Any]) -> dict[str, APIClient]:
    clients = {role: token_client(make_staff(f"{role}-user", role)[1]) for role in ROLES}
    clients["anonymous"] = APIClient()
    return clients


# One fixed, recent encounter time for the whole run, so that the same body is the same body.
RESPONDED_AT = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def field_response_body(**overrides: Any) -> dict[str, Any]:
    responded = RESPONDED_AT
    body: dict[str, Any] = {
        "incident_number": "D2026-0012345",
        "unit": "CRT-3",
        "program": "CRT",
        "call_type": "Nonviolent mental health crisis",
        "responded_at": responded.isoformat(),
        "cleared_at": (responded + timedelta(hours=1)).isoformat(),
        "location": {
            "address": "101 City Hall Plaza, Durham, NC",
            "latitude": 35.994,
            "longitude": -78.899,
        },
        "neighbor": {
            "first_name": "Ana",
            "last_name": "Diaz",
            "alias": "",
            "date_of_birth": "1988-04-02",
            "phone": "+1 919 555 0142",
            "language": "es",
            "unsheltered": False,
        },
        "needs": ["mental_health", "housing"],
        "disposition": "resolved_on_scene",
        "follow_up_consent": True,
        "responder_felt_safe": True,
        "narrative": "free text",
    }
    for key, value in overrides.items():
        if key == "neighbor" and isinstance(value, dict):
            body["neighbor"] = {**body["neighbor"], **value}
        else:
            body[key] = value
    return copy.deepcopy(body)


@pytest.fixture
def body() -> Callable[..., dict[str, Any]]:
    return field_response_body
