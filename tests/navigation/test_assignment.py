"""Pair assignment: eligibility, language, continuity, least load; race-free."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import time

import pytest
from django.db import connection, connections

from heart_cases.actors import system_actor
from heart_cases.models import Case
from heart_cases.services import case_close
from navigation.models import FollowUpTask, Notice, PairAssignment, PairDutyWindow
from navigation.services import case_assign_auto, pair_loads

pytestmark = pytest.mark.django_db


def assign(result):
    return case_assign_auto(actor=system_actor("test"), case=result.case)


def test_the_least_loaded_pair_gets_the_case_ties_by_id(make_pair, open_case, expanded_hours):
    first, second = make_pair("a"), make_pair("b")
    assert assign(open_case()).pair == first
    assert assign(open_case()).pair == second
    assert assign(open_case()).pair == first


def test_a_pair_at_capacity_gets_nothing_and_the_case_stays_unassigned(
    make_pair, open_case, expanded_hours
):
    make_pair("a", capacity=1)
    assert assign(open_case()) is not None
    result = open_case()
    assert assign(result) is None
    assert not PairAssignment.objects.filter(case=result.case).exists()


def test_a_spanish_speaking_neighbor_goes_to_a_pair_that_speaks_spanish(
    make_pair, open_case, expanded_hours
):
    make_pair("en")
    bilingual = make_pair("es", languages=("en", "es"))
    assign(open_case())  # loads the bilingual pair's rival? no: ties go to the lower id
    result = assign(open_case(language="es"))
    assert result.pair == bilingual
    assert "speaks es" in result.reason


def test_a_returning_neighbor_goes_back_to_the_pair_that_knew_them(
    make_pair, open_case, expanded_hours
):
    first, _second = make_pair("a"), make_pair("b")
    earlier = open_case(phone="+19195550999")
    assert assign(earlier).pair == first
    case_close(actor=system_actor("test"), case=earlier.case, outcome="connected_to_care")
    assign(open_case())  # first pair now more loaded than second
    again = open_case(phone="+19195550999")
    assert again.case.previous_case_id == earlier.case.pk
    assignment = assign(again)
    assert assignment.pair == first
    assert "knew the neighbor" in assignment.reason


def test_only_pairs_on_duty_before_work_by_are_eligible(make_pair, open_case, expanded_hours):
    weekend_only = make_pair("weekend")
    for day in (5, 6):
        PairDutyWindow.objects.create(pair=weekend_only, weekday=day, starts=time(7), ends=time(19))
    weekday = make_pair("weekday")
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))):
        result = open_case()
        assert assign(result).pair == weekday


def test_assignment_notifies_the_pair_once_and_owns_the_pending_tasks(
    make_pair, open_case, expanded_hours
):
    pair = make_pair("a")
    result = open_case()
    assignment = assign(result)
    assert assign(result) == assignment  # a second run changes nothing
    assert FollowUpTask.objects.get(case=result.case).pair == pair
    notice = Notice.objects.get(kind="assigned")
    assert {n.recipient for n in notice.notifications.all()} == {pair.clinician, pair.peer}
    history = PairAssignment.history.get(id=assignment.pk)
    assert history.history_user.username == "system:test"


def test_a_supervisor_reassigns_with_a_reason_recorded_in_history(
    make_pair, open_case, supervisor, expanded_hours
):
    _first, second = make_pair("a"), make_pair("b")
    result = open_case()
    assign(result)
    boss, client = supervisor
    url = f"/api/v1/cases/{result.case.pk}/assign/"
    response = client.post(url, {"pair": second.pk, "reason": "Speaks Spanish"}, format="json")
    assert response.status_code == 200
    assert response.json()["pair"]["id"] == second.pk
    current = PairAssignment.objects.get(case=result.case, ended_at__isnull=True)
    assert current.pair == second
    assert "Speaks Spanish" in current.reason
    history = client.get(f"/api/v1/cases/{result.case.pk}/history/").json()["results"]
    reassigned = [e for e in history if "Speaks Spanish" in e["reason"]]
    assert reassigned
    assert {e["actor"] for e in reassigned} == {boss.username}
    assert FollowUpTask.objects.get(case=result.case).pair == second
    assert client.post(url, {"pair": 999999}, format="json").status_code == 400
    assert client.post(url, {}, format="json").json()["errors"]["pair"]


def test_only_supervisors_reassign(make_pair, open_case, clients_by_role, expanded_hours):
    pair = make_pair("a")
    result = open_case()
    url = f"/api/v1/cases/{result.case.pk}/assign/"
    for role, client in clients_by_role.items():
        code = client.post(url, {"pair": pair.pk}, format="json").status_code
        expected = {"supervisor": 200, "anonymous": 401}.get(role, 403)
        assert code == expected, role


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks")
def test_twenty_threads_assigning_a_hundred_cases_to_ten_pairs_balance_the_load(
    make_pair, open_case, expanded_hours
):
    pairs = [make_pair(f"p{i}", capacity=12) for i in range(10)]
    cases = [open_case().case for _ in range(100)]
    connections.close_all()
    barrier = threading.Barrier(20)
    actor = system_actor("test")

    def work(chunk):
        try:
            barrier.wait(timeout=30)
            for case in chunk:
                case_assign_auto(actor=actor, case=case)
        finally:
            connections.close_all()

    chunks = [cases[i::20] for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(work, chunks))
    loads = pair_loads()
    assert sum(loads.values()) == 100
    assert set(loads) == {p.pk for p in pairs}
    assert max(loads.values()) - min(loads.values()) <= 1
    assert all(loads[p.pk] <= p.capacity for p in pairs)
    assert (
        Counter(PairAssignment.objects.values_list("case_id", flat=True)).most_common(1)[0][1] == 1
    )
    assert Case.objects.filter(pair_assignments__isnull=True).count() == 0
