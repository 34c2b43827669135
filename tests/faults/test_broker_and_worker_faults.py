"""Redis goes away in the middle of intake, and a worker dies mid-work: nothing is lost and
nothing is doubled (DESIGN.md: the database is the source of truth, the sweep catches up)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import connection

from heart_cases.models import Case
from navigation.models import FollowUpTask, Notice, Notification, PairAssignment, ServiceSchedule
from tests.conftest import field_response_body

from .stack import PrivateRedis, Stack, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the stack shares PostgreSQL"),
]


@pytest.fixture
def stack(make_pair):
    ServiceSchedule.objects.filter(program="CN").update(active=False)
    ServiceSchedule.objects.filter(name__startswith="Expanded").update(active=True)
    for name in "abcd":
        make_pair(name, capacity=100)
    redis = PrivateRedis()
    redis.start()
    running = Stack(redis)
    try:
        yield running
    finally:
        running.stop()
        redis.stop()


def intake_body(i: int) -> dict:
    return field_response_body(
        incident_number=f"F-{i:04d}",
        neighbor={"first_name": f"N{i}", "last_name": "Fault", "phone": f"+1919555{i:04d}"},
    )


def test_redis_down_for_the_middle_third_of_200_intakes_loses_nothing(stack, make_staff):
    _, token = make_staff("cad", "responder", service_account=True)
    stack.start_web()
    stack.start_worker()
    stack.start_beat()
    slowest = slowest_healthy = 0.0
    for i in range(200):
        if i == 67:
            stack.redis.stop()
        if i == 134:
            stack.redis.start()
            back = time.monotonic()
        started = time.monotonic()
        code, data = stack.post("/api/v1/field-responses/", token, intake_body(i))
        elapsed = time.monotonic() - started
        assert code == 201, (i, code, data)
        if i < 67:
            # Redis is up. The first requests meet cold gunicorn workers while the Celery worker
            # and beat are still starting on the same two cores (2.5 s was seen in CI), so this
            # phase only has to succeed; it is not what the bound below is about.
            slowest_healthy = max(slowest_healthy, elapsed)
            continue
        # With Redis gone, intake must not wait on the broker (a publish is tried once, briefly,
        # and the sweep catches up): no request of the outage or of the return hangs.
        slowest = max(slowest, elapsed)
        assert elapsed < 2.0, (i, elapsed)
    assert Case.objects.count() == 200
    assert FollowUpTask.objects.filter(kind="follow_up").count() == 200
    assigned = wait_for(
        lambda: PairAssignment.objects.filter(ended_at__isnull=True).count() == 200,
        seconds=120 - (time.monotonic() - back),
        step=1,
    )
    assert assigned, (
        f"{PairAssignment.objects.count()} of 200 assigned 2 minutes after Redis returned"
    )
    assert (
        Counter(PairAssignment.objects.values_list("case_id", flat=True)).most_common(1)[0][1] == 1
    )
    print(f"slowest intake while Redis was up at the start: {slowest_healthy:.3f} s")
    print(f"slowest intake while Redis was down or back: {slowest:.3f} s")
    print(f"processes the supervisor started again: {stack.restarts or 'none'}")


def test_a_worker_killed_mid_assignment_leaves_each_effect_recorded_once(stack, make_staff):
    _, token = make_staff("cad", "responder", service_account=True)
    stack.start_web()
    for i in range(120):
        code, _ = stack.post("/api/v1/field-responses/", token, intake_body(i))
        assert code == 201
    stack.start_worker("doomed")
    assert wait_for(lambda: PairAssignment.objects.count() >= 15, 60, step=0.05)
    stack.kill("doomed")
    partial = PairAssignment.objects.count()
    assert partial < 120, "the worker finished before it could be killed"
    stack.start_worker("survivor")
    stack.start_beat()
    assert wait_for(lambda: PairAssignment.objects.count() == 120, 150, step=1), (
        f"{PairAssignment.objects.count()} of 120 assigned after the restart"
    )
    time.sleep(2)  # let anything still in flight land before counting
    assert PairAssignment.objects.count() == 120
    assert (
        Counter(PairAssignment.objects.values_list("case_id", flat=True)).most_common(1)[0][1] == 1
    )
    notices = Notice.objects.filter(kind="assigned")
    assert notices.count() == 120
    assert Notification.objects.filter(notice__kind="assigned").count() == 240
    per_task = Counter(FollowUpTask.objects.values_list("pair_id", flat=True))
    assert sum(per_task.values()) == 120
