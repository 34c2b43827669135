"""A clinician refers a neighbor under 42 CFR Part 2 with written consent; the provider sees the
§2.32 notice beside the neighbor's name; the neighbor withdraws consent, and the provider's page
keeps the referral but no longer says who the neighbor is (issue 16, items 1 and 2)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from referrals.disclosure import PART2_NOTICE
from referrals.models import Referral
from tests.browser.demo import open_case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
COUNSELING = "Salud mental en español (counseling)"


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    # By id: under a Spanish browser Django's own labels are Spanish, the button not yet.
    page.fill("#id_username", username)
    page.fill("#id_password", "heart-demo")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_a_part2_referral_shows_the_notice_and_a_withdrawal_hides_the_neighbor(
    live_server, browser, page, artifacts
):
    call_command("seed_demo", "--responses", "0", stdout=io.StringIO())
    clinician = get_user_model().objects.get(username="clinician1")
    case = open_case(
        clinician, number=31, first_name="Tomás", last_name="Rivera", phone="+19195550177"
    )
    base = live_server.url

    # The clinician refers, on written consent that names its purpose and covers substance use.
    log_in(page, base, "clinician1")
    page.goto(f"{base}/cases/{case.pk}/refer/?need=mental_health")
    page.get_by_label(COUNSELING, exact=False).check()
    page.get_by_label("What the neighbor needs from the provider").fill(
        "Counseling and support with alcohol use."
    )
    page.get_by_label("The neighbor consented to share").check()
    page.get_by_label("How").select_option("written")
    page.get_by_label("Substance use (42 CFR Part 2)").check()
    page.get_by_label("For what purpose").fill("counseling and substance-use treatment")
    page.get_by_role("button", name="Send referral").click()
    page.wait_for_selector(".message.success")
    referral = Referral.objects.select_related("consent").get(case=case)
    assert referral.is_part2
    assert referral.consent.method == "written"
    assert referral.consent.scope == ["contact", "reason", "substance_use"]
    assert referral.consent.purpose == "counseling and substance-use treatment"
    assert "42 CFR Part 2" in page.locator("#referrals").inner_text()

    # The provider sees who the neighbor is, with the notice (in Spanish: staff's language
    # follows the browser; this one asks for Spanish).
    provider = browser.new_context(locale="es-US", viewport={"width": 1280, "height": 800})
    portal = provider.new_page()
    log_in(portal, base, "provider-casa")
    card = portal.locator(f"#referral-{referral.pk}")
    card.wait_for()
    assert "Tomás Rivera" in card.inner_text()
    assert PART2_NOTICE["es"] in card.get_by_role("note").inner_text()
    portal.screenshot(path=str(artifacts / "provider-part2-notice.png"), full_page=True)

    # The neighbor withdraws consent; the clinician records it on the case page.
    page.goto(f"{base}/cases/{case.pk}/")
    page.get_by_text("Cancel or withdraw consent").click()
    page.get_by_role("button", name="Neighbor withdrew consent").click()
    page.wait_for_selector(".message")
    referral.refresh_from_db()
    assert (referral.status, referral.status_reason) == ("cancelled", "consent-withdrawn")

    # The provider keeps the referral and its status, and no longer sees who it was.
    portal.goto(f"{base}/provider/referrals/{referral.pk}/")
    card = portal.locator(f"#referral-{referral.pk}")
    text = card.inner_text()
    assert "Tomás Rivera" not in text
    assert "+19195550177" not in text
    assert "Cancelled" in text or "cancel" in text.lower()
    assert "ya no se muestra quién es" in text
    portal.screenshot(path=str(artifacts / "provider-after-withdrawal.png"), full_page=True)
    provider.close()
