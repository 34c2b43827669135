from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from heart_cases.models import Neighbor, PossibleDuplicate
from heart_cases.roles import role_of
from heart_cases.services import TransitionError, neighbor_link, neighbor_unlink
from navigation.models import Pair
from referrals.models import Provider, ProviderMembership

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()


def test_create_staff_prints_a_working_token_on_the_last_line(roles):
    token = run("create_staff", "cad", "--role", "responder", "--service")[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cases/").status_code == 403  # authenticated, wrong role
    stored = AuthToken.objects.get(user__username="cad")
    assert token not in (stored.digest, stored.token_key)  # hashed at rest
    assert stored.expiry > timezone.now() + timedelta(days=300)


def test_a_persons_token_expires_sooner_than_a_service_accounts(roles):
    run("create_staff", "maria", "--role", "clinician", "--languages", "en,es")
    stored = AuthToken.objects.get(user__username="maria")
    assert stored.expiry < timezone.now() + timedelta(days=2)
    assert role_of(stored.user) == "clinician"
    assert stored.user.staff_profile.languages == ["en", "es"]


def test_create_staff_updates_instead_of_duplicating(roles):
    run("create_staff", "maria", "--role", "clinician")
    run("create_staff", "maria", "--role", "supervisor")
    user = AuthToken.objects.filter(user__username="maria").first().user
    assert role_of(user) == "supervisor"
    assert user.groups.count() == 1


def test_provider_staff_need_a_known_provider(roles):
    with pytest.raises(CommandError, match="needs --provider"):
        run("create_staff", "pat", "--role", "provider")
    with pytest.raises(CommandError, match="No provider with slug"):
        run("create_staff", "pat", "--role", "provider", "--provider", "nowhere")
    provider = Provider.objects.create(slug="casa", name="Casa")
    run("create_staff", "pat", "--role", "provider", "--provider", "casa")
    assert ProviderMembership.objects.get(user__username="pat").provider == provider


def test_create_pair_prints_the_pair_id_and_checks_roles(roles):
    run("create_staff", "maria", "--role", "clinician")
    run("create_staff", "jamal", "--role", "peer")
    pair_id = int(run("create_pair", "maria", "jamal")[-1])
    pair = Pair.objects.get(pk=pair_id)
    assert (pair.clinician.username, pair.peer.username) == ("maria", "jamal")
    assert int(run("create_pair", "maria", "jamal")[-1]) == pair_id
    with pytest.raises(CommandError, match="is not a clinician"):
        run("create_pair", "jamal", "maria")


def test_linking_keeps_both_records_and_can_be_undone(responder, body, supervisor):
    _, client = responder
    url = "/api/v1/field-responses/"
    a = client.post(url, body(), format="json").json()["neighbor"]["id"]
    b = client.post(
        url,
        body(incident_number="D2", neighbor={"date_of_birth": "1990-01-01", "phone": ""}),
        format="json",
    ).json()["neighbor"]["id"]
    duplicate = PossibleDuplicate.objects.get()
    boss = supervisor[0]
    neighbor_link(
        actor=boss,
        neighbor=Neighbor.objects.get(pk=b),
        into=Neighbor.objects.get(pk=a),
        reason="Same person; birth date typo",
    )
    duplicate.refresh_from_db()
    assert duplicate.status == "linked"
    assert Neighbor.objects.get(pk=b).linked_to_id == a
    assert Neighbor.objects.count() == 2
    # A later encounter matching the linked record lands on the person's record.
    later = client.post(
        url,
        body(incident_number="D3", neighbor={"date_of_birth": "1990-01-01", "phone": ""}),
        format="json",
    ).json()
    assert later["neighbor"]["id"] == a
    neighbor_unlink(actor=boss, neighbor=Neighbor.objects.get(pk=b), reason="Not the same")
    assert Neighbor.objects.get(pk=b).linked_to_id is None
    history = list(Neighbor.history.filter(id=b).order_by("history_id"))
    assert [h.linked_to_id for h in history][-2:] == [a, None]
    assert history[-1].history_user_id == boss.pk
    with pytest.raises(TransitionError):
        neighbor_unlink(actor=boss, neighbor=Neighbor.objects.get(pk=b), reason="again")


def test_seed_demo_loads_a_city_once(roles):
    lines = run("seed_demo", "--responses", "12", "--days", "10")
    assert "Demo city loaded" in lines[-1]
    from heart_cases.models import Case, FieldResponse

    # The 12 CAD encounters asked for, and the workspace's police referral and debrief call.
    assert FieldResponse.objects.count() == 12 + 2
    assert FieldResponse.objects.filter(source="police_referral").count() == 1
    assert Case.objects.exists()
    assert run("seed_demo", "--if-empty")[-1] == "Demo data already loaded; nothing to do."
    assert FieldResponse.objects.count() == 12 + 2
