"""The provider portal (inbox, one-click answers) and the navigator's side of the case page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from heart_cases.models import AccessLog, Case
from referrals.models import Consent, Referral
from referrals.services import (
    referral_accept,
    referral_confirm_handoff,
    referral_decline,
    referral_start,
)

pytestmark = pytest.mark.django_db


# --- the provider portal -------------------------------------------------------------------


def test_provider_staff_land_on_their_inbox_after_login(client, city):
    client.force_login(city.casa_staff)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/provider/"


def test_the_inbox_sorts_referrals_by_what_they_need(client, city, intake):
    new = city.refer()
    accepted = city.refer(service=city.clinic)
    referral_accept(actor=city.casa_staff, referral=accepted)
    other_case = Case.objects.get(
        pk=intake(incident_number="D-2", neighbor={"phone": "+1 919 555 0111", "last_name": "B"})[
            "case"
        ]["id"]
    )
    engaged = city.refer(case=other_case)
    referral_accept(actor=city.casa_staff, referral=engaged)
    referral_start(actor=city.casa_staff, referral=engaged)
    closed = city.refer(case=other_case, service=city.clinic)
    referral_decline(actor=city.casa_staff, referral=closed, reason="not-eligible")
    elsewhere = city.refer(service=city.shelter)

    client.force_login(city.casa_staff)
    response = client.get("/provider/")
    assert response.status_code == 200
    page = response.content.decode()
    sections = {
        key: page.split(f'id="{key}"')[1].split("</section>")[0]
        for key in ("new", "accepted", "in_progress", "closed")
    }
    assert f'id="referral-{new.pk}"' in sections["new"]
    assert f'id="referral-{accepted.pk}"' in sections["accepted"]
    assert f'id="referral-{engaged.pk}"' in sections["in_progress"]
    assert f'id="referral-{closed.pk}"' in sections["closed"]
    assert f'id="referral-{elsewhere.pk}"' not in page
    # One click for each step the referral's state allows.
    assert f"/provider/referrals/{new.pk}/accept/" in sections["new"]
    assert f"/provider/referrals/{new.pk}/decline/" in sections["new"]
    assert f"/provider/referrals/{new.pk}/acknowledge/" in sections["new"]
    for action in ("start", "waitlist", "confirm-handoff", "no-show"):
        assert f"/provider/referrals/{accepted.pk}/{action}/" in sections["accepted"]
    assert f"/provider/referrals/{engaged.pk}/confirm-handoff/" in sections["in_progress"]
    assert "/provider/referrals/" not in sections["closed"]
    assert "+19195550142" in page
    assert "María Ortega" in page
    logged = AccessLog.objects.get(user=city.casa_staff, action="list")
    assert sorted(logged.object_ids) == sorted([new.pk, accepted.pk, engaged.pk, closed.pk])


def test_the_inbox_query_count_does_not_grow_with_referrals(
    client, city, intake, django_assert_max_num_queries
):
    for n in range(10):
        case = Case.objects.get(
            pk=intake(
                incident_number=f"D-{n}",
                neighbor={"phone": f"+1 919 555 04{n:02d}", "last_name": f"L{n}"},
            )["case"]["id"]
        )
        referral = city.refer(case=case)
        if n % 2:
            referral_accept(actor=city.casa_staff, referral=referral)
    client.force_login(city.casa_staff)
    # Session, user, permissions, membership, two inbox queries, the access log, the
    # notification badge, the session save: 12 whatever the number of referrals.
    with django_assert_max_num_queries(12):
        response = client.get("/provider/")
    assert response.content.decode().count('class="card referral"') == 10


def test_one_click_accept_then_confirm_handoff_from_the_inbox(client, city):
    referral = city.refer()
    client.force_login(city.casa_staff)
    response = client.post(
        f"/provider/referrals/{referral.pk}/accept/", {"next": "/provider/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/provider/"
    assert "accepted" in response.content.decode()
    arrived = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    client.post(f"/provider/referrals/{referral.pk}/confirm-handoff/", {"occurred_at": arrived})
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert referral.status_changed_by == city.casa_staff
    assert timezone.localtime(referral.handoff_at).strftime("%Y-%m-%dT%H:%M") == arrived


def test_declining_from_the_portal_needs_a_reason(client, city):
    referral = city.refer()
    client.force_login(city.casa_staff)
    response = client.post(f"/provider/referrals/{referral.pk}/decline/", follow=True)
    assert "reason" in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == "requested"
    client.post(f"/provider/referrals/{referral.pk}/decline/", {"reason": "waitlist"})
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert referral.status_reason == "waitlist"


def test_the_portal_hides_other_organizations_referrals(client, city):
    theirs = city.refer(service=city.shelter)
    client.force_login(city.casa_staff)
    assert client.get(f"/provider/referrals/{theirs.pk}/").status_code == 404
    assert client.post(f"/provider/referrals/{theirs.pk}/accept/").status_code == 404
    assert client.post(f"/provider/referrals/{theirs.pk}/bogus/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "requested"


def test_the_portal_referral_page_shows_its_timeline(client, city):
    referral = city.refer()
    referral_accept(actor=city.casa_staff, referral=referral)
    client.force_login(city.casa_staff)
    page = client.get(f"/provider/referrals/{referral.pk}/").content.decode()
    assert "Timeline" in page
    # The steps by their labels (the page translates them), not their codes.
    assert "Requested" in page
    assert "Accepted" in page
    assert f"/provider/referrals/{referral.pk}/start/" in page


def test_navigators_cannot_use_the_portal(client, city):
    referral = city.refer()
    client.force_login(city.navigator)
    assert client.get("/provider/").status_code == 403
    assert client.post(f"/provider/referrals/{referral.pk}/accept/").status_code == 403


# --- the navigator's side ------------------------------------------------------------------


def test_the_case_page_shows_each_referral_with_its_status_and_timeline(client, city):
    referral = city.refer()
    referral_accept(actor=city.casa_staff, referral=referral)
    client.force_login(city.navigator)
    page = client.get(f"/cases/{city.case.pk}/").content.decode()
    section = page.split('id="referrals"')[1].split("</section>")[0]
    assert "Casa Esperanza" in section
    assert "accepted" in section
    assert "Referred to Casa Esperanza" in section  # the timeline's first step
    assert f"/cases/{city.case.pk}/refer/" in section
    assert f"/cases/{city.case.pk}/referrals/{referral.pk}/cancel/" in section


def test_a_navigator_finds_a_provider_by_need_and_language_and_refers(client, city):
    client.force_login(city.navigator)
    page = client.get(f"/cases/{city.case.pk}/refer/?need=food&language=es").content.decode()
    assert "Triangle Food Share" in page
    assert "Casa Esperanza" not in page
    default = client.get(f"/cases/{city.case.pk}/refer/").content.decode()
    # Defaults to the needs recorded at the field response and the neighbor's language.
    assert 'value="mental_health" selected' in default
    assert "Salud mental" in default
    assert "Emergency shelter" not in default

    refused = client.post(
        f"/cases/{city.case.pk}/refer/?need=mental_health&language=es",
        {
            "service": city.counseling.pk,
            "reason": "Counseling",
            "consent_method": "verbal",
            "consent_obtained_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert refused.status_code == 400
    assert "consent" in refused.content.decode()
    assert not Referral.objects.exists()

    response = client.post(
        f"/cases/{city.case.pk}/refer/?need=mental_health&language=es",
        {
            "service": city.counseling.pk,
            "reason": "Counseling in Spanish",
            "consent_obtained": "on",
            "consent_method": "written",
            "consent_obtained_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{city.case.pk}/"
    referral = Referral.objects.get()
    assert referral.service == city.counseling
    assert referral.consent.method == Consent.Method.WRITTEN
    assert referral.requested_by == city.navigator


def test_the_close_prompt_closes_the_case_as_connected_to_care(client, city):
    referral = city.refer()
    client.force_login(city.navigator)
    no_prompt = client.get(f"/cases/{city.case.pk}/").content.decode()
    assert "Close as connected to care" not in no_prompt
    assert client.post(f"/cases/{city.case.pk}/close-connected/").status_code == 302
    city.case.refresh_from_db()
    assert city.case.status == "open"  # no handoff yet: nothing to close on

    referral_accept(actor=city.casa_staff, referral=referral)
    referral_confirm_handoff(actor=city.casa_staff, referral=referral)
    page = client.get(f"/cases/{city.case.pk}/").content.decode()
    assert "Close as connected to care" in page
    client.post(f"/cases/{city.case.pk}/close-connected/")
    city.case.refresh_from_db()
    assert city.case.status == "closed"
    assert city.case.outcome == "connected_to_care"
    assert f"referral #{referral.pk}" in city.case.outcome_note


def test_a_navigator_cancels_a_referral_or_records_withdrawn_consent(client, city):
    first = city.refer()
    second = city.refer(service=city.clinic)
    client.force_login(city.navigator)
    client.post(
        f"/cases/{city.case.pk}/referrals/{first.pk}/cancel/",
        {"reason": "neighbor-declined", "note": "Prefers a clinic closer to home"},
    )
    client.post(f"/cases/{city.case.pk}/consents/{second.consent_id}/withdraw/", {"note": "No"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.status_reason) == ("cancelled", "neighbor-declined")
    assert (second.status, second.status_reason) == ("cancelled", "consent-withdrawn")
    assert second.consent.withdrawn_at is not None


def test_provider_staff_cannot_use_the_navigator_pages(client, city):
    referral = city.refer()
    client.force_login(city.casa_staff)
    assert (
        client.get(f"/cases/{city.case.pk}/refer/").status_code == 404
    )  # a page about the case: never reveal it
    assert client.post(f"/cases/{city.case.pk}/referrals/{referral.pk}/cancel/").status_code == 403
    assert client.post(f"/cases/{city.case.pk}/close-connected/").status_code == 403


def test_admins_keep_the_directory_and_only_read_referrals(client, city, make_staff):
    referral = city.refer()
    admin, _ = make_staff("root", "admin", password="long-enough-password-1")
    client.force_login(admin)
    assert client.get("/admin/referrals/provider/").status_code == 200
    assert client.get(f"/admin/referrals/provider/{city.casa.pk}/change/").status_code == 200
    assert client.get("/admin/referrals/referral/").status_code == 200
    page = client.get(f"/admin/referrals/referral/{referral.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get("/admin/referrals/referral/add/").status_code == 403
