"""The metrics dashboard page: who sees it, what it shows, what it costs."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection

from tests.conftest import ROLES
from tests.metrics.conftest import local

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 10, 12)
OCTOBER = "/metrics/?start=2026-10-01&end=2026-10-31"


@pytest.fixture
def october(history, services):
    for k in range(8):
        result = history.respond(
            f"page{k % 5}",
            local(2026, 10, 1 + 3 * k, 10),
            program=["CRT", "CCD", "COR"][k % 3],
            call_type=["Trespass", "Suicide threat", "Threat"][k % 3],
        )
        if result.follow_up is not None:
            history.attempt(result, local(2026, 10, 1 + 3 * k, 15), "reached")
    return history


def page(client, user, path=OCTOBER):
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)
        return client.get(path)


def test_supervisors_and_analysts_see_the_dashboard_and_others_do_not(client, make_staff):
    seen = {}
    for role in ROLES:
        user, _ = make_staff(f"page-{role}", role)
        seen[role] = page(client, user).status_code
    assert seen == {role: 200 if role in ("supervisor", "analyst") else 403 for role in ROLES}
    client.logout()
    response = client.get("/metrics/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_dashboard_shows_the_headline_numbers_and_nine_charts(client, make_staff, october):
    user, _ = make_staff("page-analyst", "analyst")
    html = page(client, user).content.decode()
    tile = re.search(r'id="tile-responses"><span class="value">([^<]+)<', html)
    assert tile is not None
    assert tile.group(1) == "8"
    assert html.count('<svg class="chart"') == 9
    for key in (
        "calls-heat",
        "answered-heat",
        "not-answered",
        "responses",
        "follow-ups",
        "funnel",
        "referrals-weekly",
        "declines",
        "repeat",
    ):
        assert f'id="chart-{key}"' in html
    bars = re.findall(
        r'<rect class="bar"[^>]*>',
        re.search(r'id="chart-responses".*?</figure>', html, re.S).group(0),
    )
    assert len(bars) == 8  # two programs in each of four weeks
    assert 'class="series"' in re.search(r'id="chart-follow-ups".*?</figure>', html, re.S).group(0)


def test_the_page_has_no_inline_style_or_script(client, make_staff, october):
    user, _ = make_staff("page-analyst", "analyst")
    html = page(client, user).content.decode()
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert "cdn" not in html.lower()


def test_the_dashboard_names_no_neighbor(client, make_staff, october):
    user, _ = make_staff("page-analyst", "analyst")
    html = page(client, user).content.decode()
    for person in october.people.values():
        assert person.last_name not in html
        assert person.phone not in html


def test_the_monthly_report_buttons_cover_the_months_shown(client, make_staff):
    user, _ = make_staff("page-analyst", "analyst")
    html = page(client, user, "/metrics/?start=2026-09-15&end=2026-10-31").content.decode()
    assert re.findall(r'href="(/metrics/reports/[^"]+)"', html) == [
        "/metrics/reports/2026-10.csv",
        "/metrics/reports/2026-09.csv",
    ]


@pytest.mark.parametrize(
    "query",
    [
        "?start=2026-10-31&end=2026-10-01",
        "?start=oops&end=2026-10-01",
        "?start=2020-01-01&end=2026-01-01",
    ],
)
def test_bad_dates_say_what_is_wrong_and_show_the_default_period(client, make_staff, query):
    user, _ = make_staff("page-analyst", "analyst")
    response = page(client, user, f"/metrics/{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error"' in html
    assert html.count('<svg class="chart"') == 9


@pytest.mark.parametrize("responses", [2, 20])
def test_the_page_query_count_does_not_grow_with_the_data(
    client, make_staff, history, responses, django_assert_num_queries, django_assert_max_num_queries
):
    for k in range(responses):
        history.respond(f"budget{k % 6}", local(2026, 10, 1 + k, 9))
    user, _ = make_staff("page-supervisor", "supervisor")
    page(client, user)  # the first read folds the new rows into the facts
    # Session and user (2), permissions (2), the metrics as the API reads them (19), unread
    # notifications (1), and the idle timeout renewing the session (3). On SQLite (`make run`)
    # no SET LOCAL, and the median reads the middle rows only when there are some: at most 26.
    if connection.vendor == "postgresql":
        budget = django_assert_num_queries(27)
    else:
        budget = django_assert_max_num_queries(26)
    with time_machine.travel(NOW, tick=False), budget:
        assert client.get(OCTOBER).status_code == 200
