"""Signed links for providers without accounts: one referral, expiring after 14 days, refused
once the referral ends; what the provider does through one is history acting through the link."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from heart_cases.models import AccessLog
from referrals import links
from referrals.models import ProviderEmail, Referral
from referrals.services import referral_cancel

from .conftest import run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def emailed(city, queued, django_capture_on_commit_callbacks):
    """A referral to the pantry (no accounts), and the email its intake address received."""
    with django_capture_on_commit_callbacks(execute=True):
        referral = city.refer(service=city.groceries, reason="Groceries for a family of four.")
    assert run_queued(queued, "referrals.email_provider") == 1
    [message] = mail.outbox
    path = re.search(r"https?://[^/\s]+(/r/[^\s]+/)", message.body).group(1)
    return referral, message, path


def test_a_new_referral_to_a_provider_without_accounts_emails_a_signed_link(city, emailed):
    referral, message, path = emailed
    assert message.to == ["intake@pantry.example"]
    assert "Food pantry" in message.subject
    # The email carries the link, never the neighbor's identity.
    assert "Ana" not in message.body
    assert "Diaz" not in message.body
    assert "14 days" in message.body
    email = ProviderEmail.objects.get(referral=referral)
    assert email.kind == "sent"
    assert email.sent_at is not None
    assert links.referral_for_link(path.split("/")[2]) == referral


def test_the_email_is_sent_once_however_often_the_task_runs(city, emailed, queued):
    assert run_queued(queued, "referrals.email_provider") == 1  # the same message, redelivered
    assert len(mail.outbox) == 1


def test_a_provider_with_accounts_gets_no_link_email(
    city, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        city.refer()
    assert not ProviderEmail.objects.exists()
    assert not [t for t, _ in queued if t.name == "referrals.email_provider"]


def test_the_link_page_shows_what_the_handoff_needs_without_a_login(client, city, emailed):
    referral, _, path = emailed
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ana Diaz" in page
    assert "+19195550142" in page
    assert "Groceries for a family of four." in page
    assert "María Ortega" in page
    # No Referer leaves for another site; the page's own forms still send their Origin.
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    for action in ("acknowledge", "accept", "decline"):
        assert f"{path}{action}/" in page
    assert f"{path}start/" not in page
    logged = AccessLog.objects.get(object_type="referral", action="view")
    assert logged.user is None
    assert logged.object_ids == [referral.pk]
    assert path.split("/")[2] not in logged.path  # the token is a credential: not logged


def test_accepting_through_the_link_is_recorded_as_the_provider_acting_through_it(
    client, city, emailed
):
    referral, _, path = emailed
    assert client.post(f"{path}accept/").status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.status_changed_by.username == "system:provider-link:pantry"
    latest = referral.history.latest()
    assert latest.history_user.username == "system:provider-link:pantry"
    assert "through the signed link" in latest.history_change_reason
    assert "Triangle Food Share" in latest.history_change_reason
    history = city.navigator_api.get(f"/api/v1/cases/{city.case.pk}/history/").json()["results"]
    assert any("through the signed link" in entry["reason"] for entry in history)


def test_the_link_confirms_the_handoff_and_then_refuses_further_use(client, city, emailed):
    referral, _, path = emailed
    client.post(f"{path}accept/")
    arrived = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"{path}confirm-handoff/", {"occurred_at": arrived})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert referral.handoff_at is not None
    ended = client.get(path)
    assert ended.status_code == 410
    assert "ended" in ended.content.decode()
    assert client.post(f"{path}accept/").status_code == 410


def test_a_declined_referral_through_the_link_records_the_reason(client, city, emailed):
    referral, _, path = emailed
    client.post(f"{path}decline/", {"reason": "no-capacity", "note": "Full this month"})
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert referral.status_reason == "no-capacity"
    assert referral.status_note == "Full this month"


def test_the_link_expires_after_fourteen_days(client, city, emailed):
    referral, _, path = emailed
    with time_machine.travel(timezone.now() + timedelta(days=13, hours=23), tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=14, minutes=1), tick=False):
        stale = client.get(path)
        assert stale.status_code == 410
        assert "expired" in stale.content.decode()
        assert client.post(f"{path}accept/").status_code == 410
    referral.refresh_from_db()
    assert referral.status == "requested"


def test_the_link_is_refused_once_the_referral_is_cancelled(client, city, emailed, queued):
    referral, _, path = emailed
    referral_cancel(actor=city.navigator, referral=referral, reason="other")
    assert client.get(path).status_code == 410


def test_a_tampered_or_foreign_link_is_not_found(client, city, emailed):
    _, _, path = emailed
    token = path.split("/")[2]
    assert client.get(f"/r/{token[:-2]}xx/").status_code == 404
    other = city.refer(service=city.counseling)
    # Another referral's id with this link's signature.
    payload, stamp, signature = token.split(":")
    other_payload = signing.b64_encode(
        f'{{"r":{other.pk},"p":{other.provider_id}}}'.encode()
    ).decode()
    assert signing.b64_decode(payload.encode()) != signing.b64_decode(other_payload.encode())
    assert client.get(f"/r/{other_payload}:{stamp}:{signature}/").status_code == 404
    # The same signature with another salt (e.g. a session cookie) is not a referral link.
    forged = signing.dumps({"r": other.pk, "p": other.provider_id}, salt="something-else")
    assert client.get(f"/r/{forged}/").status_code == 404
    assert Referral.objects.get(pk=other.pk).status == "requested"


def test_the_link_cannot_take_steps_beyond_its_list(client, city, emailed):
    referral, _, path = emailed
    client.post(f"{path}accept/")
    assert client.post(f"{path}start/").status_code == 404
    assert client.post(f"{path}cancel/", {"reason": "other"}).status_code == 404
    referral.refresh_from_db()
    assert referral.status == "accepted"


def test_link_actions_need_the_csrf_token_of_the_page(city, emailed):
    referral, _, path = emailed
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(f"{path}accept/").status_code == 403
    page = browser.get(path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(f"{path}accept/", {"csrfmiddlewaretoken": token}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"


def test_an_illegal_step_through_the_link_is_refused_with_a_message(client, city, emailed):
    referral, _, path = emailed
    client.post(f"{path}accept/")
    response = client.post(f"{path}decline/", {"reason": "no-capacity"}, follow=True)
    assert "'decline' is not allowed in that state" in html.unescape(response.content.decode())
    referral.refresh_from_db()
    assert referral.status == "accepted"
