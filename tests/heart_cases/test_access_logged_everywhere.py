"""Every page that shows a neighbor's data to a person writes the access log: the Django admin's
pages of care records, and the notifications page (notifications name the neighbor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone

from heart_cases.admin_access import AccessLoggedAdmin
from heart_cases.models import AccessLog, Case, Neighbor
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.models import ContactAttempt, FollowUpTask, Notice, Notification, PairAssignment
from navigation.notices import notice_send
from navigation.services import attempt_record, case_reassign, pair_create
from referrals.models import Consent, Provider, Referral, Service
from referrals.services import referral_create

pytestmark = pytest.mark.django_db


@dataclass
class Care:
    case: Case
    supervisor: User
    admin: User
    records: dict[type[models.Model], models.Model]


def record_case(actor: User, *, incident: str, first_name: str, phone: str) -> Case:
    return field_response_record(
        actor=actor,
        data=FieldResponseInput(
            incident_number=incident,
            unit="CRT-3",
            program="CRT",
            call_type="Trespass",
            responded_at=timezone.now() - timedelta(hours=1),
            follow_up_consent=True,
            neighbor=NeighborInput(
                first_name=first_name, last_name="Diaz", phone=phone, language="en"
            ),
        ),
    ).case


@pytest.fixture
def care(make_staff: Any, responder: Any) -> Care:
    """One case with each kind of care record the admin shows: a follow-up with an attempt, a
    pair assignment and its notice, a referral and its consent."""
    clinician, _ = make_staff("maria", "clinician")
    peer, _ = make_staff("jamal", "peer")
    supervisor, _ = make_staff("dana", "supervisor")
    root, _ = make_staff("root", "admin")
    make_staff("ana", "provider")  # and their organization, Casa
    case = record_case(responder[0], incident="D1", first_name="Ana", phone="+19195550142")
    pair = pair_create(actor=supervisor, clinician=clinician, peer=peer)
    assignment = case_reassign(actor=supervisor, case=case, pair=pair, reason="Test pair")
    task = FollowUpTask.objects.get(case=case, next_task__isnull=True)
    attempt = attempt_record(
        actor=clinician,
        task=task,
        method=ContactAttempt.Method.PHONE,
        outcome=ContactAttempt.Outcome.NO_ANSWER,
        occurred_at=timezone.now(),
    ).attempt
    service = Service.objects.create(
        provider=Provider.objects.get(slug="casa"), name="Counseling", category="mental_health"
    )
    referral = referral_create(
        actor=clinician,
        case=case,
        service=service,
        reason="Counseling after a crisis call.",
        consent_method=Consent.Method.VERBAL,
        consent_obtained_at=timezone.now(),
    )
    return Care(
        case=case,
        supervisor=supervisor,
        admin=root,
        records={
            FollowUpTask: task,
            ContactAttempt: attempt,
            PairAssignment: assignment,
            Notice: Notice.objects.get(case=case, kind=Notice.Kind.ASSIGNED),
            Referral: referral,
            Consent: referral.consent,
        },
    )


def holds_a_neighbors_data() -> set[type[models.Model]]:
    """Neighbor, and every model that points at one that holds a neighbor's data."""
    found: set[type[models.Model]] = {Neighbor}
    grew = True
    while grew:
        grew = False
        for model in apps.get_models():
            if model in found:
                continue
            targets = {f.related_model for f in model._meta.concrete_fields if f.is_relation}
            if targets & found:
                found.add(model)
                grew = True
    return found


def test_every_admin_of_a_neighbors_data_writes_the_access_log():
    care_models = holds_a_neighbors_data()
    forgotten = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model in care_models and not isinstance(model_admin, AccessLoggedAdmin)
    ]
    assert forgotten == []
    # The admins the pages below open are all of them.
    registered = {model for model in admin.site._registry if model in care_models}
    assert registered == set(ADMIN_MODELS)


ADMIN_MODELS = [FollowUpTask, ContactAttempt, PairAssignment, Notice, Referral, Consent]


def url(model: type[models.Model], pk: int, page: str = "change") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{pk}/{page}/"


def entries_for(user: User) -> list[tuple[str, str, list[int], int | None]]:
    return [
        (e.action, e.object_type, e.object_ids, e.case_id)
        for e in AccessLog.objects.filter(user=user).order_by("id")
    ]


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.model_name)
def test_an_admin_opening_a_care_record_in_the_admin_is_in_the_access_log(client, care, model):
    record = care.records[model]
    client.force_login(care.admin)
    response = client.get(url(model, record.pk))
    assert response.status_code == 200
    assert entries_for(care.admin) == [("view", model._meta.model_name, [record.pk], care.case.pk)]


def test_the_consent_page_shows_the_neighbor_and_logs_it(client, care):
    consent = care.records[Consent]
    client.force_login(care.admin)
    assert "Ana Diaz" in client.get(url(Consent, consent.pk)).content.decode()
    [entry] = AccessLog.objects.filter(user=care.admin)
    assert (entry.object_type, entry.case_id, entry.path) == (
        "consent",
        care.case.pk,
        url(Consent, consent.pk),
    )


@pytest.mark.parametrize(
    "model", [m for m in ADMIN_MODELS if m is not Notice], ids=lambda m: m._meta.model_name
)
def test_a_care_records_history_and_its_past_versions_in_the_admin_are_logged(client, care, model):
    record = care.records[model]
    version = record.history.earliest("history_date")  # type: ignore[attr-defined]
    client.force_login(care.admin)
    assert client.get(url(model, record.pk, "history")).status_code == 200
    assert client.get(url(model, record.pk, f"history/{version.history_id}")).status_code == 200
    kind = f"{model._meta.model_name}_history"
    assert entries_for(care.admin) == [
        ("view", kind, [record.pk], care.case.pk),
        ("view", kind, [record.pk], care.case.pk),
    ]


def test_a_notices_history_page_answers_from_the_admin_log(client, care):
    """Notices keep no history of their own: the page is Django's admin log, not a 500."""
    client.force_login(care.admin)
    assert client.get(url(Notice, care.records[Notice].pk, "history")).status_code == 200


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.model_name)
def test_an_admin_list_of_care_records_logs_each_case_it_shows(client, care, model):
    record = care.records[model]
    client.force_login(care.admin)
    assert (
        client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/").status_code == 200
    )
    [(action, object_type, ids, case_id)] = entries_for(care.admin)
    assert (action, object_type, case_id) == ("list", model._meta.model_name, care.case.pk)
    assert record.pk in ids
    assert set(ids) == set(
        model._default_manager.filter(case=care.case).values_list("pk", flat=True)
    )


def test_the_supervisors_notifications_name_neighbors_and_each_case_shown_is_logged(
    client, care, responder, django_assert_max_num_queries
):
    other = record_case(responder[0], incident="D2", first_name="Bo", phone="+19195550100")
    for case in (care.case, other):
        task = FollowUpTask.objects.filter(case=case).earliest("id")
        notice_send(
            kind=Notice.Kind.MISSED,
            subject_key=f"task:{task.pk}",
            recipients=[care.supervisor],
            context={"task": task, "case": case, "neighbor": case.neighbor},
            created_by="test",
            case=case,
            task=task,
            link=f"/cases/{case.pk}/",
        )
    client.force_login(care.supervisor)
    # The page as before (9 queries) and one INSERT for every case shown.
    with django_assert_max_num_queries(10):
        page = client.get("/notifications/").content.decode()
    assert "Ana Diaz" in page
    assert "Bo Diaz" in page
    shown = Notification.objects.filter(recipient=care.supervisor)
    expected = {
        (case.pk, tuple(shown.filter(notice__case=case).values_list("pk", flat=True)))
        for case in (care.case, other)
    }
    logged = AccessLog.objects.filter(user=care.supervisor, path="/notifications/")
    assert {(e.case_id, tuple(e.object_ids)) for e in logged} == expected
    assert {(e.action, e.object_type) for e in logged} == {("list", "notification")}
