from __future__ import annotations

import pytest
from django.core.management import call_command

from heart_cases.models import AccessLog, Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(roles):
    call_command("seed_demo", "--responses", "30", "--days", "10", stdout=None)


def login(client, username):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "Log in" in client.get("/login/").content.decode()


def test_navigators_land_on_the_task_list_and_providers_on_their_inbox(client, demo):
    login(client, "clinician1")
    assert client.get("/")["Location"] == "/tasks/"
    login(client, "supervisor")
    assert client.get("/")["Location"] == "/tasks/"
    login(client, "analyst")
    assert client.get("/")["Location"] == "/metrics/"


def test_a_clinician_sees_only_their_pairs_open_cases(client, demo):
    login(client, "clinician1")
    page = client.get("/my-cases/").content.decode()
    mine = Case.objects.filter(
        status="open",
        pair_assignments__ended_at__isnull=True,
        pair_assignments__pair__clinician__username="clinician1",
    )
    others = Case.objects.filter(status="open").exclude(pk__in=mine)
    assert mine.exists()
    assert others.exists()
    for case in mine:
        assert case.number in page
    for case in others:
        assert case.number not in page
    logged = AccessLog.objects.get(action="list")
    assert sorted(logged.object_ids) == sorted(mine.values_list("id", flat=True))


def test_a_supervisor_sees_every_open_case(client, demo):
    login(client, "supervisor")
    page = client.get("/my-cases/").content.decode()
    for case in Case.objects.filter(status="open"):
        assert case.number in page


def test_the_home_page_query_count_does_not_grow_with_cases(
    client, demo, django_assert_max_num_queries
):
    login(client, "supervisor")
    with django_assert_max_num_queries(12):
        client.get("/my-cases/")


def test_the_case_page_shows_the_timeline_and_is_access_logged(client, demo):
    login(client, "supervisor")
    case = Case.objects.filter(status="closed").first()
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert case.number in page
    assert "Timeline" in page
    assert "CAD integration" in page
    assert AccessLog.objects.filter(action="view", case_id=case.pk).exists()


def test_provider_staff_cannot_open_a_case_page(client, demo):
    login(client, "provider-casa")
    case = Case.objects.first()
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert AccessLog.objects.filter(outcome="denied").exists()
