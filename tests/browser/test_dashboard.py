from __future__ import annotations

import pytest
from django.core.management import call_command

from heart_cases.models import FieldResponse
from metrics.selectors import default_period, program_metrics

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CHARTS = ("responses", "follow-ups", "funnel", "referrals-weekly", "declines", "repeat")


def test_an_analyst_lands_on_the_dashboard_and_its_charts_render(live_server, page, artifacts):
    call_command("seed_demo", "--responses", "40", "--days", "21", stdout=None)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused" in message.text
            else None
        ),
    )

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", "heart-demo")
    page.click("main button[type=submit]")
    page.wait_for_selector("figure.chart")
    assert page.url.endswith("/metrics/")
    assert page.locator("h1").inner_text().startswith("Program metrics")
    total = page.locator("#tile-responses .value").inner_text()
    assert total == str(FieldResponse.objects.count())
    # How many follow-ups' 48 hours fell outside service hours, as the API counts them.
    outside = page.locator("#tile-outside-hours")
    assert "48 hours fell outside service hours" in outside.inner_text()
    shown = outside.locator(".value").inner_text()
    counted = program_metrics(period=default_period())["follow_ups"]["outside_service_hours"]
    assert shown == f"{counted:,}"

    for key in CHARTS:
        chart = page.locator(f"#chart-{key} svg.chart")
        assert chart.is_visible(), key
        box = chart.bounding_box()
        assert box is not None, key
        assert box["width"] > 300, (key, box)
        assert box["height"] > 120, (key, box)
    # Bars drawn with height, a line through the weeks, the funnel's four bars.
    bars = page.locator("#chart-responses rect.bar")
    assert bars.count() > 0
    heights = [bars.nth(k).bounding_box()["height"] for k in range(bars.count())]
    assert max(heights) > 20
    assert page.locator("#chart-follow-ups polyline.series").count() >= 1
    assert page.locator("#chart-funnel rect.bar").count() == 4
    assert page.locator("#chart-repeat rect.bar").count() == 4
    # The stylesheet applied (the charts are cards), and nothing was refused by the CSP.
    border = page.eval_on_selector("figure.chart", "e => getComputedStyle(e).borderTopStyle")
    assert border == "solid"
    assert refused == []
    page.screenshot(path=str(artifacts / "metrics-dashboard.png"), full_page=True)

    with page.expect_download() as download_info:
        page.locator("section.reports a.download").first.click()
    download = download_info.value
    assert download.suggested_filename.startswith("heart-metrics-")
    with open(download.path(), encoding="utf-8") as report:
        assert report.readline().strip() == "section,measure,breakdown,value"
