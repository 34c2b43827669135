"""Every email to a provider organization is in its language (Provider.contact_language, issue
14), whatever language the worker, the navigator's page or the request that caused it was in;
and the language can be set where providers are edited."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.sites import site
from django.core import mail
from django.utils import timezone, translation

from referrals.models import Provider, ProviderEmail
from referrals.services import referral_cancel
from referrals.tasks import email_provider

from .conftest import run_queued

pytestmark = pytest.mark.django_db


def _emails(queued, kind):
    """Run the queued email tasks; the messages they sent."""
    assert run_queued(queued, "referrals.email_provider") >= 1, kind
    messages = list(mail.outbox)
    mail.outbox.clear()
    return messages


@pytest.mark.parametrize("worker_language", ["en", "es"])
def test_a_spanish_speaking_provider_gets_every_email_in_spanish(
    city, queued, django_capture_on_commit_callbacks, worker_language
):
    city.pantry.contact_language = "es"
    city.pantry.save()
    with translation.override(worker_language), django_capture_on_commit_callbacks(execute=True):
        referral = city.refer(service=city.groceries, reason="Comida para una familia.")
    [sent] = _emails(queued, "sent")
    assert sent.to == ["intake@pantry.example"]
    assert sent.subject.startswith("Nueva referencia de HEART Care Navigation")
    assert "No necesita una cuenta" in sent.body
    assert re.search(r"/r/[^\s]+/", sent.body)
    assert "You do not need an account" not in sent.body

    # The reminder, sent by the sweep (a worker with no request, in English).
    ProviderEmail.objects.create(referral=referral, kind="chased", to="intake@pantry.example")
    with translation.override("en"):
        email_provider(referral.pk, "chased")
    [chased] = mail.outbox
    mail.outbox.clear()
    assert chased.subject.startswith("Recordatorio:")

    with translation.override(worker_language), django_capture_on_commit_callbacks(execute=True):
        referral_cancel(actor=city.navigator, referral=referral, reason="neighbor-declined")
    [cancelled] = _emails(queued, "cancelled")
    assert "cancelada" in cancelled.subject
    assert "No necesita hacer nada más" in cancelled.body
    rows = ProviderEmail.objects.filter(referral=referral).order_by("id")
    assert [(row.kind, row.sent_at is not None) for row in rows] == [
        ("sent", True),
        ("chased", True),
        ("cancelled", True),
    ]


def test_an_english_speaking_provider_gets_english_even_from_a_spanish_page(
    city, queued, django_capture_on_commit_callbacks
):
    assert city.pantry.contact_language == "en"
    with translation.override("es"), django_capture_on_commit_callbacks(execute=True):
        city.refer(service=city.groceries, reason="Groceries for a family of four.")
    with translation.override("es"):
        [sent] = _emails(queued, "sent")
    assert "Food pantry" in sent.subject
    assert not sent.subject.startswith("Nueva")
    assert "14 days" in sent.body


def test_a_language_the_emails_do_not_have_falls_back_to_english(
    city, queued, django_capture_on_commit_callbacks
):
    Provider.objects.filter(pk=city.pantry.pk).update(contact_language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        city.refer(service=city.groceries, reason="Groceries.")
    [sent] = _emails(queued, "sent")
    assert "14 days" in sent.body
    assert ProviderEmail.objects.get().sent_at <= timezone.now()


def test_the_admin_edits_the_language_of_a_providers_emails(client, city, make_staff):
    assert site.is_registered(Provider)
    admin, _ = make_staff("root", "admin", password="long-enough-password-1")
    client.force_login(admin)
    page = client.get(f"/admin/referrals/provider/{city.pantry.pk}/change/")
    assert page.status_code == 200
    assert 'name="contact_language"' in page.content.decode()
