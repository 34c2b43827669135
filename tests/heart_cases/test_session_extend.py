"""POST /session/extend/, the session warning's "Stay logged in" (WCAG 2.2.1)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_extends_a_live_session(client, make_staff):
    user, _ = make_staff("maria", "clinician")
    client.force_login(user)
    key = client.session.session_key
    before = Session.objects.get(session_key=key).expire_date
    response = client.post("/session/extend/")
    assert response.status_code == 200
    assert response.json()["expires_in"] > 0
    assert Session.objects.get(session_key=key).expire_date >= before


def test_an_ended_session_is_a_json_401_and_a_get_is_405(client):
    response = client.post("/session/extend/")
    assert response.status_code == 401
    assert response.json()["detail"] == "The session has ended."
    assert client.get("/session/extend/").status_code == 405


def test_it_checks_csrf(make_staff):
    user, _ = make_staff("maria", "clinician")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post("/session/extend/").status_code == 403
