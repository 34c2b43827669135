"""A real Celery worker against the real Redis assigns the pair after intake commits."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from heart_cases import celery_app
from navigation.models import Notice, PairAssignment

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker needs a shared DB"),
]


@pytest.fixture
def worker():
    """A worker on the test broker (`make test` points REDIS_URL at Redis database 15, which
    `make run` does not use), emptied of earlier tests' messages first."""
    celery_app.control.purge()
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"),
        "DJANGO_SECRET_KEY": "worker-test",
        "DJANGO_DEBUG": "false",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "heart_cases",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_assigns_the_pair_and_notifies_it(worker, make_pair, responder, body):
    from navigation.models import ServiceSchedule

    ServiceSchedule.objects.filter(program="CN").update(active=False)
    ServiceSchedule.objects.filter(name__startswith="Expanded").update(active=True)
    pair = make_pair("a")
    _, client = responder
    response = client.post("/api/v1/field-responses/", body(), format="json")
    assert response.status_code == 201
    case_id = response.json()["case"]["id"]
    assert wait_for(
        lambda: PairAssignment.objects.filter(case_id=case_id, ended_at__isnull=True).exists()
    ), "the worker did not assign the case within 60 s"
    assignment = PairAssignment.objects.get(case_id=case_id)
    assert assignment.pair == pair
    history = PairAssignment.history.get(id=assignment.pk)
    assert history.history_user.username == "system:navigation.assign_case"
    assert Notice.objects.filter(kind="assigned", case_id=case_id).count() == 1
    assert worker.poll() is None
