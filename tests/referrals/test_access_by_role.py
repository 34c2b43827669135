"""Who may do what: every referral endpoint, walked with every role (API.md: 401 without a login,
403 for a role not allowed, 404 for an object the caller may not see)."""

from __future__ import annotations

import pytest

from referrals.models import Referral
from referrals.services import referral_cancel

from .conftest import referral_body

pytestmark = pytest.mark.django_db

# (name, method, path template, body). {id} is a fresh referral to Casa; {consent} its consent.
ENDPOINTS = [
    ("directory", "get", "/api/v1/providers/", None),
    ("list", "get", "/api/v1/referrals/", None),
    ("create", "post", "/api/v1/referrals/", "referral"),
    ("detail", "get", "/api/v1/referrals/{id}/", None),
    ("fhir", "get", "/api/v1/referrals/{id}/fhir/", None),
    ("acknowledge", "post", "/api/v1/referrals/{id}/acknowledge/", {}),
    ("accept", "post", "/api/v1/referrals/{id}/accept/", {}),
    ("decline", "post", "/api/v1/referrals/{id}/decline/", {"reason": "no-capacity"}),
    ("start", "post", "/api/v1/referrals/{id}/start/", {}),
    ("waitlist", "post", "/api/v1/referrals/{id}/waitlist/", {}),
    ("confirm-handoff", "post", "/api/v1/referrals/{id}/confirm-handoff/", {}),
    ("no-show", "post", "/api/v1/referrals/{id}/no-show/", {}),
    ("cancel", "post", "/api/v1/referrals/{id}/cancel/", {"reason": "other"}),
    ("withdraw consent", "post", "/api/v1/consents/{consent}/withdraw/", {}),
]

STAFF = {
    "directory": 200,
    "list": 200,
    "create": 201,
    "detail": 200,
    "fhir": 200,
    **dict.fromkeys(
        ["acknowledge", "accept", "decline", "start", "waitlist", "confirm-handoff", "no-show"],
        403,
    ),
    "cancel": 200,
    "withdraw consent": 200,
}
NOT_REFERRALS = {name: 403 for name, *_ in ENDPOINTS} | {"directory": 200}

# role -> endpoint -> status. A fresh referral is `requested`, so the provider's later steps
# are refused by the machine (409), which shows the role got through to the referral.
EXPECTED: dict[str, dict[str, int]] = {
    "anonymous": {name: 401 for name, *_ in ENDPOINTS},
    "responder": NOT_REFERRALS,
    "analyst": NOT_REFERRALS,
    "clinician": STAFF,
    "peer": STAFF,
    "supervisor": STAFF,
    "provider": {
        "directory": 200,
        "list": 200,
        "create": 403,
        "detail": 200,
        "fhir": 200,
        "acknowledge": 200,
        "accept": 200,
        "decline": 200,
        "start": 409,
        "waitlist": 409,
        "confirm-handoff": 409,
        "no-show": 409,
        "cancel": 403,
        "withdraw consent": 403,
    },
    "provider of another organization": {
        "directory": 200,
        "list": 200,
        "create": 403,
        "detail": 404,
        "fhir": 404,
        **dict.fromkeys(
            ["acknowledge", "accept", "decline", "start", "waitlist", "confirm-handoff", "no-show"],
            404,
        ),
        "cancel": 403,
        "withdraw consent": 403,
    },
}


def test_the_table_names_every_endpoint_for_every_role():
    for role, row in EXPECTED.items():
        assert set(row) == {name for name, *_ in ENDPOINTS}, role


def _fresh(city):
    for open_referral in Referral.objects.filter(
        case=city.case, service=city.counseling, status__in=Referral.OPEN_STATUSES
    ):
        referral_cancel(actor=city.navigator, referral=open_referral, reason="other")
    return city.refer()


@pytest.mark.parametrize("role", list(EXPECTED))
def test_every_referral_endpoint_answers_each_role_as_the_table_says(city, clients_by_role, role):
    if role == "provider of another organization":
        client = city.housing_api
    else:
        client = clients_by_role[role]
    seen = {}
    for name, method, template, body in ENDPOINTS:
        referral = _fresh(city)
        path = template.format(id=referral.pk, consent=referral.consent_id)
        if body == "referral":
            referral_cancel(actor=city.navigator, referral=referral, reason="other")
            body = referral_body(city)
        post = method == "post"
        response = client.post(path, body, format="json") if post else client.get(path)
        seen[name] = response.status_code
        referral.refresh_from_db()
        if response.status_code in (401, 403, 404) and name not in ("create", "directory", "list"):
            assert referral.status == "requested", (role, name)
            assert referral.business_status == "sent", (role, name)
    assert seen == EXPECTED[role]


def test_provider_staff_list_nothing_of_other_organizations(city):
    city.refer()
    assert city.housing_api.get("/api/v1/referrals/").json()["results"] == []
