"""The database goes away while people are logged in: every logged-in browser sends its session
cookie, and the session is saved on the way out, after the middleware that answers 503. The
answer must still be the 503 to retry, never a 500 (issue 12)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="moves the PostgreSQL port"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def database_unreachable() -> Iterator[None]:
    """Every new connection is refused, as when the server is down: the test's connection is
    pointed at a port where nothing listens."""
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved


@pytest.fixture
def logged_in(make_staff) -> Client:
    user, _ = make_staff("maria", "clinician")
    browser = Client(raise_request_exception=False)
    browser.force_login(user)
    assert browser.get("/tasks/").status_code == 200
    return browser


@pytest.mark.parametrize("path", ["/tasks/", "/", "/cases/1/", "/access-log/", "/provider/"])
def test_a_page_with_a_session_cookie_answers_503_when_the_database_is_down(logged_in, path):
    with database_unreachable():
        response = logged_in.get(path)
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "5"
    assert b"nothing was saved" in response.content


def test_an_api_call_with_a_session_cookie_answers_json_503(logged_in):
    with database_unreachable():
        response = logged_in.get("/api/v1/tasks/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "Try again" in response.json()["detail"]


def test_a_form_post_with_a_session_cookie_answers_503(logged_in):
    with database_unreachable():
        response = logged_in.post("/tasks/1/attempts/", {"method": "phone"})
    assert response.status_code == 503


def test_the_session_still_works_once_the_database_is_back(logged_in):
    with database_unreachable():
        logged_in.get("/tasks/")
    assert logged_in.get("/tasks/").status_code == 200
