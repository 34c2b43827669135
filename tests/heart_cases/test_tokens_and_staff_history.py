"""Revoking API tokens (API.md, "Tokens"), and who create_staff names in history."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from knox.models import AuthToken
from rest_framework.test import APIClient

from heart_cases.actors import is_system_actor
from heart_cases.models import StaffProfile
from tests.conftest import ROLES, token_client

pytestmark = pytest.mark.django_db


def create_staff(*args: str) -> str:
    """The token create_staff prints on its last line."""
    out = StringIO()
    call_command("create_staff", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()[-1]


def answers(token: str) -> int:
    return token_client(token).get("/api/v1/tasks/").status_code


def test_logout_revokes_the_token_it_was_sent_with_and_no_other(make_staff):
    user, phone_token = make_staff("maria", "clinician")
    _, laptop_token = AuthToken.objects.create(user=user)
    response = token_client(phone_token).post("/api/v1/auth/logout/")
    assert response.status_code == 204
    assert response.content == b""
    assert answers(phone_token) == 401
    assert answers(laptop_token) == 200


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_revoke_its_own_token(make_staff, role):
    _, token = make_staff(f"{role}-user", role)
    assert token_client(token).post("/api/v1/auth/logout/").status_code == 204
    assert token_client(token).post("/api/v1/auth/logout/").status_code == 401


def test_logout_without_a_token_is_a_json_401(make_staff, client):
    assert APIClient().post("/api/v1/auth/logout/").json() == {
        "detail": "Authentication credentials were not provided."
    }
    # A logged-in browser session holds no token to revoke.
    user, _ = make_staff("maria", "clinician")
    client.force_login(user)
    response = client.post("/api/v1/auth/logout/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_logout_is_in_the_schema_with_its_204(supervisor):
    _, api = supervisor
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/auth/logout/"]["post"]
    assert {"204", "401"} <= set(operation["responses"])
    assert "requestBody" not in operation


def test_create_staff_revoke_tokens_kills_earlier_tokens_and_prints_a_working_one(roles):
    first = create_staff("cad", "--role", "responder", "--service")
    second = create_staff("cad", "--role", "responder", "--service")
    new = create_staff("cad", "--role", "responder", "--service", "--revoke-tokens")
    assert answers(first) == 401
    assert answers(second) == 401
    assert answers(new) == 403  # authenticated; a responder may not list tasks
    assert AuthToken.objects.filter(user__username="cad").count() == 1


def test_create_staff_without_revoke_tokens_leaves_earlier_tokens_valid(roles):
    first = create_staff("maria", "--role", "clinician")
    second = create_staff("maria", "--role", "clinician")
    assert answers(first) == 200
    assert answers(second) == 200


def test_create_staff_names_a_system_actor_not_the_account_in_history(roles):
    create_staff("maria", "--role", "clinician")
    create_staff("maria", "--role", "supervisor", "--languages", "en,es")
    profile = StaffProfile.objects.get(user__username="maria")
    rows = list(profile.history.order_by("history_date"))
    assert [row.history_type for row in rows] == ["+", "~"]
    for row in rows:
        assert row.history_user != profile.user
        assert is_system_actor(row.history_user)
        assert row.history_user.username == "system:command.create_staff"
        assert not row.history_user.is_active


def test_create_staff_names_a_system_actor_when_it_ties_staff_to_a_provider(roles):
    from referrals.models import Provider, ProviderMembership

    Provider.objects.create(slug="casa", name="Casa Esperanza")
    create_staff("ana", "--role", "provider", "--provider", "casa")
    membership = ProviderMembership.objects.get(user__username="ana")
    [row] = membership.history.all()
    assert row.history_user != membership.user
    assert row.history_user.username == "system:command.create_staff"
