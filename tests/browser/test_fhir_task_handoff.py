"""Issue 17's "done when", over real HTTP and in Chromium: a provider's own system, holding only a
provider-staff token, finds a new referral through `/fhir/Task`, accepts it, starts it and
completes it with its resulting activity; the navigator then opens the case page and sees the
handoff, with the provider as the one who gave it."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken

from referrals import fhir
from referrals.models import Referral, Service
from referrals.services import referral_create
from tests.browser.demo import open_case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

FHIR_JSON = "application/fhir+json"


@pytest.fixture
def clinician() -> Any:
    call_command("seed_demo", "--responses", "0", stdout=io.StringIO())
    return get_user_model().objects.get(username="clinician1")


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("heart-demo")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def test_a_providers_system_answers_by_fhir_and_the_navigator_sees_the_handoff(
    live_server: Any, clinician: Any, page: Any
) -> None:
    case = open_case(clinician, number=1, first_name="José", last_name="Hernández")
    referral = referral_create(
        actor=clinician,
        case=case,
        service=Service.objects.filter(provider__slug="casa-esperanza").order_by("id").first(),
        reason="Counseling in Spanish after a crisis call.",
        consent_method="verbal",
        consent_obtained_at=timezone.now(),
    )
    provider = get_user_model().objects.get(username="provider-casa")
    _, token = AuthToken.objects.create(provider)
    system = requests.Session()
    system.headers.update({"Authorization": f"Token {token}", "Accept": FHIR_JSON})
    base = live_server.url

    found = system.get(
        f"{base}/fhir/Task", params={"owner": "casa-esperanza", "status": "requested"}
    )
    assert found.status_code == 200, found.text
    assert found.headers["Content-Type"].startswith(FHIR_JSON)
    [entry] = found.json()["entry"]
    url = entry["fullUrl"]
    assert url == f"{base}/fhir/Task/{referral.pk}"

    etags = []
    task = entry["resource"]
    for status, extra in (
        ("accepted", {}),
        ("in-progress", {}),
        (
            "completed",
            {
                "output": [
                    {
                        "type": {
                            "coding": [{"system": fhir.SDOHCC_CODES, "code": "resulting-activity"}]
                        },
                        "valueCodeableConcept": {"text": "Counseling intake"},
                    }
                ]
            },
        ),
    ):
        current = system.get(url)
        etags.append(current.headers["ETag"])
        body = copy.deepcopy(current.json()) | {"status": status, **extra}
        answer = system.put(
            url,
            json=body,
            headers={"Content-Type": FHIR_JSON, "If-Match": etags[-1]},
        )
        assert answer.status_code == 200, answer.text
        task = answer.json()
        assert task["status"] == status
    assert len(set([*etags, system.get(url).headers["ETag"]])) == 4

    # The system that still holds the first version is refused, and nothing changes.
    stale = system.put(
        url,
        json=copy.deepcopy(task) | {"status": "failed"},
        headers={"Content-Type": FHIR_JSON, "If-Match": etags[0]},
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    referral.refresh_from_db()
    assert referral.status == "completed"
    answered = [
        row.history_user.username
        for row in Referral.history.filter(id=referral.pk).order_by("history_id")
        if row.status in ("accepted", "in-progress", "completed")
    ]
    assert set(answered) == {"provider-casa"}

    login(page, base, "clinician1")
    page.goto(f"{base}/cases/{case.pk}/")
    card = page.locator(f"#referral-{referral.pk}")
    assert card.locator(".status.referral-completed").inner_text() == "Handoff confirmed"
    assert "confirmed the handoff" in page.locator("#referrals .prompt").inner_text()
    actor = provider.get_full_name() or provider.get_username()
    assert f"{actor}: Handoff confirmed" in card.locator(".timeline").inner_text()
