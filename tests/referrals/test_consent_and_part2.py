"""Consent that says what, to whom, until when; 42 CFR Part 2 (issue 16, items 1 and 2;
API.md "Consent and privacy"). After a withdrawal or an expiry the provider keeps the referral
and its status, but no longer learns who the neighbor is, on any surface: the API, the portal,
the FHIR Bundle. A Part 2 referral needs written consent naming its purpose, with substance
use in its scope, and carries the §2.32 notice with every disclosure."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from rest_framework.test import APIClient

from navigation.models import Notice
from referrals import services
from referrals.disclosure import PART2_NOTICE
from referrals.models import Consent, Referral
from tests.referrals.conftest import _service, referral_body, run_queued

pytestmark = pytest.mark.django_db
NOTICE_EN = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."


def post(city, **consent):
    body = referral_body(city)
    body["consent"].update(consent)
    return city.navigator_api.post("/api/v1/referrals/", body, format="json")


def test_consent_records_purpose_scope_and_expiry_with_the_defaults(city):
    response = post(city)
    assert response.status_code == 201, response.content
    consent = response.json()["consent"]
    assert consent["purpose"] == "care coordination"
    assert consent["scope"] == ["contact", "reason"]
    assert consent["active"] is True
    obtained = Consent.objects.get(pk=consent["id"])
    assert obtained.expires_at - obtained.obtained_at == timedelta(days=365)
    assert response.json()["part2"] is False


def test_consent_takes_what_the_neighbor_said(city):
    until = (timezone.localtime() + timedelta(days=30)).isoformat()
    response = post(city, purpose="housing search", scope=["needs", "contact"], expires_at=until)
    assert response.status_code == 201, response.content
    consent = Consent.objects.get(pk=response.json()["consent"]["id"])
    assert (consent.purpose, consent.scope) == ("housing search", ["contact", "needs"])
    assert abs(consent.expires_at - timezone.now() - timedelta(days=30)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("consent", "says"),
    [
        ({"expires_at": "2023-01-01T00:00:00-05:00"}, "in the past"),
        ({"purpose": "   "}, "Name the purpose"),
        ({"scope": ["contact", "everything"]}, "scope"),
        # Part 2 by scope: substance use in the scope on verbal consent.
        ({"scope": ["contact", "substance_use"], "purpose": "treatment"}, "written consent"),
        ({"scope": ["substance_use"], "method": "written"}, "names its purpose"),
    ],
)
def test_bad_consent_is_a_400_on_consent_and_writes_nothing(city, consent, says):
    before = (Referral.objects.count(), Consent.objects.count())
    response = post(city, **consent)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]["consent"]
    assert says in str(errors), errors
    assert (Referral.objects.count(), Consent.objects.count()) == before


@pytest.fixture
def treatment(city):
    return _service(city.casa, "Tratamiento ambulatorio", "substance_use", ["es", "en"])


def test_a_substance_use_service_needs_written_consent_naming_purpose_and_scope(city, treatment):
    body = referral_body(city, service=treatment.pk)
    response = city.navigator_api.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 400
    problems = " ".join(response.json()["errors"]["consent"])
    assert "written consent" in problems
    assert "names its purpose" in problems
    assert "substance_use" in problems
    body["consent"].update(
        method="written", purpose="outpatient treatment", scope=["contact", "substance_use"]
    )
    ok = city.navigator_api.post("/api/v1/referrals/", body, format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["part2"] is True


def part2_referral(city, treatment):
    return city.refer(
        treatment,
        consent_method="written",
        consent_purpose="outpatient treatment",
        consent_scope=["contact", "reason", "substance_use"],
    )


def test_every_disclosure_of_a_part2_referral_carries_the_notice(city, treatment):
    referral = part2_referral(city, treatment)
    body = city.casa_api.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert body["part2_notice"] == NOTICE_EN
    spanish = city.casa_api.get(f"/api/v1/referrals/{referral.pk}/", HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.json()["part2_notice"] == PART2_NOTICE["es"]
    page = provider(city).get(f"/provider/referrals/{referral.pk}/")
    assert page.status_code == 200
    assert NOTICE_EN in page.content.decode()

    fhir = city.casa_api.get(f"/api/v1/referrals/{referral.pk}/fhir/")
    bundle = Bundle.model_validate_json(fhir.content)
    labels = [(s.system, s.code) for s in bundle.meta.security]
    assert labels == [("http://terminology.hl7.org/CodeSystem/v3-ActCode", "42CFRPart2")]
    for entry in bundle.entry:
        assert [s.code for s in entry.resource.meta.security] == ["42CFRPart2"]
    task = next(e.resource for e in bundle.entry if e.resource.__resource_type__ == "Task")
    assert any(NOTICE_EN in note.text for note in task.note)


def test_a_referral_outside_part2_carries_no_notice(city):
    referral = city.refer()
    body = city.casa_api.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert body["part2_notice"] is None
    bundle = city.casa_api.get(f"/api/v1/referrals/{referral.pk}/fhir/").json()
    assert "security" not in bundle.get("meta", {})


def provider(city):
    """Casa's staff member, logged in now (a session serves both the pages and the API)."""
    client = APIClient()
    client.force_login(city.casa_staff)
    return client


def assert_identity_gone(city, referral, why):
    casa = provider(city)
    body = casa.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert body["neighbor"]["name"] == ""
    assert body["neighbor"]["phone"] == ""
    assert body["neighbor"]["withheld"] == why
    assert body["reason"] == ""
    assert body["status"] == "cancelled"  # the status stays theirs
    listed = casa.get("/api/v1/referrals/").json()["results"]
    assert [r["id"] for r in listed] == [referral.pk]
    assert "Ana Diaz" not in str(listed)
    page = casa.get(f"/provider/referrals/{referral.pk}/")
    assert page.status_code == 200
    assert f"referral-{referral.pk}" in page.content.decode()
    assert "Ana Diaz" not in page.content.decode()
    assert "+19195550142" not in page.content.decode()
    assert "no longer shown" in page.content.decode()
    inbox = casa.get("/provider/").content.decode()
    assert f"referral-{referral.pk}" in inbox
    assert "Ana Diaz" not in inbox
    fhir = casa.get(f"/api/v1/referrals/{referral.pk}/fhir/").content.decode()
    assert "Ana Diaz" not in fhir
    assert "Counseling in Spanish" not in fhir
    # The program's staff still know whom they are caring for.
    navigator = APIClient()
    navigator.force_login(city.navigator)
    staff = navigator.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert staff["neighbor"]["display_name"] == "Ana Diaz"


def test_after_a_withdrawal_the_provider_keeps_the_status_and_loses_the_identity(city):
    referral = city.refer()
    assert city.casa_api.get(f"/api/v1/referrals/{referral.pk}/").json()["neighbor"]["name"]
    response = city.navigator_api.post(
        f"/api/v1/consents/{referral.consent_id}/withdraw/", {"note": "No"}, format="json"
    )
    assert response.status_code == 200
    referral.refresh_from_db()
    assert (referral.status, referral.status_reason) == ("cancelled", "consent-withdrawn")
    assert_identity_gone(city, referral, "consent-withdrawn")


def test_an_expired_consent_is_swept_like_a_withdrawal(city, queued):
    referral = city.refer(consent_expires_at=timezone.now() + timedelta(days=2))
    later = timezone.now() + timedelta(days=2, minutes=1)
    with time_machine.travel(later, tick=False):
        # From the expiry on the provider sees no identity, sweep or not.
        body = provider(city).get(f"/api/v1/referrals/{referral.pk}/").json()
        assert body["neighbor"]["withheld"] == "consent-expired"
        assert body["neighbor"]["name"] == ""
        assert services.consents_expire_due(actor=city.supervisor, now=later) == 1
        assert services.consents_expire_due(actor=city.supervisor, now=later) == 0
        referral.refresh_from_db()
        assert (referral.status, referral.status_reason) == ("cancelled", "consent-expired")
        told = Notice.objects.get(kind="consent_expired", subject_key=f"referral:{referral.pk}")
        assert "Consent to share with Casa Esperanza expired" in told.notifications.first().title
        assert_identity_gone(city, referral, "consent-expired")
    consent = Consent.objects.get(pk=referral.consent_id)
    assert consent.expiry_handled_at is not None
    assert consent.history.latest().history_change_reason.endswith("expired")
    run_queued(queued)


def test_a_scope_without_contact_shares_no_name_or_phone(city):
    referral = city.refer(consent_scope=["reason"])
    body = city.casa_api.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert (body["neighbor"]["name"], body["neighbor"]["phone"]) == ("", "")
    assert body["neighbor"]["withheld"] is None
    assert body["reason"] == "Counseling in Spanish after a crisis call."


def test_nobody_declines_with_a_consent_reason(city):
    referral = city.refer()
    response = city.casa_api.post(
        f"/api/v1/referrals/{referral.pk}/decline/", {"reason": "consent-withdrawn"}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]


def test_consent_written_without_the_new_fields_covers_what_earlier_consent_did(city):
    """Rows from code before purpose and scope (a rolling deploy, a bulk load): the database
    defaults are what migration 0004 gave earlier consent."""
    from django.db import connection

    referral = city.refer()
    consent = referral.consent
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO referrals_consent (method, obtained_at, withdrawal_note, created_at, "
            "case_id, neighbor_id, obtained_by_id, provider_id, expires_at) "
            "VALUES ('verbal', %s, '', %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                consent.obtained_at,
                consent.created_at,
                consent.case_id,
                consent.neighbor_id,
                consent.obtained_by_id,
                consent.provider_id,
                consent.expires_at,
            ],
        )
        (new_id,) = cursor.fetchone()
    raw = Consent.objects.get(pk=new_id)
    assert (raw.purpose, raw.scope) == ("care coordination", ["contact", "reason"])
