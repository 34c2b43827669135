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
WORKER_APP_NAME = "heart-test-worker"
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
        # Names the worker's connections in pg_stat_activity (libpq reads it).
        "PGAPPNAME": WORKER_APP_NAME,
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


def _worker_backends() -> set[int]:
    """The PostgreSQL backends of the worker's connections (other tests may leave their own
    connections to the test database open)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s",
            [WORKER_APP_NAME],
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_worker_keeps_its_database_connection_from_task_to_task(
    worker, make_pair, responder, body
):
    """Celery's Django fixup would close the connection around every task, so that each
    assignment (and each sweep batch) started a new PostgreSQL backend; the worker keeps one,
    as a web process does, for CONN_MAX_AGE (heart_cases.celery)."""
    from navigation.models import ServiceSchedule

    ServiceSchedule.objects.filter(program="CN").update(active=False)
    ServiceSchedule.objects.filter(name__startswith="Expanded").update(active=True)
    make_pair("a", capacity=10)
    _, client = responder
    seen: list[set[int]] = []
    for i in range(4):
        response = client.post(
            "/api/v1/field-responses/",
            body(
                incident_number=f"REUSE-{i}",
                neighbor={
                    "first_name": f"Reuse{i}",
                    "last_name": "Worker",
                    "phone": f"+19195557{i:03d}",
                },
            ),
            format="json",
        )
        assert response.status_code == 201, response.json()
        case_id = response.json()["case"]["id"]
        assert wait_for(
            lambda case_id=case_id: PairAssignment.objects.filter(
                case_id=case_id, ended_at__isnull=True
            ).exists()
        ), f"the worker did not assign case {case_id} within 60 s"
        time.sleep(0.3)  # past the task's end, where the fixup would have closed it
        seen.append(_worker_backends())
    assert all(len(backends) == 1 for backends in seen), seen
    assert len(set.union(*seen)) == 1, f"a new backend for each task: {seen}"
