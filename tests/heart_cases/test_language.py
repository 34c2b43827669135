"""The interface language (issue 14): the header's menu, each person's choice kept on their
account and used on every page after login, and the API by Accept-Language first, then the
account's choice."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from heart_cases.models import StaffProfile
from tests.conftest import token_client
from tests.i18n import back_to_english, compile_catalog

pytestmark = pytest.mark.django_db
compile_catalog()
__all__ = ["back_to_english"]  # autouse: English again after each test


@pytest.fixture
def clinician(make_staff: Any) -> tuple[Any, str]:
    return make_staff("lucia", "clinician", first_name="Lucía", last_name="Reyes")


def test_every_page_offers_the_language_menu_and_login_follows_the_browser(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert 'action="/language/"' in page
    assert 'name="language" value="es"' in page
    assert 'lang="en"' in page
    assert "Log in" in page

    spanish = client.get("/login/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="es">' in spanish
    assert "Iniciar sesión" in spanish
    assert "Log in" not in spanish


def test_a_choice_before_login_is_kept_in_a_cookie(client: Client) -> None:
    response = client.post("/language/", {"language": "es", "next": "/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert response.cookies["django_language"].value == "es"
    assert "Iniciar sesión" in client.get("/login/").content.decode()


def test_a_logged_in_choice_is_kept_on_the_account_and_used_after_the_next_login(
    clinician: tuple[Any, str],
) -> None:
    user, _ = clinician
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(user)
    assert "My open cases" in browser.get("/my-cases/").content.decode()

    response = browser.post("/language/", {"language": "es", "next": "/my-cases/"})
    assert response.status_code == 302
    assert StaffProfile.objects.get(user=user).language == "es"
    page = browser.get("/my-cases/").content.decode()
    assert "Mis casos abiertos" in page
    assert "My open cases" not in page
    # The change is in the account's history, with its actor.
    last = StaffProfile.history.filter(user_id=user.pk).latest("history_date")
    assert last.language == "es"
    assert last.history_user_id == user.pk

    # Another browser, English by its settings and with no cookie: the account's choice wins.
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.post("/login/", {"username": "lucia", "password": "x"})  # wrong: still English
    other.force_login(user)
    assert "Mis casos abiertos" in other.get("/my-cases/").content.decode()


def test_a_language_that_is_not_offered_changes_nothing(clinician: tuple[Any, str]) -> None:
    user, _ = clinician
    browser = Client()
    browser.force_login(user)
    response = browser.post("/language/", {"language": "fr", "next": "/my-cases/"})
    assert response.status_code == 302
    assert StaffProfile.objects.get(user=user).language == ""
    assert "My open cases" in browser.get("/my-cases/").content.decode()
    assert browser.get("/language/").status_code == 405


def test_the_api_answers_by_accept_language_first_then_by_the_account(
    clinician: tuple[Any, str],
) -> None:
    user, token = clinician
    api = token_client(token)
    # No header, no choice: English.
    response = api.get("/api/v1/cases/?page_size=0")
    assert response.status_code == 400
    assert "A whole number from 1 to" in str(response.json())

    response = api.get("/api/v1/cases/?page_size=0", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert "Un número entero de 1 a" in str(response.json())
    assert response["Content-Language"] == "es"

    StaffProfile.objects.filter(user=user).update(language="es")
    response = api.get("/api/v1/cases/?page_size=0")
    assert "Un número entero de 1 a" in str(response.json())
    # The call's own header still wins over the account.
    response = api.get("/api/v1/cases/?page_size=0", HTTP_ACCEPT_LANGUAGE="en")
    assert "A whole number from 1 to" in str(response.json())
    response = api.get("/api/v1/no-such-endpoint/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("No hay ningún punto de la API")


def test_choice_labels_and_messages_follow_the_language(clinician: tuple[Any, str]) -> None:
    from django.utils import translation

    from heart_cases.models import Case
    from heart_cases.roles import Role

    with translation.override("es"):
        assert str(Case.Status.OPEN.label) == "Abierto"
        assert str(Role.PEER.label) == "Especialista de pares"
        assert str(Role.CLINICIAN.label) == "Clínico(a)"
    assert str(Case.Status.OPEN.label) == "Open"


def test_the_accounts_language_costs_the_api_no_query(clinician: tuple[Any, str]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user, token = clinician
    api = token_client(token)
    api.get("/api/v1/cases/")  # warm: the first call may load what later calls reuse
    with CaptureQueriesContext(connection) as english:
        assert api.get("/api/v1/cases/").status_code == 200
    StaffProfile.objects.filter(user=user).update(language="es")
    response = api.get("/api/v1/cases/?page_size=0")
    assert "Un número entero de 1 a" in str(response.json())
    with CaptureQueriesContext(connection) as spanish:
        assert api.get("/api/v1/cases/").status_code == 200
    assert len(spanish) == len(english)


def test_notices_follow_the_language_chosen_for_the_pages(make_staff: Any) -> None:
    from navigation.notices import recipient_language

    user, _ = make_staff("rosa", "peer", languages=["en", "es"])
    assert recipient_language(user) == "en"  # the first language they speak
    StaffProfile.objects.filter(user=user).update(language="es")
    user = type(user).objects.select_related("staff_profile").get(pk=user.pk)
    assert recipient_language(user) == "es"
