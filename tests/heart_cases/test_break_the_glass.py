"""Break the glass (API.md, "Consent and privacy"; issue 16): a navigator reading a case that is
not their pair's, now or before, and not waiting for a pair, says why first; the access log
keeps the reason; supervisors hear of those reads once a day."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from heart_cases import selectors
from heart_cases.models import AccessLog, Case
from heart_cases.views import SESSION_ACCESS_REASONS
from navigation import tasks
from navigation.models import Notice, Notification
from navigation.services import case_reassign, pair_assign
from tests.conftest import as_user, record_case

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
REASON = "Neighbor called the peer line; pair B is off today"


def record(responder, *, n: int) -> Case:
    return record_case(responder, n=n, first_name="Rosa", last_name="Mejía", prefix="BG")


@pytest.fixture
def world(make_staff, make_pair, responder):
    """Pairs A and B, and a case of pair B's."""
    pair_a, pair_b = make_pair("a"), make_pair("b")
    supervisor, _ = make_staff("dana", "supervisor")
    case = record(responder[0], n=1)
    pair_assign(actor=supervisor, case=case, pair=pair_b, reason="test")
    return pair_a, pair_b, supervisor, case


def test_a_peer_of_another_pair_must_give_a_reason_and_the_access_log_keeps_it(world):
    pair_a, _, _, case = world
    peer = as_user(pair_a.peer)

    refused = peer.get(f"/api/v1/cases/{case.pk}/")
    assert refused.status_code == 403
    assert refused.json()["reason_required"] is True
    assert "reason" in refused.json()["detail"]
    assert "Mejía" not in refused.content.decode()
    denied = AccessLog.objects.get(user=pair_a.peer, case_id=case.pk)
    assert (denied.outcome, denied.reason) == ("denied", "")

    blank = peer.get(f"/api/v1/cases/{case.pk}/?access_reason=%20%20%20")
    assert blank.status_code == 403
    assert blank.json()["reason_required"] is True
    assert "reason is needed" in blank.json()["detail"]

    read = peer.get(f"/api/v1/cases/{case.pk}/?access_reason={quote(REASON)}")
    assert read.status_code == 200
    assert read.json()["neighbor"]["last_name"] == "Mejía"
    entry = AccessLog.objects.filter(user=pair_a.peer, outcome="allowed").get()
    assert (entry.action, entry.object_type, entry.case_id) == ("view", "case", case.pk)
    assert entry.reason == REASON


def test_the_history_endpoint_breaks_the_glass_the_same_way(world):
    pair_a, _, _, case = world
    clinician = as_user(pair_a.clinician)
    refused = clinician.get(f"/api/v1/cases/{case.pk}/history/")
    assert refused.status_code == 403
    assert refused.json() == {"detail": refused.json()["detail"], "reason_required": True}
    assert clinician.get(f"/api/v1/cases/{case.pk}/history/?access_reason=").status_code == 403
    read = clinician.get(f"/api/v1/cases/{case.pk}/history/?access_reason={quote(REASON)}")
    assert read.status_code == 200
    assert read.json()["results"]
    entry = AccessLog.objects.get(user=pair_a.clinician, outcome="allowed")
    assert (entry.object_type, entry.reason) == ("case_history", REASON)


@pytest.mark.parametrize("reason", ["x" * 1001, "a\x00b"])
def test_a_reason_the_log_cannot_keep_is_a_400_naming_it(world, reason):
    pair_a, _, _, case = world
    response = as_user(pair_a.peer).get(f"/api/v1/cases/{case.pk}/", {"access_reason": reason})
    assert response.status_code == 400
    assert "access_reason" in response.json()["errors"]


def test_a_navigator_who_was_on_the_cases_pair_needs_no_reason(world):
    pair_a, pair_b, supervisor, case = world
    case_reassign(actor=supervisor, case=case, pair=pair_a, reason="B is full")
    case_reassign(actor=supervisor, case=case, pair=pair_b, reason="A is on leave")
    pair_a.active = False
    pair_a.save()
    for person in (pair_a.peer, pair_a.clinician, pair_b.peer):
        response = as_user(person).get(f"/api/v1/cases/{case.pk}/")
        assert response.status_code == 200, person
    assert set(AccessLog.objects.filter(case_id=case.pk).values_list("reason", flat=True)) == {""}


def test_a_case_waiting_for_a_pair_is_open_to_every_navigator_until_it_closes(make_pair, responder):
    pair_a = make_pair("a")
    waiting = record(responder[0], n=2)
    peer = as_user(pair_a.peer)
    assert peer.get(f"/api/v1/cases/{waiting.pk}/").status_code == 200
    assert peer.get(f"/api/v1/cases/{waiting.pk}/history/").status_code == 200
    # Closed without ever having a pair, it waits for nobody: it is no one's to read unasked.
    peer.post(f"/api/v1/cases/{waiting.pk}/close/", {"outcome": "moved_away"}, format="json")
    assert peer.get(f"/api/v1/cases/{waiting.pk}/").status_code == 403


def test_supervisors_and_admins_need_no_reason(world, make_staff):
    _, _, supervisor, case = world
    root, _ = make_staff("root", "admin")
    for person in (supervisor, root):
        assert as_user(person).get(f"/api/v1/cases/{case.pk}/").status_code == 200
        assert as_user(person).get(f"/api/v1/cases/{case.pk}/history/").status_code == 200
    assert not AccessLog.objects.exclude(reason="").exists()


def test_a_reason_given_when_none_is_needed_is_not_recorded_as_breaking_the_glass(world):
    _, pair_b, _, case = world
    response = as_user(pair_b.peer).get(f"/api/v1/cases/{case.pk}/?access_reason=just+because")
    assert response.status_code == 200
    assert AccessLog.objects.get(user=pair_b.peer).reason == ""


@pytest.mark.parametrize("role", ["provider", "analyst", "responder"])
def test_roles_that_cannot_read_cases_still_get_404_with_or_without_a_reason(
    world, make_staff, role
):
    _, _, _, case = world
    user, _ = make_staff(f"{role}-user", role)
    client = as_user(user)
    for path in (f"/api/v1/cases/{case.pk}/", f"/api/v1/cases/{case.pk}/history/"):
        assert client.get(path).status_code == 404
        assert client.get(path, {"access_reason": REASON}).status_code == 404
    assert not AccessLog.objects.filter(user=user, outcome="allowed").exists()


def test_the_helper_answers_for_a_neighbor_too(world):
    pair_a, pair_b, supervisor, case = world
    neighbor = case.neighbor
    with pytest.raises(selectors.ReasonRequired):
        selectors.neighbor_access_check(user=pair_a.peer, neighbor=neighbor, reason=None)
    assert (
        selectors.neighbor_access_check(user=pair_a.peer, neighbor=neighbor, reason=f" {REASON} ")
        == REASON
    )
    assert selectors.neighbor_access_check(user=pair_b.peer, neighbor=neighbor, reason=None) == ""
    assert selectors.neighbor_access_check(user=supervisor, neighbor=neighbor, reason=None) == ""


def test_reading_with_a_reason_stays_within_the_query_budget(world, django_assert_max_num_queries):
    pair_a, _, _, case = world
    client = as_user(pair_a.peer)
    with django_assert_max_num_queries(17):
        response = client.get(f"/api/v1/cases/{case.pk}/", {"access_reason": REASON})
    assert response.status_code == 200


# --- the case page ------------------------------------------------------------------------


def test_the_case_page_asks_for_a_reason_before_showing_anything_of_the_case(world, client):
    pair_a, _, _, case = world
    client.force_login(pair_a.peer)

    form = client.get(f"/cases/{case.pk}/")
    assert form.status_code == 403
    html = form.content.decode()
    assert 'name="access_reason"' in html
    assert '<label for="access-reason">' in html
    for secret in ("Rosa", "Mejía", "+1919555", case.number, "CRT-1"):
        assert secret not in html, secret

    blank = client.post(f"/cases/{case.pk}/", {"access_reason": "   "})
    assert blank.status_code == 403
    assert 'role="alert"' in blank.content.decode()
    assert "Rosa" not in blank.content.decode()

    given = client.post(f"/cases/{case.pk}/", {"access_reason": REASON})
    assert given.status_code == 302
    assert given["Location"] == f"/cases/{case.pk}/"  # the reason stays out of the URL
    shown = client.get(given["Location"])
    assert shown.status_code == 200
    assert "Rosa Mejía" in shown.content.decode()
    assert REASON in shown.content.decode()
    assert client.session[SESSION_ACCESS_REASONS] == {str(case.pk): REASON}
    # Reloading in the same session asks nothing more, and is logged with the same reason.
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    reads = AccessLog.objects.filter(user=pair_a.peer, outcome="allowed", object_type="case")
    assert list(reads.values_list("reason", flat=True)) == [REASON, REASON]
    assert AccessLog.objects.filter(user=pair_a.peer, outcome="denied").count() == 2


def test_the_case_page_also_takes_the_reason_in_the_query_string(world, client):
    pair_a, _, _, case = world
    client.force_login(pair_a.clinician)
    response = client.get(f"/cases/{case.pk}/", {"access_reason": REASON})
    assert response.status_code == 200
    assert AccessLog.objects.get(user=pair_a.clinician, outcome="allowed").reason == REASON


def test_the_case_page_opens_at_once_for_the_pair_and_for_supervisors(world, client):
    _, pair_b, supervisor, case = world
    for person in (pair_b.peer, supervisor):
        client.force_login(person)
        response = client.get(f"/cases/{case.pk}/")
        assert response.status_code == 200
        assert "Rosa Mejía" in response.content.decode()
        assert 'name="access_reason"' not in response.content.decode()


# --- the daily notice ---------------------------------------------------------------------


def test_the_supervisors_hear_of_yesterdays_break_the_glass_reads_once(world, make_staff):
    pair_a, pair_b, supervisor, case = world
    other, _ = make_staff("eli", "supervisor", languages=["es"])
    day = timezone.localdate()
    with time_machine.travel(
        datetime.combine(day, datetime.min.time(), tzinfo=NY) + timedelta(hours=10)
    ):
        as_user(pair_a.peer).get(f"/api/v1/cases/{case.pk}/", {"access_reason": REASON})
        as_user(pair_a.clinician).get(f"/api/v1/cases/{case.pk}/history/?access_reason=covering")
        as_user(pair_b.peer).get(f"/api/v1/cases/{case.pk}/")  # the pair's own read: no flag
    next_morning = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=NY)
    with time_machine.travel(next_morning + timedelta(hours=6)):
        tasks.notify_break_glass_reads()
        tasks.notify_break_glass_reads()
    notice = Notice.objects.get(kind=Notice.Kind.BREAK_GLASS)
    assert notice.subject_key == f"break-glass:{day.isoformat()}"
    notifications = Notification.objects.filter(notice=notice)
    assert sorted(n.recipient.username for n in notifications) == ["dana", "eli"]
    english = notifications.get(recipient=supervisor)
    assert english.title.endswith(": 2")
    assert "2 reads of 1 case" in english.body
    assert pair_a.peer.username in english.body
    assert "Rosa" not in english.title + english.body
    assert english.link == f"/access-log/?break_glass=true&from={day}&to={day}"
    assert notifications.get(recipient=other).title.startswith("Accesos de emergencia")
    # A day without any sends nothing.
    with time_machine.travel(next_morning + timedelta(days=1, hours=6)):
        tasks.notify_break_glass_reads()
    assert Notice.objects.filter(kind=Notice.Kind.BREAK_GLASS).count() == 1


def test_the_daily_notice_is_in_the_beat_schedule():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["notify-break-glass-reads"]
    assert entry["task"] == tasks.notify_break_glass_reads.name


def test_closing_another_pairs_case_needs_a_reason_too_and_its_reply_is_logged(world):
    """Closing answers with the whole case: it is a read of another pair's case like any other."""
    pair_a, _, _, case = world
    peer = as_user(pair_a.peer)
    refused = peer.post(f"/api/v1/cases/{case.pk}/close/", {"outcome": "moved_away"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["reason_required"] is True
    assert "Mejía" not in refused.content.decode()
    case.refresh_from_db()
    assert case.status == "open"
    closed = peer.post(
        f"/api/v1/cases/{case.pk}/close/?access_reason={quote(REASON)}",
        {"outcome": "moved_away", "note": "Moved to Raleigh"},
        format="json",
    )
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed"
    entry = AccessLog.objects.filter(user=pair_a.peer, case_id=case.pk, outcome="allowed").get()
    assert entry.reason == REASON
