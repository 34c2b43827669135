"""Every metric of METRICS.md against a count done by hand over a small known history.

October 2026 in America/New_York (daylight time until 1 November, 02:00). The history:

    ana    Sep 28 10:00 CRT (case A opens)      -> September, not October
           Oct  5 10:00 CRT transported          follow-up: no answer at 2 h, reached at 47 h 59
           Oct 12 10:00 CRT (case A)             follow-up: no answer at 24 h, nothing more
    ben    Sun Oct 11 23:30 CCD, not safe        Monday 03:30 UTC, still the week of Oct 5
                                                 locally; follow-up: reached at 48 h 01
    cleo   Sat Oct 31 23:58 COR, no answer on    Nov 1 UTC, still October locally; its
           safety                                follow-up falls due on Nov 2
    dan    Wed Sep 30 23:50 CRT                  Oct 1 UTC, September locally; follow-up due
                                                 Oct 2: declined on the phone at 9 h 10
           Sun Nov  1 00:10 CRT                  -> November
    eve    Oct  3 14:00 CRT, no consent          two records, linked afterwards: one neighbor
    evelyn Oct 20 14:00 CRT, no consent
    frank  Oct 2, 9, 16, 23, 30 08:00 CRT        five responses, no consent
    gus    Oct 15 13:00 CRT \\ one incident, two units: one eligible call
    hal    Oct 15 13:00 COR /
    ivy    Oct 20 09:00 CRT; case closed (moved away) Oct 21 09:00, before the follow-up fell due
    jay    Oct 26 10:00 CRT transported; reached at 2 h 30

Referrals (made, then what the provider did):
    case A Sep 29 -> September;  case A Oct 8 09:00 declined (no capacity);
    case A Oct 8 10:00 accepted Oct 9, cancelled by staff Oct 10 (neighbor declined);
    ben Oct 12 09:00 acknowledged, still requested;  jay Oct 26 13:00 accepted, handoff Oct 27.
"""

from __future__ import annotations

import pytest

from tests.metrics.conftest import local, metrics

pytestmark = pytest.mark.django_db
NOW = local(2026, 11, 10, 12)


@pytest.fixture
def october(history, services):
    h = history
    h.respond("ana", local(2026, 9, 28, 10))
    ana1 = h.respond("ana", local(2026, 10, 5, 10), disposition="transported")
    h.attempt(ana1, local(2026, 10, 5, 12), "no_answer")
    h.attempt(ana1, local(2026, 10, 7, 9, 59), "reached")
    ana2 = h.respond("ana", local(2026, 10, 12, 10))
    h.attempt(ana2, local(2026, 10, 13, 10), "no_answer")

    ben = h.respond(
        "ben",
        local(2026, 10, 11, 23, 30),
        program="CCD",
        call_type="Suicide threat",
        felt_safe=False,
    )
    h.attempt(ben, local(2026, 10, 13, 23, 31), "reached")

    h.respond(
        "cleo", local(2026, 10, 31, 23, 58), program="COR", call_type="Threat", felt_safe=None
    )

    dan = h.respond("dan", local(2026, 9, 30, 23, 50))
    h.attempt(dan, local(2026, 10, 1, 9), "declined")
    h.respond("dan", local(2026, 11, 1, 0, 10))

    h.respond("eve", local(2026, 10, 3, 14), consent=False)
    h.respond("evelyn", local(2026, 10, 20, 14), consent=False)
    h.link("evelyn", into="eve")

    for day in (2, 9, 16, 23, 30):
        h.respond("frank", local(2026, 10, day, 8), consent=False)

    h.respond(
        "gus",
        local(2026, 10, 15, 13),
        consent=False,
        incident="D-SAME",
        unit="CRT-7",
        call_type="Trespass",
    )
    h.respond(
        "hal",
        local(2026, 10, 15, 13),
        consent=False,
        incident="D-SAME",
        unit="COR-7",
        program="COR",
        call_type="Threat",
    )

    ivy = h.respond("ivy", local(2026, 10, 20, 9))
    h.close(ivy, local(2026, 10, 21, 9), "moved_away")

    jay = h.respond("jay", local(2026, 10, 26, 10), disposition="transported")
    h.attempt(jay, local(2026, 10, 26, 12, 30), "reached")

    first, second, third = services
    h.refer(ana1, local(2026, 9, 29, 9), first)  # made in September: not in October's cohort
    declined = h.refer(ana1, local(2026, 10, 8, 9), second)
    h.answer(declined, local(2026, 10, 8, 11), "decline", reason_code="no-capacity")
    cancelled = h.refer(ana1, local(2026, 10, 8, 10), third)
    h.answer(cancelled, local(2026, 10, 9, 9), "accept")
    h.answer(cancelled, local(2026, 10, 10, 9), "cancel", reason_code="neighbor-declined")
    waiting = h.refer(ben, local(2026, 10, 12, 9), first)
    h.answer(waiting, local(2026, 10, 12, 10), "acknowledge")
    completed = h.refer(jay, local(2026, 10, 26, 13), first)
    h.answer(completed, local(2026, 10, 26, 15), "accept")
    h.answer(
        completed, local(2026, 10, 27, 10), "confirm-handoff", occurred_at=local(2026, 10, 27, 9)
    )
    return h


def test_field_responses_count_by_program_on_local_dates(analyst, october):
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    # ana 2, ben 1, cleo 1, eve+evelyn 2, frank 5, gus 1, hal 1, ivy 1, jay 1. Not counted:
    # ana's Sep 28, dan's Sep 30 23:50 (already Oct 1 in UTC) and Nov 1 00:10 (still Oct 31 UTC).
    assert data["field_responses"]["total"] == 15
    assert data["field_responses"]["by_program"] == {"CCD": 1, "CRT": 12, "COR": 2}


def test_weeks_start_on_local_mondays(analyst, october):
    weeks = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)["field_responses"]["by_week"]
    assert [w["week_start"] for w in weeks] == [
        "2026-09-28",
        "2026-10-05",
        "2026-10-12",
        "2026-10-19",
        "2026-10-26",
    ]
    by_week = {w["week_start"]: w["by_program"] for w in weeks}
    assert by_week["2026-09-28"] == {"CCD": 0, "CRT": 2, "COR": 0}  # eve Oct 3, frank Oct 2
    # ben's Sunday 23:30 is Monday 03:30 UTC: it stays in the week of Oct 5.
    assert by_week["2026-10-05"] == {"CCD": 1, "CRT": 2, "COR": 0}
    assert by_week["2026-10-12"] == {"CCD": 0, "CRT": 3, "COR": 1}
    assert by_week["2026-10-19"] == {"CCD": 0, "CRT": 3, "COR": 0}
    assert by_week["2026-10-26"] == {"CCD": 0, "CRT": 2, "COR": 1}  # cleo's 23:58 on the 31st


def test_an_incident_two_units_answered_is_one_eligible_call(analyst, october):
    eligible = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)["eligible_calls"]
    assert eligible["incidents_with_field_responses"] == {
        "total": 14,
        "by_program": {"CCD": 1, "CRT": 12, "COR": 1},
    }
    # The CAD reported none of these calls: the calls are counted from its feed alone.
    assert (eligible["total"], eligible["responded_to"], eligible["response_rate"]) == (0, 0, None)


def test_transports_safety_and_cases_opened(analyst, october):
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    assert data["transported"] == 2
    assert data["transport_rate"] == round(2 / 15, 4)
    # ben said no; cleo's was not answered and is left out of the rate.
    assert data["responder_safety"] == {"felt_safe": 13, "answered": 14}
    assert data["responder_felt_safe_rate"] == round(13 / 14, 4)
    # ben, cleo, eve, evelyn, frank x5, gus, hal, ivy, jay; ana's two joined her open case A.
    assert data["cases_opened"] == 13


def test_follow_ups_met_within_48_hours_to_the_minute(analyst, october):
    follow_ups = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)["follow_ups"]
    # Due in October: dan (Oct 2), ana (Oct 7), ana (Oct 14), ben (Oct 13), jay (Oct 28).
    # ivy's was cancelled when her case closed before it fell due; cleo's falls due Nov 2.
    assert follow_ups["due"] == 5
    # ana's reached at 47 h 59, jay's at 2 h 30, dan's declined on the phone (a contact);
    # ben's reached at 48 h 01 is late.
    assert follow_ups["met_within_48h"] == 3
    assert follow_ups["rate"] == 0.6
    # ana's second had a (failed) attempt at 24 h.
    assert follow_ups["first_attempt_within_48h"] == 4
    assert follow_ups["first_attempt_rate"] == 0.8
    assert follow_ups["not_yet_due"] == 0
    by_week = {
        w["week_start"]: (w["due"], w["first_attempt_within_48h"], w["met_within_48h"])
        for w in follow_ups["by_week"]
    }
    assert by_week == {
        "2026-09-28": (1, 1, 1),
        "2026-10-05": (1, 1, 1),
        "2026-10-12": (2, 1, 0),
        "2026-10-19": (0, 0, 0),
        "2026-10-26": (1, 1, 1),
    }


def test_median_hours_from_field_response_to_first_contact_attempt(analyst, october):
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    # First attempts: ana 2.0 h, jay 2.5 h, dan 9 h 10 = 9.1667 h, ana 24.0 h, ben 48 h 01.
    assert data["follow_ups_with_an_attempt"] == 5
    assert data["median_hours_to_first_contact"] == 9.17


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(analyst, october):
    # Up to Oct 20: dan 9.1667, ana 2.0, ana 24.0, ben 48.0167 -> (9.1667 + 24.0) / 2.
    data = metrics(analyst, "2026-10-01", "2026-10-20", now=NOW)
    assert data["follow_ups_with_an_attempt"] == 4
    assert data["median_hours_to_first_contact"] == round((9 + 10 / 60 + 24) / 2, 2)


def test_follow_ups_not_yet_due_are_left_out_of_the_rate(analyst, october):
    # On Nov 2 at noon cleo's (Nov 2 23:58) and dan's second (Nov 3 00:10) are still running.
    follow_ups = metrics(analyst, "2026-11-01", "2026-11-30", now=local(2026, 11, 2, 12))[
        "follow_ups"
    ]
    assert (follow_ups["due"], follow_ups["not_yet_due"], follow_ups["rate"]) == (0, 2, None)
    later = metrics(analyst, "2026-11-01", "2026-11-30", now=NOW)["follow_ups"]
    assert (later["due"], later["not_yet_due"], later["met_within_48h"]) == (2, 0, 0)


def test_repeat_neighbors_count_linked_records_once(analyst, october):
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    # ana (2 in October), eve (two linked records), frank (5).
    assert data["repeat_neighbors"] == 3
    assert data["repeat_neighbors_5_plus"] == 1
    assert data["neighbors_served"] == 9
    assert data["neighbors_by_response_count"] == {
        "one": 6,
        "two": 2,
        "three_to_four": 0,
        "five_plus": 1,
    }


def test_a_neighbor_with_responses_in_two_periods_repeats_only_where_both_fall(analyst, october):
    september = metrics(analyst, "2026-09-01", "2026-09-30", now=NOW)
    assert (september["neighbors_served"], september["repeat_neighbors"]) == (2, 0)  # ana, dan
    across = metrics(analyst, "2026-09-28", "2026-10-05", now=NOW)
    # ana Sep 28 and Oct 5; dan Sep 30; frank Oct 2; eve Oct 3.
    assert (across["neighbors_served"], across["repeat_neighbors"]) == (4, 1)


def test_the_referral_funnel_and_decline_reasons(analyst, october):
    referrals = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)["referrals"]
    assert referrals["made"] == 4  # the Sep 29 one belongs to September
    assert referrals["acknowledged"] == 4
    assert referrals["accepted"] == 2  # jay's, and the one accepted before it was cancelled
    assert referrals["completed"] == 1
    assert referrals["completion_rate"] == 0.25
    assert referrals["declined"] == 1
    assert {k: v for k, v in referrals["decline_reasons"].items() if v} == {"no-capacity": 1}
    assert referrals["cancelled"] == 1
    assert {k: v for k, v in referrals["cancellation_reasons"].items() if v} == {
        "neighbor-declined": 1
    }
    assert referrals["open"] == 1
    made_by_week = {w["week_start"]: w["made"] for w in referrals["by_week"] if w["made"]}
    assert made_by_week == {"2026-10-05": 2, "2026-10-12": 1, "2026-10-26": 1}


def test_the_contract_keys_are_all_there(analyst, october):
    data = metrics(analyst, "2026-10-01", "2026-10-31", now=NOW)
    assert {"total", "by_program"} <= set(data["field_responses"])
    assert {"due", "met_within_48h", "rate"} <= set(data["follow_ups"])
    assert {"made", "completed", "completion_rate"} <= set(data["referrals"])
    for key in (
        "cases_opened",
        "responder_felt_safe_rate",
        "repeat_neighbors",
        "median_hours_to_first_contact",
    ):
        assert key in data


def test_no_name_phone_or_birth_date_is_in_the_answer(analyst, october):
    text = str(metrics(analyst, "2026-09-01", "2026-11-30", now=NOW))
    for person in october.people.values():
        assert person.phone not in text
        assert person.last_name not in text
