"""Meta-tests: migrations match the models; every named page renders; settings fail fast."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import get_resolver, reverse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit as exc:  # makemigrations --check exits 1 when something is missing
        pytest.fail(f"Missing migrations:\n{out.getvalue()} ({exc})")


PAGES_WITHOUT_ARGUMENTS = [
    "home",
    "login",
    "api-docs",
    "schema",
    "healthz",
    "admin:index",
    "tasks",
    "open-cases",
    "case-list-page",
    "notifications",
    "provider-inbox",
    "access-log-page",
    "metrics-dashboard",
    "neighbor-search",
    "possible-duplicates-page",
    "field-response-new",
    "debriefs-page",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES_WITHOUT_ARGUMENTS)
def test_every_named_page_renders_for_an_admin(client, make_staff, name):
    user, _ = make_staff("root", "admin", password="long-enough-password-1")
    client.force_login(user)
    response = client.get(reverse(name), follow=True)
    assert response.status_code == 200, (name, response.status_code)


def test_the_list_of_pages_covers_every_named_url_without_arguments():
    resolver = get_resolver()
    without_args = {
        name
        for name, patterns in resolver.reverse_dict.items()
        if isinstance(name, str) and any(not params for _, params in patterns[0])
    }
    post_only = {"logout", "session-extend", "set-language"}
    # Not pages: /fhir/Task answers provider systems only (the role table checks every role).
    apis = {"fhir-task-search"}
    assert without_args - post_only - apis <= set(PAGES_WITHOUT_ARGUMENTS), without_args


def test_the_server_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_DEBUG"] = "false"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_a_bad_boolean_in_the_environment_says_which_variable():
    env = {**os.environ, "DJANGO_DEBUG": "perhaps"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr
