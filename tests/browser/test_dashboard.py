from __future__ import annotations

import pytest
from django.core.management import call_command

from heart_cases.models import FieldResponse
from metrics.selectors import default_period, program_metrics

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CHARTS = (
    "calls-heat",
    "answered-heat",
    "not-answered",
    "responses",
    "follow-ups",
    "funnel",
    "referrals-weekly",
    "declines",
    "repeat",
)


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
    # The demand: the demo's year of eligible calls, as the API counts them, on the tiles and
    # in the heat maps (7 days of 24 hours), answered in the pilot's weekday daytime hours.
    numbers = program_metrics(period=default_period())
    calls = numbers["eligible_calls"]
    assert calls["total"] > 1000
    assert page.locator("#tile-eligible .value").inner_text() == f"{calls['responded_to']:,}"
    assert f"{calls['total']:,}" in page.locator("#tile-eligible .detail").inner_text()
    assert page.locator("#tile-diverted .value").inner_text() == (
        f"{numbers['diverted_from_police']['calls']:,}"
    )
    median = numbers["response_time"]["median_minutes"]
    assert median is not None
    assert page.locator("#tile-response-time .value").inner_text().startswith(f"{median:.0f}")
    for key in ("calls-heat", "answered-heat"):
        assert page.locator(f"#chart-{key} rect.bar").count() == 7 * 24, key
    cells = calls["by_hour_of_week"]

    def share(chosen: list[dict[str, int]]) -> float:
        return sum(c["responded_to"] for c in chosen) / sum(c["total"] for c in chosen)

    # The pilot's shape: answered on weekdays in daytime, hardly at all outside those hours.
    daytime = [c for c in cells if c["weekday"] < 5 and 9 <= c["hour"] < 17]
    night = [c for c in cells if c["hour"] < 6 or c["weekday"] >= 5]
    assert share(daytime) > 0.5
    assert share(night) < 0.1
    assert sum(c["total"] for c in night) > sum(c["total"] for c in daytime) / 4
    # Each hour's tooltip says what the API counted: Wednesday 11:00 (third row, 12th hour)
    # and the least answered night hour.
    heat = page.locator("#chart-answered-heat rect.bar")
    wednesday = cells[2 * 24 + 11]
    darkest = min((c for c in night if c["total"]), key=lambda c: c["responded_to"] / c["total"])
    shown = {}
    for cell in (wednesday, darkest):
        rect = heat.nth(cell["weekday"] * 24 + cell["hour"])
        part, whole = cell["responded_to"], cell["total"]
        assert (
            rect.locator("title")
            .text_content()
            .endswith(f"{part / whole:.0%} ({part:,}/{whole:,})")
        )
        shown[part / whole] = rect.get_attribute("fill")
    assert len(set(shown.values())) == 2  # an answered hour and an unanswered one differ
    bars = page.locator("#chart-not-answered rect.bar")
    assert bars.count() == 6
    page.locator("figure#chart-calls-heat").screenshot(
        path=str(artifacts / "metrics-calls-heat-map.png")
    )
    page.locator("figure#chart-answered-heat").screenshot(
        path=str(artifacts / "metrics-answered-heat-map.png")
    )
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
