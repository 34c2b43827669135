"""The referral notices and provider emails read well in English and Spanish."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string

from navigation.models import Notice
from navigation.notices import render_notice
from referrals.services import provider_staff, referral_cancel

from .conftest import run_queued

pytestmark = pytest.mark.django_db

CONTEXT = {
    "referral_id": 12,
    "case_number": "HC-2026-000123",
    "provider": "Casa Esperanza & Co.",
    "service": "Salud mental",
    "status": "rejected",
    "status_label": "Declined",
    "status_label_es": "rechazada",
    "reason_code": "no-capacity",
    "reason_label": "No capacity",
    "reason_label_es": "sin cupo",
    "expire_at": datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("America/New_York")),
    "chase_days": 2,
    "expire_days": 5,
    "note": "Full this month",
}

KINDS = ["referral_sent", "referral_update", "referral_chased", "referral_expired", "close_prompt"]


@pytest.mark.parametrize("audience", ["provider", "navigators"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_referral_notice_has_a_title_and_body_in_english_and_spanish(kind, audience):
    context = {**CONTEXT, "audience": audience}
    english = render_notice(kind, "en", context)
    spanish = render_notice(kind, "es", context)
    for title, body in (english, spanish):
        assert title
        assert body
        assert "{" not in title + body
        assert "&amp;" not in title + body  # plain text, not HTML-escaped
    assert english != spanish


@pytest.mark.parametrize("kind", ["sent", "chased", "cancelled"])
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_provider_email_renders(kind, language):
    text = render_to_string(
        f"referrals/email/provider_{kind}.{language}.txt",
        {**CONTEXT, "link": "https://heart.example/r/token/", "link_days": 14},
    ).strip()
    subject, _, body = text.partition("\n")
    assert "Salud mental" in subject
    assert "Casa Esperanza & Co." in body
    assert ("https://heart.example/r/token/" in body) == (kind != "cancelled")


def test_a_spanish_speaking_provider_gets_its_link_email_in_spanish(
    city, queued, django_capture_on_commit_callbacks, mailoutbox
):
    city.pantry.contact_language = "es"
    city.pantry.save()
    with django_capture_on_commit_callbacks(execute=True):
        city.refer(service=city.groceries)
    run_queued(queued, "referrals.email_provider")
    assert mailoutbox[0].subject.startswith("Nueva referencia")


def test_a_cancellation_is_emailed_only_to_a_provider_that_heard_of_the_referral(
    city, queued, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True):
        unsent = city.refer(service=city.groceries)
        referral_cancel(actor=city.navigator, referral=unsent, reason="other")
    run_queued(queued, "referrals.email_provider")
    assert mailoutbox == []  # the new-referral email found it ended; nothing to cancel

    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        told = city.refer(service=city.groceries)
    run_queued(queued, "referrals.email_provider")
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        referral_cancel(actor=city.navigator, referral=told, reason="other")
    run_queued(queued, "referrals.email_provider")
    assert [m.subject.split(" ")[0] for m in mailoutbox] == ["New", "Referral"]
    assert "cancelled" in mailoutbox[1].subject


def test_provider_staff_hear_of_a_new_referral_in_their_language(city):
    city.casa_staff.staff_profile.languages = ["es"]
    city.casa_staff.staff_profile.save()
    referral = city.refer()
    assert provider_staff(city.casa) == [city.casa_staff]
    notice = Notice.objects.get(kind="referral_sent", subject_key=f"referral:{referral.pk}")
    notification = notice.notifications.get()
    assert notification.language == "es"
    assert notification.title.startswith("Nueva referencia")
    assert notification.link == f"/provider/referrals/{referral.pk}/"
    assert "Ana" not in notification.body  # no neighbor identity in what may be emailed
