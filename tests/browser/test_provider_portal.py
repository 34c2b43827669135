from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from heart_cases.models import Case
from navigation.models import Notice
from navigation.selectors import case_current_pair
from referrals.models import Referral, Service
from referrals.services import referral_create

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def login(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "heart-demo")
    page.click("main button[type=submit]")


def test_a_provider_logs_in_accepts_a_referral_and_confirms_the_handoff(
    live_server, page, artifacts
):
    call_command("seed_demo", "--responses", "20", "--days", "7", stdout=None)
    counseling = Service.objects.get(provider__slug="casa-esperanza", category="mental_health")
    case = (
        Case.objects.filter(status="open", pair_assignments__ended_at__isnull=True)
        .exclude(referrals__status__in=Referral.OPEN_STATUSES)
        .order_by("id")
        .first()
    )
    assert case is not None, "the demo has an open case without a referral"
    clinician = case_current_pair(case).clinician
    referral = referral_create(
        actor=clinician,
        case=case,
        service=counseling,
        reason="Counseling in Spanish after a crisis call.",
        consent_method="verbal",
        consent_obtained_at=timezone.now(),
    )
    card = f"#referral-{referral.pk}"

    login(page, live_server.url, "provider-casa")
    page.wait_for_selector(f"#new {card}")
    assert page.url == f"{live_server.url}/provider/"
    assert "Casa Esperanza" in page.locator("h1").inner_text()
    assert case.neighbor.display_name in page.locator(card).inner_text()
    page.screenshot(path=str(artifacts / "provider-inbox.png"), full_page=True)

    page.click(f"{card} button.action-accept")
    page.wait_for_selector(f"#accepted {card}")
    assert "accepted" in page.locator(".message").first.inner_text()

    page.click(f"{card} button.action-confirm-handoff")
    page.wait_for_selector(f"#closed {card}")
    assert "Handoff confirmed" in page.locator(card).inner_text()
    page.screenshot(path=str(artifacts / "provider-handoff-confirmed.png"), full_page=True)

    referral.refresh_from_db()
    provider_user = get_user_model().objects.get(username="provider-casa")
    assert referral.status == "completed"
    assert referral.status_changed_by == provider_user
    assert referral.handoff_at is not None
    assert Notice.objects.filter(
        kind="close_prompt", subject_key=f"referral:{referral.pk}"
    ).exists()

    # The navigator is prompted on the case page and closes the case as connected to care.
    page.click("button.link")  # log out
    login(page, live_server.url, clinician.username)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    page.wait_for_selector("#referrals button.close-connected")
    page.click("#referrals button.close-connected")
    page.wait_for_selector("text=Connected to care")
    page.screenshot(path=str(artifacts / "case-connected-to-care.png"), full_page=True)
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.outcome == "connected_to_care"
