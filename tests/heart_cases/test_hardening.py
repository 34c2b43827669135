"""Security hardening: login lockout, idle sessions, CSP, throttling, no personal data in
task arguments or logs."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from heart_cases.throttling import TokenRateThrottle
from tests import conftest

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_five_failed_logins_lock_the_client_address_out(client, make_staff):
    make_staff("maria", "clinician", password="correct horse battery")
    codes = [
        client.post("/login/", {"username": "maria", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert codes == [200, 200, 200, 200, 429]  # the fifth failure locks
    locked = client.post("/login/", {"username": "maria", "password": "correct horse battery"})
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    # Another address is not locked out.
    other = client.post(
        "/login/",
        {"username": "maria", "password": "correct horse battery"},
        REMOTE_ADDR="10.9.9.9",
    )
    assert other.status_code == 302


def test_a_forged_forwarded_header_does_not_dodge_the_lockout(client, make_staff):
    make_staff("maria", "clinician", password="correct horse battery")
    for i in range(5):
        client.post(
            "/login/",
            {"username": "maria", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
    locked = client.post(
        "/login/",
        {"username": "maria", "password": "correct horse battery"},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert locked.status_code == 429


def test_a_session_ends_after_thirty_idle_minutes(client, make_staff):
    _user, _ = make_staff("maria", "clinician", password="correct horse battery")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/login/", {"username": "maria", "password": "correct horse battery"})
        assert client.get("/tasks/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/tasks/").status_code == 200  # activity renews the session
    with time_machine.travel(start + timedelta(minutes=29 + 31), tick=False):
        response = client.get("/tasks/")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_pages_carry_a_content_security_policy_without_inline_script(client, make_staff):
    user, _ = make_staff("boss", "supervisor")
    client.force_login(user)
    response = client.get("/tasks/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    for path in ("/tasks/", "/my-cases/", "/notifications/", "/login/", "/api/docs/"):
        html = client.get(path).content.decode()
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert inline == [], (path, inline)


def test_no_template_has_inline_script_or_event_handlers():
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+=", text):
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


def test_the_api_throttles_per_token_with_retry_after(make_staff, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "rate", "3/min", raising=False)
    _, token = make_staff("maria", "clinician")
    _, other_token = make_staff("jamal", "peer")
    client = conftest.token_client(token)
    codes = [client.get("/api/v1/tasks/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert int(client.get("/api/v1/tasks/")["Retry-After"]) > 0
    assert conftest.token_client(other_token).get("/api/v1/tasks/").status_code == 200


def test_throttling_lets_requests_through_when_redis_is_down(make_staff, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "rate", "1/min", raising=False)
    _, token = make_staff("maria", "clinician")
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=dead):
        client = conftest.token_client(token)
        assert [client.get("/api/v1/tasks/").status_code for _ in range(3)] == [200, 200, 200]


def test_no_personal_data_goes_into_task_arguments_or_logs(
    responder, body, caplog, django_capture_on_commit_callbacks, make_pair
):
    from navigation.models import ServiceSchedule

    ServiceSchedule.objects.update(active=False)
    ServiceSchedule.objects.filter(name__startswith="Expanded").update(active=True)
    make_pair("a")
    _, client = responder
    conftest.queued.clear()
    caplog.set_level(logging.DEBUG)
    secret_name, secret_phone, secret_dob = "Zebulon", "+19195550188", "1977-07-07"
    payload = body(
        neighbor={"first_name": secret_name, "phone": secret_phone, "date_of_birth": secret_dob}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/field-responses/", payload, format="json")
    assert response.status_code == 201
    assert conftest.queued, "intake queues the assignment"
    for name, args in conftest.queued:
        assert all(isinstance(arg, int) for arg in args), (name, args)
    # Errors are logged too: a refused body must not echo the neighbor into the log.
    client.post(
        "/api/v1/field-responses/",
        body(narrative="changed", neighbor={"first_name": secret_name}),
        format="json",
    )
    text = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (secret_name, secret_phone, "555 0188", secret_dob):
        assert secret not in text
