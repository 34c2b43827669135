"""A supervisor's review of possible duplicates (API.md, "Neighbors: find, see, link"; issue
13): list, link (choosing which record stays), dismiss, unlink; 409 for a pair already
resolved; nothing deleted or overwritten; every change in history with the supervisor and the
reason; the task list and search show a linked record as its person."""

from __future__ import annotations

import pytest

from heart_cases.models import Neighbor, PossibleDuplicate
from navigation.selectors import task_json, task_list
from tests.conftest import as_user, record_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair_of_records(responder, make_staff):
    """Two records, same name, different phones and no birth date: a possible duplicate."""
    supervisor, _ = make_staff("dana", "supervisor")
    first = record_case(responder[0], n=1, first_name="Rosa", last_name="Mejía", prefix="D")
    second = record_case(responder[0], n=2, first_name="Rosa", last_name="Mejia", prefix="D")
    duplicate = PossibleDuplicate.objects.get()
    return supervisor, first, second, duplicate


def test_the_queue_lists_open_pairs_side_by_side(pair_of_records):
    supervisor, first, second, duplicate = pair_of_records
    response = as_user(supervisor).get("/api/v1/possible-duplicates/")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == duplicate.pk
    assert row["status"] == "open"
    assert row["reason"] == "same first and last name"
    sides = {row["neighbor"]["id"]: row["neighbor"], row["other"]["id"]: row["other"]}
    assert set(sides) == {first.neighbor_id, second.neighbor_id}
    assert sides[first.neighbor_id]["phones"] == ["+19195550001"]
    assert sides[first.neighbor_id]["cases"] == 1
    assert [c["number"] for c in sides[second.neighbor_id]["case_list"]] == [second.number]
    assert (
        as_user(supervisor).get("/api/v1/possible-duplicates/?status=linked").json()["results"]
        == []
    )
    bad = as_user(supervisor).get("/api/v1/possible-duplicates/?status=maybe")
    assert bad.status_code == 400
    assert "status" in bad.json()["errors"]


def test_only_supervisors_review_duplicates(pair_of_records, make_staff):
    _, first, _, duplicate = pair_of_records
    for role in ("clinician", "peer", "provider", "analyst", "responder"):
        user, _ = make_staff(f"{role}-x", role)
        client = as_user(user)
        assert client.get("/api/v1/possible-duplicates/").status_code == 403, role
        link = client.post(
            f"/api/v1/possible-duplicates/{duplicate.pk}/link/",
            {"into": first.neighbor_id, "reason": "x"},
            format="json",
        )
        assert link.status_code == 403, role
    duplicate.refresh_from_db()
    assert duplicate.status == "open"


def test_link_keeps_both_records_and_unlink_opens_the_pair_again(pair_of_records):
    supervisor, first, second, duplicate = pair_of_records
    client = as_user(supervisor)
    linked = client.post(
        f"/api/v1/possible-duplicates/{duplicate.pk}/link/",
        {"into": first.neighbor_id, "reason": "Same birth date on the intake sheets"},
        format="json",
    )
    assert linked.status_code == 200, linked.content
    assert linked.json()["status"] == "linked"
    assert linked.json()["resolved_by"] == "dana"
    kept, gone = (
        Neighbor.objects.get(pk=first.neighbor_id),
        Neighbor.objects.get(pk=second.neighbor_id),
    )
    assert kept.linked_to_id is None
    assert gone.linked_to_id == kept.pk
    assert gone.first_name == "Rosa"  # nothing overwritten
    row = gone.history.first()
    assert row.history_user == supervisor
    assert "Same birth date" in row.history_change_reason
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.resolved_by) == ("linked", supervisor)
    assert "Same birth date" in duplicate.history.first().history_change_reason

    again = client.post(
        f"/api/v1/possible-duplicates/{duplicate.pk}/dismiss/", {"reason": "x"}, format="json"
    )
    assert again.status_code == 409
    relink = client.post(
        f"/api/v1/possible-duplicates/{duplicate.pk}/link/",
        {"into": first.neighbor_id, "reason": "x"},
        format="json",
    )
    assert relink.status_code == 409

    # The person's record shows the link; search answers as the record that stays.
    record = client.get(f"/api/v1/neighbors/{kept.pk}/").json()
    assert [r["id"] for r in record["linked_records"]] == [gone.pk]
    found = client.get("/api/v1/neighbors/", {"q": "919 555 0002"}).json()["results"]
    assert [r["id"] for r in found] == [kept.pk]

    unlinked = client.post(
        f"/api/v1/neighbors/{gone.pk}/unlink/", {"reason": "Different mothers"}, format="json"
    )
    assert unlinked.status_code == 200, unlinked.content
    assert unlinked.json()["possible_duplicate"]["status"] == "open"
    gone.refresh_from_db()
    assert gone.linked_to_id is None
    assert "Different mothers" in gone.history.first().history_change_reason
    assert gone.history.first().history_user == supervisor
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.resolved_at) == ("open", None)
    # Every state it was in is still in its history.
    assert [h.status for h in duplicate.history.order_by("history_date")] == [
        "open",
        "linked",
        "open",
    ]
    assert Neighbor.objects.filter(pk__in=[kept.pk, gone.pk]).count() == 2
    not_linked = client.post(f"/api/v1/neighbors/{gone.pk}/unlink/", {"reason": "x"}, format="json")
    assert not_linked.status_code == 409


def test_into_chooses_which_record_stays(pair_of_records):
    supervisor, first, second, duplicate = pair_of_records
    response = as_user(supervisor).post(
        f"/api/v1/possible-duplicates/{duplicate.pk}/link/",
        {"into": second.neighbor_id, "reason": "The newer record is right"},
        format="json",
    )
    assert response.status_code == 200
    assert Neighbor.objects.get(pk=first.neighbor_id).linked_to_id == second.neighbor_id
    assert Neighbor.objects.get(pk=second.neighbor_id).linked_to_id is None


def test_dismiss_says_not_the_same_person_with_the_reason(pair_of_records):
    supervisor, _first, _second, duplicate = pair_of_records
    response = as_user(supervisor).post(
        f"/api/v1/possible-duplicates/{duplicate.pk}/dismiss/",
        {"reason": "Different birth dates on ID"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed"
    duplicate.refresh_from_db()
    assert duplicate.status == "dismissed"
    row = duplicate.history.first()
    assert (row.history_user, "Different birth dates" in row.history_change_reason) == (
        supervisor,
        True,
    )
    assert Neighbor.objects.filter(linked_to__isnull=False).count() == 0
    listed = as_user(supervisor).get("/api/v1/possible-duplicates/?status=dismissed").json()
    assert [r["id"] for r in listed["results"]] == [duplicate.pk]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("link", {"into": "x", "reason": "r"}, "into"),
        ("link", {"reason": "r"}, "into"),
        ("link", {"into": 1}, "reason"),
        ("link", {"into": 1, "reason": "  "}, "reason"),
        ("link", {"into": 99999999, "reason": "r"}, "into"),
        ("link", {"into": 2**70, "reason": "r"}, "into"),
        ("dismiss", {}, "reason"),
        ("dismiss", {"reason": "x" * 1001}, "reason"),
        ("dismiss", {"reason": "a\x00b"}, "reason"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    pair_of_records, path, body, field
):
    supervisor, first, _, duplicate = pair_of_records
    if body.get("into") == 1:
        body = {**body, "into": first.neighbor_id}
    response = as_user(supervisor).post(
        f"/api/v1/possible-duplicates/{duplicate.pk}/{path}/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    duplicate.refresh_from_db()
    assert duplicate.status == "open"
    assert duplicate.history.count() == 1
    assert Neighbor.objects.filter(linked_to__isnull=False).count() == 0


def test_missing_pairs_and_records_are_404(pair_of_records):
    supervisor, *_ = pair_of_records
    client = as_user(supervisor)
    body = {"into": 1, "reason": "r"}
    assert (
        client.post("/api/v1/possible-duplicates/999999/link/", body, format="json").status_code
        == 404
    )
    assert (
        client.post("/api/v1/possible-duplicates/999999/dismiss/", body, format="json").status_code
        == 404
    )
    assert client.post("/api/v1/neighbors/999999/unlink/", body, format="json").status_code == 404
    huge = 2**70
    assert (
        client.post(f"/api/v1/possible-duplicates/{huge}/link/", body, format="json").status_code
        == 404
    )
    assert client.post(f"/api/v1/neighbors/{huge}/unlink/", body, format="json").status_code == 404


def test_the_task_list_shows_a_linked_record_as_its_person(pair_of_records):
    supervisor, first, second, duplicate = pair_of_records
    as_user(supervisor).post(
        f"/api/v1/possible-duplicates/{duplicate.pk}/link/",
        {"into": first.neighbor_id, "reason": "same"},
        format="json",
    )
    Neighbor.objects.filter(pk=first.neighbor_id).update(first_name="Rosalía")
    tasks = {task.case_id: task_json(task) for task in task_list(user=supervisor)}
    assert tasks[second.pk]["neighbor"]["id"] == first.neighbor_id
    assert tasks[second.pk]["neighbor"]["display_name"] == "Rosalía Mejía"
    api = as_user(supervisor).get("/api/v1/tasks/").json()["results"]
    shown = {row["case"]: row["neighbor"]["id"] for row in api}
    assert shown[second.pk] == first.neighbor_id
