"""Demographics served: each neighbor once, by the linked record's data, small cells hidden."""

from __future__ import annotations

from datetime import date

import pytest

from metrics.selectors import suppress
from tests.metrics.conftest import local, metrics

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 10, 12)


@pytest.fixture
def served(history):
    """13 neighbors in October: 6 women, 5 men, 2 nonbinary; one woman came twice."""
    genders = ["female"] * 6 + ["male"] * 5 + ["nonbinary"] * 2
    for k, gender in enumerate(genders):
        history.respond(
            f"demo{k}",
            local(2026, 10, 1 + k, 9),
            consent=False,
            gender=gender,
            race="Black" if k % 2 else "White",
        )
    history.respond("demo0", local(2026, 10, 20, 9), consent=False)
    return history


def cells(data, dimension):
    return [(c["value"], c["neighbors"], c["suppressed"]) for c in data["demographics"][dimension]]


def test_each_neighbor_counts_once_and_small_cells_are_hidden(analyst, served):
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    assert data["neighbors_served"] == 13
    # nonbinary (2) is under 5; with the total published it could be worked out from the other
    # two, so the smallest of them (male, 5) is hidden as well.
    assert cells(data, "gender") == [
        ("female", 6, None),
        ("male", None, "complementary"),
        ("nonbinary", None, "under_5"),
    ]
    assert cells(data, "race") == [("White", 7, None), ("Black", 6, None)]
    assert cells(data, "housing") == [("Not recorded as unsheltered", 13, None)]


def test_age_is_taken_on_the_periods_first_day(analyst, history):
    birthdays = {
        "seventeen": date(2008, 10, 2),  # turns 18 the day after the period starts
        "eighteen": date(2008, 10, 1),  # turns 18 on the period's first day
        "sixty-five": date(1961, 10, 1),
        "unknown": None,
    }
    for name, born in birthdays.items():
        for copy in range(5):  # five of each, so that no cell is hidden
            history.respond(
                f"{name}{copy}", local(2026, 10, 3, 9 + copy), consent=False, date_of_birth=born
            )
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    assert cells(data, "age_band") == [
        ("Under 18", 5, None),
        ("18–24", 5, None),
        ("65 and over", 5, None),
        ("Not recorded", 5, None),
    ]


def test_a_linked_record_counts_with_the_record_it_is_linked_to(analyst, history):
    for k in range(5):
        history.respond(f"root{k}", local(2026, 10, 2, 9 + k), consent=False, gender="female")
    history.respond("alias", local(2026, 10, 4, 9), consent=False, gender="male")
    history.link("alias", into="root0")
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    assert data["neighbors_served"] == 5
    assert cells(data, "gender") == [("female", 5, None)]


def test_suppression_hides_a_second_cell_only_when_one_alone_would_be_revealed():
    assert suppress([("a", 9), ("b", 7), ("c", 1)]) == [
        {"value": "a", "neighbors": 9, "suppressed": None},
        {"value": "b", "neighbors": None, "suppressed": "complementary"},
        {"value": "c", "neighbors": None, "suppressed": "under_5"},
    ]
    two_small = suppress([("a", 9), ("b", 3), ("c", 1)])
    assert [c["neighbors"] for c in two_small] == [9, None, None]
    assert [c["neighbors"] for c in suppress([("a", 5), ("b", 5)])] == [5, 5]
    assert [c["neighbors"] for c in suppress([("a", 4)])] == [None]
