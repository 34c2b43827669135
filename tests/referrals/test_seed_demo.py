"""`manage.py seed_demo`: a demo city whose weeks read like a real program's, loaded once."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Min
from django.utils import timezone
from rest_framework.test import APIClient

from heart_cases.models import FieldResponse
from navigation.models import ContactAttempt, FollowUpTask
from referrals.models import Referral

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(roles) -> str:
    return seed("--responses", "40", "--days", "21")


def demo_metrics() -> dict:
    analyst = APIClient()
    analyst.force_authenticate(get_user_model().objects.get(username="analyst"))
    today = timezone.localdate()
    response = analyst.get(
        "/api/v1/metrics/", {"start": str(today - timedelta(days=30)), "end": str(today)}
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_demo_metrics_show_follow_ups_met_missed_and_a_median(demo):
    data = demo_metrics()
    follow_ups = data["follow_ups"]
    assert follow_ups["due"] > 0
    assert 0 < follow_ups["met_within_48h"] < follow_ups["due"]
    assert 0 < follow_ups["rate"] < 1
    assert data["median_hours_to_first_contact"] is not None
    assert data["follow_ups_with_an_attempt"] > 0
    referrals = data["referrals"]
    assert referrals["completed"] > 0
    assert referrals["declined"] == sum(referrals["decline_reasons"].values()) > 0
    assert data["pending_changes"] == 0


def test_the_demo_attempts_are_in_the_past_after_their_encounter_and_in_history(demo):
    attempts = ContactAttempt.objects.annotate(
        first_response=Min("case__field_responses__responded_at")
    )
    outcomes = set(attempts.values_list("outcome", flat=True))
    assert {"reached", "no_answer", "left_voicemail", "declined"} <= outcomes
    now = timezone.now()
    for attempt in attempts:
        assert attempt.first_response <= attempt.occurred_at <= now
        # Logged through the service, a few minutes after it happened.
        logged = attempt.history.earliest("history_date")
        assert logged.history_type == "+"
        assert timedelta(0) < logged.history_date - attempt.occurred_at < timedelta(minutes=30)
    # Follow-ups the sweep marked missed, and others done.
    statuses = set(FollowUpTask.objects.filter(kind="follow_up").values_list("status", flat=True))
    assert {"done", "missed"} <= statuses


def test_every_pair_has_an_open_case_and_a_follow_up_waiting(demo):
    for peer in ("peer1", "peer2", "peer3"):
        assert FollowUpTask.objects.filter(
            status__in=["pending", "missed"],
            resolved_at__isnull=True,
            next_task__isnull=True,
            case__status="open",
            pair__peer__username=peer,
        ).exists(), peer


def test_a_second_run_adds_nothing(demo):
    counts = [
        model.objects.count() for model in (FieldResponse, ContactAttempt, FollowUpTask, Referral)
    ]
    assert "Demo city loaded" in demo
    assert "added no history" in seed("--responses", "40", "--days", "21")
    assert seed("--if-empty").strip() == "Demo data already loaded; nothing to do."
    assert counts == [
        model.objects.count() for model in (FieldResponse, ContactAttempt, FollowUpTask, Referral)
    ]
