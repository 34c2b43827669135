"""The case list's filters and orders (issue 13): GET /api/v1/cases/ and the /cases/ page."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User

from heart_cases.actors import system_actor
from heart_cases.models import AccessLog
from heart_cases.services import (
    FieldResponseInput,
    NeighborInput,
    case_close,
    field_response_record,
)
from navigation.services import pair_assign, pair_create
from tests.conftest import as_user

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("America/New_York")
CALL_TYPES = {"CRT": "Trespass", "COR": "Threat", "CCD": "Suicide threat"}


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=LOCAL)


@pytest.fixture
def cases(make_staff):
    """Four cases, opened and closed in different orders, of different programs and pairs:
    A (CRT, open, pair ana & ben), B (COR, closed last), C (CCD, closed first), D (CRT, open,
    no pair)."""
    responder, _ = make_staff("cad", "responder", service_account=True)
    clinician, _ = make_staff("ana", "clinician", first_name="Ana", last_name="Ruiz")
    peer, _ = make_staff("ben", "peer", first_name="Ben", last_name="Ogle")
    pair = pair_create(actor=clinician, clinician=clinician, peer=peer)
    made = {}
    for n, (name, program, opened) in enumerate(
        [
            ("A", "CRT", at("2026-10-05")),
            ("B", "COR", at("2026-10-10")),
            ("C", "CCD", at("2026-10-20")),
            ("D", "CRT", at("2026-11-01", 23)),
        ],
        start=1,
    ):
        with time_machine.travel(opened, tick=False):
            made[name] = field_response_record(
                actor=responder,
                data=FieldResponseInput(
                    incident_number=f"L-{n}",
                    unit="U-1",
                    program=program,
                    call_type=CALL_TYPES[program],
                    responded_at=opened - timedelta(minutes=30),
                    follow_up_consent=True,
                    neighbor=NeighborInput(
                        first_name=f"Nb{name}", last_name="Test", phone=f"+1919555{n:04d}"
                    ),
                ),
            ).case
    actor = system_actor("t")
    pair_assign(actor=actor, case=made["A"], pair=pair, reason="t")
    with time_machine.travel(at("2026-10-25"), tick=False):
        made["B"] = case_close(actor=actor, case=made["B"], outcome="connected_to_care")
    with time_machine.travel(at("2026-10-21"), tick=False):
        made["C"] = case_close(actor=actor, case=made["C"], outcome="unable_to_reach")
    return made, pair


@pytest.fixture
def navigator(make_staff):
    user, _ = make_staff("maria", "clinician")
    return user, as_user(user)


def names(response, made):
    assert response.status_code == 200, response.content
    by_id = {case.pk: name for name, case in made.items()}
    return [by_id[c["id"]] for c in response.json()["results"]]


def test_the_list_stays_newest_first_without_an_ordering(cases, navigator):
    made, _ = cases
    assert names(navigator[1].get("/api/v1/cases/"), made) == ["D", "C", "B", "A"]


def test_status_and_program_filter_the_list(cases, navigator):
    made, _ = cases
    client = navigator[1]
    assert names(client.get("/api/v1/cases/?status=closed"), made) == ["C", "B"]
    assert names(client.get("/api/v1/cases/?program=CRT"), made) == ["D", "A"]
    assert names(client.get("/api/v1/cases/?program=COR&status=open"), made) == []
    assert names(client.get("/api/v1/cases/?program=CCD&status=closed"), made) == ["C"]


def test_a_case_has_every_program_that_met_its_neighbor(cases, navigator, make_staff):
    made, _ = cases
    responder = User.objects.get(username="cad")
    field_response_record(
        actor=responder,
        data=FieldResponseInput(
            incident_number="L-9",
            unit="U-2",
            program="COR",
            call_type="Threat",
            responded_at=at("2026-11-02"),
            follow_up_consent=True,
            neighbor=NeighborInput(first_name="NbA", last_name="Test", phone="+19195550001"),
        ),
    )
    client = navigator[1]
    assert names(client.get("/api/v1/cases/?program=COR"), made) == ["B", "A"]
    assert names(client.get("/api/v1/cases/?program=CRT"), made) == ["D", "A"]


def test_the_pair_filter_still_answers(cases, navigator):
    made, pair = cases
    assert names(navigator[1].get(f"/api/v1/cases/?pair={pair.pk}"), made) == ["A"]


def test_dates_bound_the_opening_day_in_local_time_both_ends_included(cases, navigator):
    made, _ = cases
    client = navigator[1]
    query = "/api/v1/cases/?opened_after=2026-10-10&opened_before=2026-10-20"
    assert names(client.get(query), made) == ["C", "B"]
    # D opened at 23:00 in Durham on November 1st, which is already the 2nd in UTC.
    assert names(client.get("/api/v1/cases/?opened_before=2026-11-01"), made) == [
        "D",
        "C",
        "B",
        "A",
    ]
    assert names(client.get("/api/v1/cases/?opened_after=2026-11-02"), made) == []


def test_times_with_an_offset_bound_the_list_exactly(cases, navigator):
    made, _ = cases
    client = navigator[1]
    params = {
        "opened_after": at("2026-10-10").isoformat(),
        "opened_before": at("2026-10-20").isoformat(),
    }
    # From the time itself, up to but not including the other.
    assert names(client.get("/api/v1/cases/", params), made) == ["B"]
    params = {"opened_after": "2026-10-10T14:00:01Z"}
    assert names(client.get("/api/v1/cases/", params), made) == ["D", "C"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("opened_at", ["A", "B", "C", "D"]),
        ("-opened_at", ["D", "C", "B", "A"]),
        ("number", ["A", "B", "C", "D"]),
        ("-number", ["D", "C", "B", "A"]),
        ("closed_at", ["C", "B", "A", "D"]),
        ("-closed_at", ["B", "C", "D", "A"]),
        ("status", ["D", "A", "C", "B"]),
    ],
)
def test_each_ordering_sorts_the_list(cases, navigator, ordering, expected):
    made, _ = cases
    assert names(navigator[1].get(f"/api/v1/cases/?ordering={ordering}"), made) == expected


@pytest.mark.parametrize(
    "ordering",
    ["opened_at", "-opened_at", "number", "-number", "closed_at", "-closed_at", "status"],
)
def test_each_ordering_pages_through_every_case_once_both_ways(cases, navigator, ordering):
    made, _ = cases
    client = navigator[1]
    whole = names(client.get(f"/api/v1/cases/?ordering={ordering}"), made)
    seen, url, last = [], f"/api/v1/cases/?ordering={ordering}&page_size=1", None
    while url:
        response = client.get(url)
        seen += names(response, made)
        last, url = url, response.json()["next"]
    assert seen == whole
    # And back from the last page.
    back, url = [], last
    while url:
        response = client.get(url)
        back = names(response, made) + back
        url = response.json()["previous"]
    assert back == whole


def test_filters_and_ordering_combine(cases, navigator):
    made, _ = cases
    client = navigator[1]
    query = "/api/v1/cases/?status=closed&program=CCD&opened_after=2026-10-01&ordering=closed_at"
    assert names(client.get(query), made) == ["C"]
    query = "/api/v1/cases/?status=open&opened_after=2026-10-01&ordering=opened_at"
    assert names(client.get(query), made) == ["A", "D"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("program=XYZ", "program"),
        ("opened_after=yesterday", "opened_after"),
        ("opened_after=2026-13-45", "opened_after"),
        ("opened_before=2026-10-10T10:00:00", "opened_before"),  # no offset
        ("opened_before=1900-01-01", "opened_before"),
        ("opened_after=9999-12-31", "opened_after"),
        ("opened_before=2026-10-10T10:00:00%2B99:00", "opened_before"),
        ("opened_after=" + "1" * 50, "opened_after"),
        ("opened_after=2026-10-20&opened_before=2026-10-10", "opened_after"),
        ("ordering=name", "ordering"),
        ("ordering=-status", "ordering"),
        ("ordering=opened_at&cursor=bz1hYmM%3D", "cursor"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(cases, navigator, query, field):
    response = navigator[1].get(f"/api/v1/cases/?{query}")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert not AccessLog.objects.filter(action="list").exists()


def test_an_unknown_ordering_lists_the_choices(navigator):
    response = navigator[1].get("/api/v1/cases/?ordering=name")
    message = response.json()["errors"]["ordering"][0]
    for choice in ("opened_at", "-opened_at", "number", "-number", "closed_at", "status"):
        assert choice in message


def test_a_cursor_of_one_ordering_is_refused_by_another(cases, navigator):
    client = navigator[1]
    first = client.get("/api/v1/cases/?ordering=status&page_size=1").json()
    cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    response = client.get("/api/v1/cases/", {"ordering": "opened_at", "cursor": cursor})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cursor"]
    forged = client.get("/api/v1/cases/", {"ordering": "-closed_at", "cursor": "cD1hYmM%3D"})
    assert forged.status_code == 400


def test_the_list_is_access_logged_with_the_ids_shown(cases, navigator):
    made, _ = cases
    user, client = navigator
    client.get("/api/v1/cases/?program=CRT")
    entry = AccessLog.objects.get(action="list")
    assert entry.user_id == user.pk
    assert entry.object_type == "case"
    assert sorted(entry.object_ids) == sorted([made["A"].pk, made["D"].pk])


def test_the_list_keeps_to_a_query_budget_whatever_the_ordering(
    cases, navigator, django_assert_max_num_queries
):
    for ordering in ("status", "closed_at", "opened_at"):
        with django_assert_max_num_queries(8):
            response = navigator[1].get(
                f"/api/v1/cases/?ordering={ordering}&program=CRT&opened_after=2026-10-01"
            )
        assert response.status_code == 200


def test_only_staff_who_see_cases_may_list_them(cases, clients_by_role):
    expected = {
        "clinician": 200,
        "peer": 200,
        "supervisor": 200,
        "responder": 403,
        "provider": 403,
        "analyst": 403,
        "anonymous": 401,
    }
    got = {
        role: client.get("/api/v1/cases/?ordering=status&program=CRT").status_code
        for role, client in clients_by_role.items()
    }
    assert got == expected


def test_the_schema_describes_the_new_filters(navigator):
    response = navigator[1].get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/cases/"]["get"]["parameters"]}
    assert {"program", "opened_after", "opened_before", "ordering"} <= set(parameters)
    assert set(parameters["program"]["schema"]["enum"]) == {"CCD", "CRT", "COR"}
    assert "-closed_at" in parameters["ordering"]["schema"]["enum"]


# --- the page -----------------------------------------------------------------------------


def test_the_page_filters_sorts_and_labels(cases, client, navigator, django_assert_max_num_queries):
    made, pair = cases
    client.force_login(navigator[0])
    with django_assert_max_num_queries(14):
        response = client.get(
            "/cases/",
            {"status": "", "program": "", "pair": "", "ordering": "-closed_at", "opened_after": ""},
        )
    assert response.status_code == 200
    page = response.content.decode()
    numbers = [made[n].number for n in ("B", "C", "D", "A")]
    assert [page.index(n) for n in numbers] == sorted(page.index(n) for n in numbers)
    assert "Connected to care" in page
    assert "Community Response Team" in page
    assert "Ana Ruiz &amp; Ben Ogle" in page
    assert f'href="/cases/{made["A"].pk}/"' in page
    assert f'href="/neighbors/{made["A"].neighbor_id}/"' in page
    # Opened in local time: 23:00 on November 1st, not 03:00 on the 2nd.
    assert "Sun Nov 1, 23:00" in page
    entry = AccessLog.objects.get(action="list")
    assert sorted(entry.object_ids) == sorted(c.pk for c in made.values())
    closed = client.get("/cases/", {"status": "closed", "pair": str(pair.pk)}).content.decode()
    assert made["A"].number not in closed
    assert made["B"].number not in closed


def test_the_page_shows_bad_filters_in_the_form_and_lists_nothing(cases, client, navigator):
    made, _ = cases
    client.force_login(navigator[0])
    response = client.get("/cases/", {"opened_after": "2026-10-20", "opened_before": "2026-10-01"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Opened from: The start of the range is after its end." in page
    assert 'id="f-opened-after" name="opened_after" type="date" value="2026-10-20"' in page
    assert made["A"].number not in page
    assert not AccessLog.objects.filter(action="list").exists()


def test_the_page_links_keep_the_filters(cases, client, navigator):
    client.force_login(navigator[0])
    response = client.get("/cases/", {"program": "CRT", "ordering": "opened_at", "page_size": 1})
    next_link = response.context["links"]["next"]
    query = parse_qs(urlsplit(next_link).query)
    assert query["program"] == ["CRT"]
    assert query["ordering"] == ["opened_at"]
    second = client.get(next_link)
    made, _ = cases
    assert [row["case"].pk for row in second.context["rows"]] == [made["D"].pk]


def test_the_page_is_for_navigators_only(cases, client, make_staff):
    for role, expected in (
        ("clinician", 200),
        ("peer", 200),
        ("supervisor", 200),
        ("responder", 403),
        ("provider", 403),
        ("analyst", 403),
    ):
        user, _ = make_staff(f"{role}-x", role)
        client.force_login(user)
        assert client.get("/cases/").status_code == expected, role
    client.logout()
    assert client.get("/cases/").status_code == 302
