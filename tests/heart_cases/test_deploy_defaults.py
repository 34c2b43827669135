"""Production defaults are the secure ones: only the three variables every deployment sets, and
Django's deployment checklist passes; plain HTTP is redirected, except the health check."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path) -> dict[str, str]:
    """Exactly what a deployment must set, plus a PATH and a scratch database."""
    return {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "heart.example.org",
    }


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deployment_checklist_passes_with_only_the_required_settings(tmp_path):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr


PROBE = textwrap.dedent(
    """
    import json

    import django
    from django.test import Client

    django.setup()
    client = Client(HTTP_HOST="heart.example.org")
    page = client.get("/tasks/")
    health = client.get("/healthz", REMOTE_ADDR="127.0.0.1")
    loopback = Client(HTTP_HOST="127.0.0.1:8000").get("/healthz", REMOTE_ADDR="127.0.0.1")
    print(json.dumps({
        "page": [page.status_code, page.get("Location", "")],
        "health": [health.status_code, health.get("Location", "")],
        "loopback": [loopback.status_code, loopback.get("Location", "")],
    }))
    """
)


def test_production_redirects_plain_http_but_answers_the_health_check_on_loopback(tmp_path):
    env = {**production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "heart_cases.settings"}
    result = run_python(["-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["page"] == [301, "https://heart.example.org/tasks/"]
    status, location = answers["health"]
    assert status in (200, 503)  # answered; 503 would say the database is down
    assert location == ""
    # A probe that names the loopback address, not the public host, is answered too.
    status, location = answers["loopback"]
    assert status in (200, 503)
    assert location == ""
