"""A provider's staff member logs in and takes every step the portal offers on a referral:
mark viewed, accept, waitlist, start, confirm the handoff, decline with a reason, no-show."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from heart_cases.models import Case
from navigation.models import Notice
from referrals.models import Referral, Service
from referrals.services import referral_create
from tests.browser.demo import open_case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

COUNSELING = "Salud mental en español (counseling)"
CLINIC = "Clínica comunitaria (primary care)"


@pytest.fixture
def clinician() -> Any:
    """The demo directory, staff and pairs, without the weeks of history (none is needed)."""
    call_command("seed_demo", "--responses", "0", stdout=io.StringIO())
    return get_user_model().objects.get(username="clinician1")


def refer(clinician: Any, case: Case, service: str) -> Referral:
    return referral_create(
        actor=clinician,
        case=case,
        service=Service.objects.get(provider__slug="casa-esperanza", name=service),
        reason="Counseling in Spanish after a crisis call.",
        consent_method="verbal",
        consent_obtained_at=timezone.now(),
    )


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("heart-demo")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def press(page: Any, where: str, name: str) -> str:
    """Press a button of one referral's card; return the message the page then shows."""
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.locator(where).get_by_role("button", name=name, exact=True).click()
    assert answer.value.status == 302, answer.value.text()
    return str(page.locator(".message.success").inner_text())


def statuses(referral: Referral) -> list[tuple[str, str, str]]:
    """Each history row as (status, business status, who), oldest first."""
    rows = referral.history.order_by("history_date", "history_id")
    return [(h.status, h.business_status, h.history_user.username) for h in rows]


def test_a_provider_takes_every_step_the_portal_offers(live_server, clinician, page, artifacts):
    spanish = {"language": "es", "needs": ("mental_health", "medical")}
    first = open_case(
        clinician,
        number=1,
        first_name="José",
        last_name="Hernández",
        phone="+19195550163",
        **spanish,
    )
    second = open_case(
        clinician, number=2, first_name="Rosa", last_name="Méndez", phone="+19195550128", **spanish
    )
    handed_off = refer(clinician, first, COUNSELING)
    declined = refer(clinician, first, CLINIC)
    no_show = refer(clinician, second, COUNSELING)
    provider_user = get_user_model().objects.get(username="provider-casa")
    base = live_server.url

    login(page, base, "provider-casa")
    assert page.url == f"{base}/provider/"
    card = f"#referral-{handed_off.pk}"
    for referral in (handed_off, declined, no_show):
        assert page.locator(f"#new #referral-{referral.pk}").count() == 1
    assert page.locator(card).get_by_role("button").all_inner_texts() == [
        "Mark viewed",
        "Accept",
        "Decline",
    ]

    # Mark viewed, accept, waitlist, start, confirm the handoff.
    assert press(page, card, "Mark viewed") == f"Referral #{handed_off.pk}: viewed."
    assert page.url == f"{base}/provider/"
    assert "Viewed" in page.locator(f"#new {card}").inner_text()
    assert page.locator(card).get_by_role("button", name="Mark viewed").count() == 0
    handed_off.refresh_from_db()
    assert (handed_off.status, handed_off.business_status) == ("requested", "viewed")
    assert handed_off.acknowledged_at is not None

    assert press(page, card, "Accept") == f"Referral #{handed_off.pk}: accepted."
    assert page.locator(f"#accepted {card} .status").inner_text() == "Accepted"
    assert page.locator(card).get_by_role("button").all_inner_texts() == [
        "Start: neighbor engaged",
        "Waitlist",
        "Confirm handoff",
        "No-show",
    ]

    assert press(page, card, "Waitlist") == f"Referral #{handed_off.pk}: waitlisted."
    assert page.locator(f"#accepted {card} .status").inner_text() == "Waitlisted"
    handed_off.refresh_from_db()
    assert handed_off.status == "on-hold"

    # The referral's own page offers the same steps and comes back to itself.
    page.goto(f"{base}/provider/referrals/{handed_off.pk}/")
    assert (
        press(page, card, "Start: neighbor engaged") == f"Referral #{handed_off.pk}: in progress."
    )
    assert page.url == f"{base}/provider/referrals/{handed_off.pk}/"
    assert page.locator(f"{card} .status").inner_text() == "In progress"
    timeline = page.locator(".timeline").inner_text()
    assert "(viewed)" in timeline
    for step in ("Accepted", "Waitlisted", "In progress"):  # the steps' labels, not their codes
        assert step in timeline

    page.goto(f"{base}/provider/")
    assert page.locator(f"#in_progress {card}").count() == 1
    arrived = timezone.localtime()
    page.locator(card).get_by_label("Neighbor arrived").fill(arrived.strftime("%Y-%m-%dT%H:%M"))
    assert press(page, card, "Confirm handoff") == f"Referral #{handed_off.pk}: handoff confirmed."
    assert page.locator(f"#closed {card} .status").inner_text() == "Handoff confirmed"
    assert page.locator(card).get_by_role("button").count() == 0
    page.screenshot(path=str(artifacts / "provider-every-step.png"), full_page=True)
    handed_off.refresh_from_db()
    assert handed_off.status == "completed"
    assert timezone.localtime(handed_off.handoff_at).strftime("%Y-%m-%dT%H:%M") == (
        arrived.strftime("%Y-%m-%dT%H:%M")
    )
    assert handed_off.ended_at is not None
    assert handed_off.status_changed_by == provider_user
    assert statuses(handed_off)[1:] == [
        ("requested", "viewed", "provider-casa"),
        ("accepted", "viewed", "provider-casa"),
        ("on-hold", "viewed", "provider-casa"),
        ("in-progress", "viewed", "provider-casa"),
        ("completed", "viewed", "provider-casa"),
    ]
    assert Notice.objects.filter(
        kind="close_prompt", subject_key=f"referral:{handed_off.pk}"
    ).exists()

    # Decline, with a reason and a note.
    card = f"#referral-{declined.pk}"
    page.locator(card).get_by_label("Reason").select_option(label="Not eligible")
    page.locator(card).get_by_label("Note (optional)").fill("Primary care is full for adults.")
    assert press(page, card, "Decline") == f"Referral #{declined.pk}: declined."
    assert page.locator(f"#closed {card} .status").inner_text() == "Declined"
    assert "Not eligible" in page.locator(card).inner_text()
    declined.refresh_from_db()
    assert declined.status == "rejected"
    assert declined.status_reason == "not-eligible"
    assert declined.status_note == "Primary care is full for adults."
    assert declined.acknowledged_at is not None
    latest = declined.history.latest()
    assert latest.history_user == provider_user
    assert (
        latest.history_change_reason == "Declined (not eligible): Primary care is full for adults."
    )
    assert Notice.objects.filter(
        kind="referral_update", subject_key=f"referral:{declined.pk}:rejected"
    ).exists()

    # Accept, then the neighbor does not arrive.
    card = f"#referral-{no_show.pk}"
    assert press(page, card, "Accept") == f"Referral #{no_show.pk}: accepted."
    assert press(page, card, "No-show") == f"Referral #{no_show.pk}: neighbor did not arrive."
    assert page.locator(f"#closed {card} .status").inner_text() == "Neighbor did not arrive"
    no_show.refresh_from_db()
    assert no_show.status == "failed"
    assert no_show.handoff_at is None
    assert no_show.ended_at is not None
    assert statuses(no_show)[-1] == ("failed", "viewed", "provider-casa")
    assert Notice.objects.filter(
        kind="referral_update", subject_key=f"referral:{no_show.pk}:failed"
    ).exists()
    assert page.locator("#new .referral, #accepted .referral, #in_progress .referral").count() == 0
