"""Every (state, action) pair of the referral machine, allowed or refused, through the API.

The expected table is written out here from DESIGN.md and API.md, not derived from the code.
"""

from __future__ import annotations

import pytest

from navigation.models import Notice
from referrals.models import Referral

pytestmark = pytest.mark.django_db

# How to bring a fresh referral into each state, as (actor, action, body) steps.
PATHS: dict[str, list[tuple[str, str, dict]]] = {
    "requested": [],
    "accepted": [("provider", "accept", {})],
    "rejected": [("provider", "decline", {"reason": "no-capacity"})],
    "in-progress": [("provider", "accept", {}), ("provider", "start", {})],
    "on-hold": [("provider", "accept", {}), ("provider", "waitlist", {})],
    "completed": [("provider", "accept", {}), ("provider", "confirm-handoff", {})],
    "failed": [("provider", "accept", {}), ("provider", "no-show", {"note": "never came"})],
    "cancelled": [("staff", "cancel", {"reason": "neighbor-declined"})],
}

# The action, who takes it, and a valid body.
ACTIONS: dict[str, tuple[str, dict]] = {
    "acknowledge": ("provider", {}),
    "accept": ("provider", {}),
    "decline": ("provider", {"reason": "not-eligible", "note": "Over the income limit"}),
    "start": ("provider", {}),
    "waitlist": ("provider", {"note": "About two weeks"}),
    "confirm-handoff": ("provider", {"note": "Arrived with her sister"}),
    "no-show": ("provider", {"note": "Did not come"}),
    "cancel": ("staff", {"reason": "other", "note": "Found another provider"}),
}

# state -> action -> the status after it, or None when the machine refuses (409).
EXPECTED: dict[str, dict[str, str | None]] = {
    "requested": {
        "acknowledge": "requested",
        "accept": "accepted",
        "decline": "rejected",
        "start": None,
        "waitlist": None,
        "confirm-handoff": None,
        "no-show": None,
        "cancel": "cancelled",
    },
    "accepted": {
        "acknowledge": None,
        "accept": None,
        "decline": None,
        "start": "in-progress",
        "waitlist": "on-hold",
        "confirm-handoff": "completed",
        "no-show": "failed",
        "cancel": "cancelled",
    },
    "in-progress": {
        "acknowledge": None,
        "accept": None,
        "decline": None,
        "start": None,
        "waitlist": None,
        "confirm-handoff": "completed",
        "no-show": "failed",
        "cancel": "cancelled",
    },
    "on-hold": {
        "acknowledge": None,
        "accept": None,
        "decline": None,
        "start": "in-progress",
        "waitlist": None,
        "confirm-handoff": "completed",
        "no-show": "failed",
        "cancel": "cancelled",
    },
    **{ended: dict.fromkeys(ACTIONS) for ended in ("rejected", "completed", "failed", "cancelled")},
}


def test_the_expected_table_covers_every_status_and_action():
    assert set(EXPECTED) == set(Referral.Status.values) == set(PATHS)
    for state, row in EXPECTED.items():
        assert set(row) == set(ACTIONS), state


def _client(city, who):
    return city.casa_api if who == "provider" else city.navigator_api


def _bring_to(city, state):
    referral = city.refer()
    for who, action, body in PATHS[state]:
        response = _client(city, who).post(
            f"/api/v1/referrals/{referral.pk}/{action}/", body, format="json"
        )
        assert response.status_code == 200, (state, action, response.content)
    referral.refresh_from_db()
    assert referral.status == state
    return referral


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("state", list(PATHS))
def test_every_state_and_action_is_allowed_or_refused_with_409(city, state, action):
    referral = _bring_to(city, state)
    before = Referral.objects.get(pk=referral.pk)
    history_before = Referral.history.filter(id=referral.pk).count()
    who, body = ACTIONS[action]
    response = _client(city, who).post(
        f"/api/v1/referrals/{referral.pk}/{action}/", body, format="json"
    )
    after = Referral.objects.get(pk=referral.pk)
    expected = EXPECTED[state][action]
    if expected is None:
        assert response.status_code == 409, response.content
        assert set(response.json()) == {"detail"}
        assert after.status == before.status
        assert after.status_changed_at == before.status_changed_at
        assert Referral.history.filter(id=referral.pk).count() == history_before
        return
    assert response.status_code == 200, response.content
    assert response.json()["status"] == expected
    assert after.status == expected
    if expected != state:
        actor = city.casa_staff if who == "provider" else city.navigator
        assert after.status_changed_by == actor
        assert after.status_changed_at > before.status_changed_at
        latest = Referral.history.filter(id=referral.pk).latest()
        assert latest.history_user == actor
        assert latest.status == expected
    if expected in ("rejected", "cancelled"):
        assert after.status_reason == body["reason"]
    if expected == "completed":
        assert after.handoff_at is not None
    if expected in ("rejected", "completed", "failed", "cancelled"):
        assert after.ended_at is not None


def test_acknowledging_marks_the_referral_viewed_and_keeps_it_requested(city):
    referral = city.refer()
    response = city.casa_api.post(f"/api/v1/referrals/{referral.pk}/acknowledge/", format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "requested"
    assert body["business_status"] == "viewed"
    assert body["acknowledged_at"] is not None
    referral.refresh_from_db()
    first_seen = referral.acknowledged_at
    history = Referral.history.filter(id=referral.pk).count()
    again = city.casa_api.post(f"/api/v1/referrals/{referral.pk}/acknowledge/", format="json")
    assert again.status_code == 200
    referral.refresh_from_db()
    assert referral.acknowledged_at == first_seen
    assert Referral.history.filter(id=referral.pk).count() == history


def test_answering_without_acknowledging_first_still_records_that_it_was_seen(city):
    referral = city.refer()
    city.casa_api.post(f"/api/v1/referrals/{referral.pk}/accept/", format="json")
    referral.refresh_from_db()
    assert referral.acknowledged_at is not None
    assert referral.business_status == "viewed"


def test_confirm_handoff_records_when_the_neighbor_arrived(city):
    referral = _bring_to(city, "accepted")
    arrived = "2030-01-01T10:00:00-05:00"
    too_late = city.casa_api.post(
        f"/api/v1/referrals/{referral.pk}/confirm-handoff/", {"occurred_at": arrived}, format="json"
    )
    assert too_late.status_code == 400
    assert "occurred_at" in too_late.json()["errors"]
    naive = city.casa_api.post(
        f"/api/v1/referrals/{referral.pk}/confirm-handoff/",
        {"occurred_at": "2026-01-01T10:00:00"},
        format="json",
    )
    assert naive.status_code == 400
    arrived_at = referral.requested_at.isoformat()
    response = city.casa_api.post(
        f"/api/v1/referrals/{referral.pk}/confirm-handoff/",
        {"occurred_at": arrived_at, "note": "Arrived"},
        format="json",
    )
    assert response.status_code == 200, response.content
    referral.refresh_from_db()
    assert referral.handoff_at == referral.requested_at
    assert referral.status == "completed"


def test_a_completed_referral_prompts_the_pair_to_close_the_case_as_connected_to_care(city):
    referral = _bring_to(city, "completed")
    prompt = Notice.objects.get(kind="close_prompt", subject_key=f"referral:{referral.pk}")
    recipients = {n.recipient for n in prompt.notifications.all()}
    assert recipients == {city.navigator, city.peer}
    note = prompt.notifications.get(recipient=city.navigator)
    assert "connected to care" in note.body
    assert note.link == f"/cases/{city.case.pk}/"


@pytest.mark.parametrize(
    ("action", "payload"),
    [("decline", {}), ("decline", {"reason": "bored"}), ("cancel", {"reason": ""})],
)
def test_decline_and_cancel_need_a_known_reason_code(city, action, payload):
    referral = city.refer()
    client = city.casa_api if action == "decline" else city.navigator_api
    response = client.post(f"/api/v1/referrals/{referral.pk}/{action}/", payload, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    referral.refresh_from_db()
    assert referral.status == "requested"
