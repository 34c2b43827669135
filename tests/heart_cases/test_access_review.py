"""Access review (issue 16): the access log answers an auditor's questions — who read this case
or neighbor, what one person read between dates, the break-the-glass reads — on the page and
the API, paged, and as CSV (an export that is itself logged)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from heart_cases.models import AccessLog, Case
from heart_cases.services import (
    access_log_write,
)
from navigation.services import pair_assign
from tests.conftest import as_user, record_case

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
DAY = datetime(2026, 11, 16, tzinfo=NY)  # a Monday


def record(responder, *, n: int, first_name: str, last_name: str) -> Case:
    return record_case(responder, n=n, first_name=first_name, last_name=last_name, prefix="AR")


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def log(make_staff, make_pair, responder):
    """Two neighbors' cases of pair B, read over three days by pair A's peer (breaking the
    glass once), pair B's clinician and a supervisor; and a case list that showed both."""
    pair_a, pair_b = make_pair("a"), make_pair("b")
    supervisor, _ = make_staff("dana", "supervisor")
    jose = record(responder[0], n=1, first_name="José", last_name="De la Cruz")
    ana = record(responder[0], n=2, first_name="Ana", last_name="Diaz")
    for case in (jose, ana):
        pair_assign(actor=supervisor, case=case, pair=pair_b, reason="test")
    with time_machine.travel(DAY + timedelta(hours=10), tick=False):
        as_user(pair_b.clinician).get(f"/api/v1/cases/{jose.pk}/")
    with time_machine.travel(DAY + timedelta(days=1, hours=23, minutes=30), tick=False):
        # 23:30 in New York is already the next day in UTC: still Tuesday's read.
        as_user(pair_a.peer).get(f"/api/v1/cases/{jose.pk}/?access_reason=Covering+for+B")
    with time_machine.travel(DAY + timedelta(days=2, hours=9), tick=False):
        as_user(pair_b.clinician).get(f"/api/v1/cases/{ana.pk}/history/")
        as_user(supervisor).get("/api/v1/cases/")  # a list that showed both cases
    return {"a": pair_a, "b": pair_b, "boss": supervisor, "jose": jose, "ana": ana}


def reads(entries: list[dict]) -> list[tuple]:
    return [(e["user"], e["object_type"], e["case"]) for e in entries if e["action"] != "list"]


def test_by_case_id_and_by_case_number(log):
    boss, jose = as_user(log["boss"]), log["jose"]
    by_id = results(boss.get(f"/api/v1/access-log/?case={jose.pk}"))
    by_number = results(boss.get(f"/api/v1/access-log/?case={jose.number.lower()}"))
    assert by_id == by_number
    assert reads(by_id) == [("a-p", "case", jose.pk), ("b-c", "case", jose.pk)]
    if connection.vendor == "postgresql":  # the list that showed the case, by its object ids
        assert [e["user"] for e in by_id if e["action"] == "list"] == ["dana"]


def test_by_neighbor_name_without_case_or_accents_and_by_id(log):
    boss, jose = as_user(log["boss"]), log["jose"]
    for name in ("jose de la", "DELACRUZ", "José", "cruz jos"):
        found = results(boss.get("/api/v1/access-log/", {"neighbor": name}))
        assert reads(found) == [("a-p", "case", jose.pk), ("b-c", "case", jose.pk)], name
    by_id = results(boss.get(f"/api/v1/access-log/?neighbor={jose.neighbor_id}"))
    assert reads(by_id) == reads(found)


def test_by_person_between_dates_inclusive_in_local_time(log):
    boss = as_user(log["boss"])
    clinician = log["b"].clinician
    by_name = results(boss.get("/api/v1/access-log/?user=B-C"))
    by_id = results(boss.get(f"/api/v1/access-log/?user={clinician.pk}"))
    assert by_name == by_id
    assert [e["object_type"] for e in by_id] == ["case_history", "case"]
    monday = results(boss.get("/api/v1/access-log/?user=b-c&from=2026-11-16&to=2026-11-16"))
    assert [e["case"] for e in monday] == [log["jose"].pk]
    tuesday = results(boss.get("/api/v1/access-log/?from=2026-11-17&to=2026-11-17"))
    assert [e["user"] for e in tuesday] == ["a-p"]
    since_wednesday = results(boss.get("/api/v1/access-log/?from=2026-11-18"))
    assert {e["user"] for e in since_wednesday} == {"b-c", "dana"}


def test_break_the_glass_reads_only_and_their_reason(log):
    boss = as_user(log["boss"])
    flagged = results(boss.get("/api/v1/access-log/?break_glass=true"))
    assert [(e["user"], e["reason"], e["case"]) for e in flagged] == [
        ("a-p", "Covering for B", log["jose"].pk)
    ]
    others = results(boss.get("/api/v1/access-log/?break_glass=false"))
    assert others
    assert all(e["reason"] is None for e in others)
    combined = results(boss.get(f"/api/v1/access-log/?break_glass=true&case={log['ana'].pk}"))
    assert combined == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("case=HC-2026-999999", "case"),
        ("case=abc", "case"),
        ("case=99999999999999999999999", "case"),
        ("case=%C2%B2", "case"),
        ("neighbor=x", "neighbor"),
        ("neighbor=Nobody+Atall", "neighbor"),
        ("neighbor=%00%00", "neighbor"),
        ("user=ghost", "user"),
        ("user=99999999999", "user"),
        ("from=2026-13-01", "from"),
        ("from=0001-01-01", "from"),
        ("to=9999-12-31", "to"),
        ("from=2026-11-18&to=2026-11-17", "to"),
        ("break_glass=perhaps", "break_glass"),
        ("case=" + "1" * 41, "case"),
    ],
)
def test_bad_filters_are_400_naming_the_field_on_the_api_and_visible_on_the_page(
    log, client, query, field
):
    for path in ("/api/v1/access-log/", "/api/v1/access-log/export/"):
        response = as_user(log["boss"]).get(f"{path}?{query}")
        assert response.status_code == 400, (path, query, response.content)
        assert field in response.json()["errors"], response.json()
    client.force_login(log["boss"])
    page = client.get(f"/access-log/?{query}")
    assert page.status_code == 400
    assert 'role="alert"' in page.content.decode()
    assert not AccessLog.objects.filter(action="export").exists()


def test_a_name_too_common_asks_for_more(log, responder):
    for n in range(3, 55):
        record(responder[0], n=n, first_name="Ana", last_name=f"Perez{n}")
    response = as_user(log["boss"]).get("/api/v1/access-log/?neighbor=ana")
    assert response.status_code == 400
    assert "More than 50" in response.json()["errors"]["neighbor"][0]


def test_only_supervisors_review_the_access_log(log, client):
    for person in (log["a"].peer, log["b"].clinician):
        assert as_user(person).get("/api/v1/access-log/").status_code == 403
        assert as_user(person).get("/api/v1/access-log/export/").status_code == 403
        client.force_login(person)
        assert client.get("/access-log/").status_code == 403
    assert APIClient().get("/api/v1/access-log/export/").status_code == 401


# --- CSV ----------------------------------------------------------------------------------


def test_the_csv_export_holds_the_filtered_entries_and_is_itself_logged(log):
    boss = as_user(log["boss"])
    response = boss.get("/api/v1/access-log/export/?neighbor=jose+de+la&break_glass=true")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["user"], r["case_number"], r["reason"], r["outcome"]) for r in rows] == [
        ("a-p", log["jose"].number, "Covering for B", "allowed")
    ]
    assert rows[0]["at"].startswith("2026-11-17T23:30:00-05:00")
    export = AccessLog.objects.get(action="export")
    assert export.user == log["boss"]
    assert export.object_type == "access_log"
    # The filters as ids, never the name typed (which may itself identify someone).
    assert f"neighbor={log['jose'].neighbor_id}" in export.path
    assert "break_glass=true" in export.path
    assert "jose" not in export.path.lower()


def test_the_csv_defuses_cells_a_spreadsheet_would_run(log):
    access_log_write(
        user=log["a"].peer,
        action="view",
        object_type="case",
        object_ids=[log["ana"].pk],
        case_id=log["ana"].pk,
        reason='=HYPERLINK("http://evil.example/","x")',
    )
    response = as_user(log["boss"]).get("/api/v1/access-log/export/?break_glass=true")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["reason"] == '\'=HYPERLINK("http://evil.example/","x")'


def test_the_page_links_to_the_csv_with_its_filters(log, client):
    client.force_login(log["boss"])
    page = client.get("/access-log/?case=" + log["jose"].number + "&break_glass=true")
    html = page.content.decode()
    expected = f"/api/v1/access-log/export/?case={log['jose'].number}&amp;break_glass=true"
    assert expected in html
    assert "Covering for B" in html
    assert 'class="break-glass"' in html
    download = client.get(f"/api/v1/access-log/export/?case={log['jose'].number}&break_glass=true")
    assert download.status_code == 200
    assert "Covering for B" in b"".join(download.streaming_content).decode()


# --- pages and budgets --------------------------------------------------------------------


def test_the_page_shows_each_filter_and_pages_by_100(log, client):
    client.force_login(log["boss"])
    by_neighbor = client.get("/access-log/", {"neighbor": "de la cruz"}).content.decode()
    assert log["jose"].number in by_neighbor
    assert log["ana"].number not in by_neighbor
    by_dates = client.get("/access-log/?from=2026-11-17&to=2026-11-17").content.decode()
    assert "Covering for B" in by_dates
    assert "b-c" not in by_dates
    entries = [
        AccessLog(user=log["a"].peer, action="view", object_type="case", case_id=log["ana"].pk)
        for _ in range(230)
    ]
    AccessLog.objects.bulk_create(entries)
    first = client.get("/access-log/?user=a-p")
    assert first.status_code == 200
    assert len(first.context["rows"]) == 100
    assert first.context["links"]["previous"] is None
    second = client.get(first.context["links"]["next"])
    assert len(second.context["rows"]) == 100
    third = client.get(second.context["links"]["next"])
    assert len(third.context["rows"]) == 31
    assert third.context["links"]["next"] is None
    seen = {r["entry"].pk for page in (first, second, third) for r in page.context["rows"]}
    assert len(seen) == 231
    assert 'rel="prev"' in third.content.decode()


def test_the_page_and_the_api_stay_within_a_query_budget(
    log, client, django_assert_max_num_queries
):
    cases = [log["jose"], log["ana"]]
    AccessLog.objects.bulk_create(
        AccessLog(
            user=log["a"].peer if n % 2 else log["b"].peer,
            action="view",
            object_type="case",
            case_id=cases[n % 2].pk,
            reason="covering" if n % 3 == 0 else "",
        )
        for n in range(150)
    )
    boss = as_user(log["boss"])
    with django_assert_max_num_queries(4):
        assert len(results(boss.get("/api/v1/access-log/?page_size=200"))) == 154
    with django_assert_max_num_queries(5):
        results(boss.get(f"/api/v1/access-log/?neighbor={quote('de la cruz')}&from=2026-11-01"))
    client.force_login(log["boss"])
    with django_assert_max_num_queries(12):
        assert client.get("/access-log/").status_code == 200
    with django_assert_max_num_queries(15):
        page = client.get("/access-log/?case=" + log["ana"].number + "&neighbor=ana&user=a-p")
        assert page.status_code == 200
    with django_assert_max_num_queries(5):
        export = boss.get("/api/v1/access-log/export/")
        lines = b"".join(export.streaming_content).decode().splitlines()
    assert len(lines) == 1 + 154 + 1  # the header, the entries, and the export's own entry
