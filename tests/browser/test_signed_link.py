"""A provider without accounts answers referrals through the signed link it was emailed, in a
real browser: every action the link page offers, with the page's own CSRF-protected forms,
while the link's token never leaves the site in a Referer."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from heart_cases import queueing
from heart_cases.models import Case
from navigation.models import Notice
from referrals.models import Referral, Service
from referrals.services import referral_create
from tests.browser.demo import open_case

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, tuple[Any, ...]]]:
    """Celery messages kept off the shared broker; the test runs the emails among them."""
    sent: list[tuple[Any, tuple[Any, ...]]] = []

    def record(task: Any, *args: Any) -> bool:
        sent.append((task, args))
        return True

    monkeypatch.setattr(queueing, "enqueue_now", record)
    return sent


@pytest.fixture
def base_url(live_server: Any, settings: Any) -> str:
    """The emailed link names the live server, as HEART_BASE_URL names the site in use."""
    settings.HEART_BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return str(live_server.url)


@pytest.fixture
def clinician() -> Any:
    """The demo directory, staff and pairs, without the weeks of history (none is needed)."""
    call_command("seed_demo", "--responses", "0", stdout=io.StringIO())
    return get_user_model().objects.get(username="clinician1")


def emailed_link(
    queued: list[tuple[Any, tuple[Any, ...]]],
    clinician: Any,
    case: Case,
    *,
    provider: str,
    service: str,
    **consent: Any,
) -> tuple[Referral, str, str]:
    """Refer the neighbor, run the email task as a worker would, and read the link out of the
    email the provider's intake address received: (the referral, the link, the email's body)."""
    referral = referral_create(
        actor=clinician,
        case=case,
        service=Service.objects.get(provider__slug=provider, name=service),
        reason="The neighbor asked for help this week.",
        consent_obtained_at=timezone.now(),
        **({"consent_method": "verbal"} | consent),
    )
    emails = [(task, args) for task, args in queued if task.name == "referrals.email_provider"]
    assert [args for _, args in emails] == [(referral.pk, "sent")]
    queued.clear()
    for task, args in emails:
        task.apply(args=args).get()  # in this process, so the email lands in mail.outbox
    [message] = mail.outbox
    mail.outbox.clear()
    assert message.to == [referral.provider.email]
    found = re.search(r"^(https?://\S+/r/\S+/)$", message.body, flags=re.MULTILINE)
    assert found, message.body
    return referral, found.group(1), message.body


def message_text(page: Any) -> str:
    """The one message the page shows after a step; a success, not an error."""
    return str(page.locator(".message.success").inner_text())


def press(page: Any, name: str, *, base_url: str) -> None:
    """Press a button of the page's own forms, and check the browser's POST was one Django's
    CSRF check accepts: a real Origin (not "null"), answered by a redirect, not a 403."""
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.get_by_role("button", name=name).click()
    response = answer.value
    assert response.status == 302, response.text()
    assert response.request.header_value("origin") == base_url


def test_a_provider_without_accounts_accepts_and_confirms_a_handoff_through_the_emailed_link(
    base_url, clinician, queued, page, artifacts
):
    case = open_case(clinician, number=1, first_name="Linda", last_name="Carter")
    referral, link, _ = emailed_link(
        queued, clinician, case, provider="triangle-food-share", service="Community food pantry"
    )
    assert link.startswith(f"{base_url}/r/")
    token = urlsplit(link).path.split("/")[2]

    response = page.goto(link)
    assert response.status == 200
    # The token is a credential: no Referer to another site, no cache, no index.
    assert response.headers["referrer-policy"] == "same-origin"
    assert "no-store" in response.headers["cache-control"]
    assert "noindex" in response.headers["x-robots-tag"]
    assert "Triangle Food Share" in page.get_by_role("heading", level=1).inner_text()
    assert "Linda Carter" in page.locator(f"#referral-{referral.pk}").inner_text()
    for href, rel in page.eval_on_selector_all(
        "a[href]", "links => links.map(a => [a.href, a.rel])"
    ):
        if urlsplit(href).scheme in ("http", "https") and not href.startswith(base_url):
            assert "noreferrer" in rel.split(), href
    # Following a link to another site (here 127.0.0.1, for the live server's localhost)
    # sends no Referer: the token stays on the site.
    other_site = base_url.replace("localhost", "127.0.0.1") + "/healthz"
    assert urlsplit(other_site).netloc != urlsplit(base_url).netloc
    with page.expect_request(other_site) as sent:
        page.evaluate(
            """url => {
                const a = document.createElement("a");
                a.href = url;
                document.body.append(a);
                a.click();
            }""",
            other_site,
        )
    assert "referer" not in sent.value.all_headers()
    page.wait_for_url(other_site)
    page.goto(link)
    # The page's own buttons (the header holds the language menu's).
    assert sorted(page.locator("main").get_by_role("button").all_inner_texts()) == [
        "Accept",
        "Decline",
        "Mark viewed",
    ]
    page.screenshot(path=str(artifacts / "signed-link.png"), full_page=True)

    press(page, "Mark viewed", base_url=base_url)
    assert page.url == link
    assert message_text(page) == f"Referral #{referral.pk}: viewed."
    assert page.get_by_role("button", name="Mark viewed").count() == 0
    assert "Viewed" in page.locator(f"#referral-{referral.pk}").inner_text()
    referral.refresh_from_db()
    assert referral.status == "requested"
    assert referral.business_status == "viewed"
    assert referral.acknowledged_at is not None
    viewed_at = referral.acknowledged_at

    press(page, "Accept", base_url=base_url)
    assert page.url == link
    assert message_text(page) == f"Referral #{referral.pk}: accepted."
    assert "Accepted" in page.locator(f"#referral-{referral.pk} .status").inner_text()
    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.acknowledged_at == viewed_at
    assert referral.status_changed_by.username == "system:provider-link:triangle-food-share"

    arrived = timezone.localtime()
    page.get_by_label("Neighbor arrived").fill(arrived.strftime("%Y-%m-%dT%H:%M"))
    press(page, "Confirm handoff", base_url=base_url)
    # The referral has ended, so its link no longer works; the page says both.
    assert message_text(page) == f"Referral #{referral.pk}: handoff confirmed."
    assert "This referral has ended (handoff confirmed)." in page.content()
    assert page.locator("main").get_by_role("button").count() == 0
    page.screenshot(path=str(artifacts / "signed-link-handoff-confirmed.png"), full_page=True)
    referral.refresh_from_db()
    assert referral.status == "completed"
    assert timezone.localtime(referral.handoff_at).strftime("%H:%M") == arrived.strftime("%H:%M")
    latest = referral.history.latest()
    assert latest.history_user.username == "system:provider-link:triangle-food-share"
    assert latest.history_change_reason == (
        "Handoff confirmed by Triangle Food Share through the signed link"
    )
    assert Notice.objects.filter(
        kind="close_prompt", subject_key=f"referral:{referral.pk}"
    ).exists()
    assert token not in "".join(referral.history.values_list("history_change_reason", flat=True))

    again = page.goto(link)
    assert again.status == 410


def test_a_provider_without_accounts_declines_through_the_emailed_link_with_a_reason(
    base_url, clinician, queued, page
):
    case = open_case(clinician, number=2, first_name="Marcus", last_name="Hill")
    # Substance-use care: 42 CFR Part 2, on written consent naming its purpose.
    referral, link, email = emailed_link(
        queued,
        clinician,
        case,
        provider="eno-recovery",
        service="Outpatient substance use treatment",
        consent_method="written",
        consent_purpose="referral for substance-use treatment",
        consent_scope=["contact", "reason", "substance_use"],
    )
    notice = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
    assert email.rstrip().endswith(f"42 CFR § 2.32: {notice}")
    page.goto(link)
    assert notice in page.get_by_role("note").filter(has_text="42 CFR").inner_text()
    assert "Marcus Hill" in page.locator(f"#referral-{referral.pk}").inner_text()
    page.get_by_label("Reason").select_option(label="No capacity")
    page.get_by_label("Note (optional)").fill("Full until next month.")
    press(page, "Decline", base_url=base_url)
    assert message_text(page) == f"Referral #{referral.pk}: declined."
    assert "This referral has ended (declined)." in page.content()
    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert referral.status_reason == "no-capacity"
    assert referral.status_note == "Full until next month."
    assert referral.acknowledged_at is not None  # a decline shows they saw it
    assert referral.status_changed_by.username == "system:provider-link:eno-recovery"
    latest = referral.history.latest()
    assert latest.history_user.username == "system:provider-link:eno-recovery"
    assert latest.history_change_reason == (
        "Declined by Eno River Recovery Center through the signed link (no capacity): "
        "Full until next month."
    )
    assert Notice.objects.filter(
        kind="referral_update", subject_key=f"referral:{referral.pk}:rejected"
    ).exists()
