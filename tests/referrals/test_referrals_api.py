"""Making referrals, consent, what each side sees, and the case around them (API.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from heart_cases.models import AccessLog, Case
from heart_cases.services import case_close
from navigation.models import Notice
from referrals.models import Consent, Referral, ServiceLanguage
from referrals.services import referral_accept, referral_start

from .conftest import referral_body

pytestmark = pytest.mark.django_db


def test_a_navigator_refers_a_neighbor_with_recorded_consent(city):
    response = city.navigator_api.post("/api/v1/referrals/", referral_body(city), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "requested"
    assert body["business_status"] == "sent"
    assert body["provider"]["slug"] == "casa"
    assert body["service"]["category"] == "mental_health"
    assert body["case"] == {"id": city.case.pk, "number": city.case.number}
    consent = Consent.objects.get(pk=body["consent"]["id"])
    assert consent.method == "verbal"
    assert consent.obtained_by == city.navigator
    assert consent.neighbor == city.case.neighbor
    referral = Referral.objects.get(pk=body["id"])
    assert referral.requested_by == city.navigator
    assert referral.history.get().history_user == city.navigator
    assert body["timeline"][0]["status"] == "requested"
    assert body["timeline"][0]["actor"] == "María Ortega"
    # The provider's staff hear of it in the portal.
    notice = Notice.objects.get(kind="referral_sent", subject_key=f"referral:{referral.pk}")
    assert [n.recipient for n in notice.notifications.all()] == [city.casa_staff]


@pytest.mark.parametrize(
    "consent",
    [
        None,
        {"obtained": False, "method": "verbal", "obtained_at": "2026-11-20T10:00:00-05:00"},
        {"obtained": True, "method": "telepathy", "obtained_at": "2026-11-20T10:00:00-05:00"},
        {"obtained": True, "method": "verbal", "obtained_at": "2026-11-20T10:00:00"},
        {"obtained": True, "method": "verbal"},
        "yes",
    ],
)
def test_a_referral_without_consent_obtained_is_a_400_on_consent(city, consent):
    body = referral_body(city)
    if consent is None:
        del body["consent"]
    else:
        body["consent"] = consent
    response = city.navigator_api.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 400, response.content
    assert "consent" in response.json()["errors"]
    assert not Referral.objects.exists()
    assert not Consent.objects.exists()


def test_consent_cannot_be_obtained_in_the_future(city):
    later = (timezone.localtime() + timedelta(days=1)).isoformat()
    body = referral_body(city)
    body["consent"]["obtained_at"] = later
    response = city.navigator_api.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 400
    assert "consent" in response.json()["errors"]


def test_bad_references_name_each_bad_field(city):
    response = city.navigator_api.post(
        "/api/v1/referrals/",
        referral_body(city, case=999999, service=city.shelter.pk, reason=""),
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "reason" in errors
    mismatch = city.navigator_api.post(
        "/api/v1/referrals/", referral_body(city, service=city.shelter.pk), format="json"
    )
    assert mismatch.status_code == 400
    assert "service" in mismatch.json()["errors"]
    unknown = city.navigator_api.post(
        "/api/v1/referrals/", referral_body(city, case=999999), format="json"
    )
    assert unknown.status_code == 400
    assert "case" in unknown.json()["errors"]


def test_a_provider_not_accepting_referrals_is_refused(city):
    city.casa.accepting_referrals = False
    city.casa.save()
    response = city.navigator_api.post("/api/v1/referrals/", referral_body(city), format="json")
    assert response.status_code == 400
    assert "provider" in response.json()["errors"]


def test_the_same_service_twice_while_open_is_a_conflict(city):
    first = city.navigator_api.post("/api/v1/referrals/", referral_body(city), format="json")
    assert first.status_code == 201
    second = city.navigator_api.post("/api/v1/referrals/", referral_body(city), format="json")
    assert second.status_code == 409
    assert Referral.objects.count() == 1


def test_a_closed_case_cannot_be_referred(city):
    case_close(actor=city.supervisor, case=city.case, outcome="moved_away")
    response = city.navigator_api.post("/api/v1/referrals/", referral_body(city), format="json")
    assert response.status_code == 409


# --- who sees what -------------------------------------------------------------------------


def test_provider_staff_see_only_their_organizations_referrals(city):
    mine = city.refer()
    theirs = city.refer(service=city.shelter)
    listed = city.casa_api.get("/api/v1/referrals/").json()["results"]
    assert [r["id"] for r in listed] == [mine.pk]
    assert city.casa_api.get(f"/api/v1/referrals/{theirs.pk}/").status_code == 404
    assert city.casa_api.get(f"/api/v1/referrals/{theirs.pk}/fhir/").status_code == 404
    assert city.casa_api.post(f"/api/v1/referrals/{theirs.pk}/accept/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "requested"
    assert AccessLog.objects.filter(
        user=city.casa_staff, object_ids=[theirs.pk], outcome="denied"
    ).exists()


def test_provider_staff_see_only_what_the_handoff_needs(city):
    referral = city.refer()
    body = city.casa_api.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert body["neighbor"] == {
        "name": "Ana Diaz",
        "phone": "+19195550142",
        "language": "es",
        "withheld": None,
    }
    assert body["part2_notice"] is None
    assert body["reason"] == "Counseling in Spanish after a crisis call."
    assert body["navigator"] == {"name": "María Ortega", "email": "maria@heart.example"}
    for hidden in ("case", "consent", "requested_by", "status_changed_by", "status_note"):
        assert hidden not in body, hidden
    assert "id" not in body["neighbor"]
    assert all(set(step) == {"at", "status", "business_status"} for step in body["timeline"])
    # Every other object is 404 to them.
    assert city.casa_api.get(f"/api/v1/cases/{city.case.pk}/").status_code == 404
    assert city.casa_api.get(f"/api/v1/cases/{city.case.pk}/history/").status_code == 404


def test_staff_see_every_referral_and_reading_one_is_access_logged(city):
    mine = city.refer()
    other = city.refer(service=city.shelter)
    listed = city.supervisor_api.get("/api/v1/referrals/").json()["results"]
    assert {r["id"] for r in listed} == {mine.pk, other.pk}
    body = city.navigator_api.get(f"/api/v1/referrals/{mine.pk}/").json()
    assert body["case"]["number"] == city.case.number
    assert body["consent"]["obtained_by"]["username"] == "maria"
    log = AccessLog.objects.filter(user=city.navigator, action="view", object_type="referral")
    assert list(log.values_list("object_ids", "case_id")) == [([mine.pk], city.case.pk)]
    assert AccessLog.objects.filter(user=city.supervisor, action="list").get().object_ids == [
        other.pk,
        mine.pk,
    ]


def test_the_referral_list_filters_and_pages(city):
    first = city.refer()
    second = city.refer(service=city.shelter)
    referral_accept(actor=city.housing_staff, referral=second)
    api = city.navigator_api
    assert [r["id"] for r in api.get("/api/v1/referrals/?status=accepted").json()["results"]] == [
        second.pk
    ]
    by_provider = api.get(f"/api/v1/referrals/?provider={city.casa.pk}").json()["results"]
    assert [r["id"] for r in by_provider] == [first.pk]
    page = api.get("/api/v1/referrals/?page_size=1").json()
    assert len(page["results"]) == 1
    assert page["next"]
    assert [r["id"] for r in api.get(page["next"]).json()["results"]] == [first.pk]
    for bad in ("status=ready", "case=abc", "page_size=0", "cursor=zzz"):
        assert api.get(f"/api/v1/referrals/?{bad}").status_code in (400, 404), bad


def test_the_referral_list_query_count_does_not_grow_with_referrals(
    city, intake, django_assert_max_num_queries
):
    for n in range(12):
        result = intake(
            incident_number=f"D-{n}",
            neighbor={"phone": f"+1 919 555 02{n:02d}", "first_name": "N", "last_name": f"L{n}"},
        )
        city.refer(case=Case.objects.get(pk=result["case"]["id"]))
    for client in (city.navigator_api, city.casa_api):
        with django_assert_max_num_queries(8):
            response = client.get("/api/v1/referrals/")
        assert len(response.json()["results"]) == 12


def test_the_directory_finds_providers_by_need_and_language(city, django_assert_max_num_queries):
    api = city.navigator_api
    with django_assert_max_num_queries(8):
        spanish_housing = api.get("/api/v1/providers/?service=housing&language=es").json()
    assert spanish_housing["results"] == []
    ServiceLanguage.objects.create(service=city.shelter, code="es")
    results = api.get("/api/v1/providers/?service=housing&language=es").json()["results"]
    assert [p["slug"] for p in results] == ["housing"]
    assert [s["name"] for s in results[0]["services"]] == ["Emergency shelter"]
    spanish = api.get("/api/v1/providers/?language=es").json()["results"]
    assert {p["slug"] for p in spanish} == {"casa", "housing", "pantry"}
    everything = api.get("/api/v1/providers/").json()["results"]
    casa = next(p for p in everything if p["slug"] == "casa")
    assert set(casa) >= {"id", "slug", "name", "accepting_referrals", "services"}
    assert {s["name"]: s["languages"] for s in casa["services"]} == {
        "Clínica": ["en", "es"],
        "Salud mental": ["en", "es"],
    }
    assert set(casa["services"][0]) >= {"id", "name", "category", "languages"}
    assert api.get("/api/v1/providers/?service=yoga").status_code == 400
    assert api.get("/api/v1/providers/?language=Spanish!").status_code == 400


def test_the_case_shows_its_referrals_and_their_history(city):
    referral = city.refer()
    referral_accept(actor=city.casa_staff, referral=referral)
    detail = city.navigator_api.get(f"/api/v1/cases/{city.case.pk}/").json()
    [shown] = detail["referrals"]
    assert shown["id"] == referral.pk
    assert shown["status"] == "accepted"
    assert [step["status"] for step in shown["timeline"]] == ["requested", "accepted"]
    history = city.navigator_api.get(f"/api/v1/cases/{city.case.pk}/history/").json()["results"]
    objects = [entry["object"] for entry in history]
    assert f"referral #{referral.pk}" in objects
    assert f"consent #{referral.consent_id} to share" in objects
    accepted = [
        e
        for e in history
        if e["object"] == f"referral #{referral.pk}"
        and "status" in e["changes"]
        and e["changes"]["status"][1] == "accepted"
    ]
    assert accepted[0]["actor"] == "ana"


# --- consent and closing -------------------------------------------------------------------


def test_withdrawing_consent_cancels_the_open_referrals_under_it(city):
    referral = city.refer()
    response = city.navigator_api.post(
        f"/api/v1/consents/{referral.consent_id}/withdraw/",
        {"note": "Changed her mind"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["cancelled_referrals"] == [referral.pk]
    referral.refresh_from_db()
    assert referral.status == "cancelled"
    assert referral.status_reason == "consent-withdrawn"
    consent = referral.consent
    consent.refresh_from_db()
    assert consent.withdrawn_by == city.navigator
    assert consent.withdrawal_note == "Changed her mind"
    again = city.navigator_api.post(f"/api/v1/consents/{referral.consent_id}/withdraw/")
    assert again.status_code == 409
    # The provider hears that it was cancelled, not why.
    notice = Notice.objects.get(subject_key=f"referral:{referral.pk}:cancelled:provider")
    assert "Changed her mind" not in notice.notifications.get().body
    assert (
        city.casa_api.post(f"/api/v1/consents/{referral.consent_id}/withdraw/").status_code == 403
    )


def test_closing_a_case_cancels_referrals_nobody_took_up(city):
    waiting = city.refer()
    engaged = city.refer(service=city.shelter)
    referral_accept(actor=city.housing_staff, referral=engaged)
    referral_start(actor=city.housing_staff, referral=engaged)
    case_close(actor=city.navigator, case=city.case, outcome="connected_to_care")
    waiting.refresh_from_db()
    engaged.refresh_from_db()
    assert waiting.status == "cancelled"
    assert waiting.status_reason == "other"
    # Connected to care: what a provider already took up runs on to its handoff.
    assert engaged.status == "in-progress"


def test_closing_a_case_as_unable_to_reach_cancels_every_open_referral(city):
    waiting = city.refer()
    engaged = city.refer(service=city.shelter)
    referral_accept(actor=city.housing_staff, referral=engaged)
    case_close(actor=city.navigator, case=city.case, outcome="unable_to_reach")
    for referral in (waiting, engaged):
        referral.refresh_from_db()
        assert referral.status == "cancelled"
        assert referral.status_reason == "unable-to-contact"


def test_the_schema_describes_the_referral_endpoints(city):
    schema = city.supervisor_api.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/providers/",
        "/api/v1/referrals/",
        "/api/v1/referrals/{referral_id}/",
        "/api/v1/referrals/{referral_id}/fhir/",
        "/api/v1/consents/{consent_id}/withdraw/",
        *[
            f"/api/v1/referrals/{{referral_id}}/{action}/"
            for action in (
                "acknowledge",
                "accept",
                "decline",
                "start",
                "waitlist",
                "confirm-handoff",
                "no-show",
                "cancel",
            )
        ],
    ):
        assert path in paths, path
    create = paths["/api/v1/referrals/"]["post"]
    assert {"201", "400", "403", "409"} <= set(create["responses"])
    assert {"200", "404", "409"} <= set(
        paths["/api/v1/referrals/{referral_id}/accept/"]["post"]["responses"]
    )
