"""Reads for pages and the API, and the one access helper for cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from .hooks import HistorySource, registry
from .models import Case, FieldResponse, Neighbor, NeighborPhone

VIEW_CASE = "heart_cases.view_case"


def can_view_cases(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.has_perm(VIEW_CASE))


def cases_visible_to(user: User | AnonymousUser) -> QuerySet[Case]:
    if not can_view_cases(user):
        return Case.objects.none()
    return Case.objects.select_related("neighbor")


def case_get_for_user(*, user: User | AnonymousUser, case_id: int | str) -> Case:
    """The case, or Http404 if it does not exist or the user may not see it (never say which)."""
    try:
        pk = int(case_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    case = cases_visible_to(user).select_related("previous_case").filter(pk=pk).first()
    if case is None:
        raise Http404
    return case


def case_list(
    *,
    user: User | AnonymousUser,
    status: str | None = None,
    neighbor_id: int | None = None,
    pair_id: int | None = None,
) -> QuerySet[Case]:
    cases = cases_visible_to(user)
    if status:
        cases = cases.filter(status=status)
    if neighbor_id is not None:
        cases = cases.filter(neighbor_id=neighbor_id)
    if pair_id is not None:
        pair_filter = registry.case_filters.get("pair")
        cases = pair_filter(cases, str(pair_id)) if pair_filter else cases.none()
    return cases


def neighbor_json(neighbor: Neighbor, *, phones: Iterable[NeighborPhone] = ()) -> dict[str, Any]:
    return {
        "id": neighbor.pk,
        "display_name": neighbor.display_name,
        "first_name": neighbor.first_name,
        "last_name": neighbor.last_name,
        "alias": neighbor.alias,
        "date_of_birth": neighbor.date_of_birth,
        "phone": str(neighbor.phone) if neighbor.phone else "",
        "phones": [str(p.number) for p in phones],
        "language": neighbor.language,
        "unsheltered": neighbor.unsheltered,
        "gender": neighbor.gender,
        "race": neighbor.race,
        "ethnicity": neighbor.ethnicity,
        "linked_to": neighbor.linked_to_id,
    }


def field_response_json(response: FieldResponse) -> dict[str, Any]:
    return {
        "id": response.pk,
        "incident_number": response.incident_number,
        "unit": response.unit,
        "program": response.program,
        "call_type": response.call_type,
        "responded_at": response.responded_at,
        "cleared_at": response.cleared_at,
        "location": {
            "address": response.address,
            "latitude": response.latitude,
            "longitude": response.longitude,
        },
        "needs": response.needs,
        "disposition": response.disposition,
        "follow_up_consent": response.follow_up_consent,
        "responder_felt_safe": response.responder_felt_safe,
        "narrative": response.narrative,
    }


# Sections other apps add to a case; present (empty) even when no app provides them.
_SECTION_DEFAULTS: dict[str, Any] = {"pair": None, "follow_ups": [], "referrals": []}


def case_detail(case: Case) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "id": case.pk,
        "number": case.number,
        "status": case.status,
        "outcome": case.outcome or None,
        "outcome_note": case.outcome_note,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "previous_case": (
            {"id": case.previous_case.pk, "number": case.previous_case.number}
            if case.previous_case
            else None
        ),
        "neighbor": neighbor_json(case.neighbor, phones=case.neighbor.phones.order_by("id")),
        "field_responses": [
            field_response_json(r) for r in case.field_responses.order_by("responded_at", "id")
        ],
    }
    for name, default in _SECTION_DEFAULTS.items():
        detail[name] = default
    for name, (section, _empty) in registry.case_sections.items():
        detail[name] = section(case)
    return detail


# --- history ------------------------------------------------------------------------------

# Fields that are bookkeeping, not care: left out of the timeline.
_HIDDEN_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "first_name_key",
    "last_name_key",
    "alias_key",
    "body_fingerprint",
}

_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _describe(model: Any, name: str, old: Any, new: Any) -> str:
    """'status: Open → Closed' — the field's own words and its choices' labels."""
    try:
        field = model._meta.get_field(name)
    except Exception:
        return f"{name.replace('_', ' ')}: {_shown(old)} → {_shown(new)}"
    label = str(field.verbose_name)
    choices = dict(field.flatchoices) if getattr(field, "choices", None) else {}
    if field.is_relation:
        target = field.related_model._meta.verbose_name if field.related_model else name
        old = f"{target} #{old}" if old is not None else None
        new = f"{target} #{new}" if new is not None else None

    def labelled(value: Any) -> Any:
        return choices.get(value, value) if isinstance(value, str | int) else value

    return f"{label}: {_shown(labelled(old))} → {_shown(labelled(new))}"


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    return str(value)


def _core_sources() -> list[HistorySource]:
    return [
        HistorySource(
            label=lambda row: f"case {row.number}",
            rows=lambda case: Case.history.filter(id=case.pk),
        ),
        HistorySource(
            label=lambda row: f"neighbor #{row.id}",
            rows=lambda case: Neighbor.history.filter(id=case.neighbor_id),
        ),
        HistorySource(
            label=lambda row: f"neighbor phone {row.number}",
            rows=lambda case: NeighborPhone.history.filter(neighbor_id=case.neighbor_id),
        ),
        HistorySource(
            label=lambda row: f"field response {row.incident_number}/{row.unit}",
            rows=lambda case: FieldResponse.history.filter(case_id=case.pk),
        ),
    ]


def _entries(source: HistorySource, case: Case) -> list[dict[str, Any]]:
    rows = source.rows(case)
    if isinstance(rows, QuerySet):
        rows = rows.select_related("history_user").order_by("history_date", "history_id")
    by_object: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        by_object[row.id].append(row)
    entries = []
    for versions in by_object.values():
        previous = None
        for row in versions:
            fields = [
                f.attname
                for f in row.instance_type._meta.concrete_fields
                if f.attname not in _HIDDEN_FIELDS
            ]
            changes: dict[str, list[Any]] = {}
            for name in fields:
                new = getattr(row, name, None)
                old: Any = getattr(previous, name, None) if previous is not None else None
                if previous is None and new in (None, "", [], {}):
                    continue
                if previous is None or old != new:
                    changes[name.removesuffix("_id") if name.endswith("_id") else name] = [
                        _plain(old),
                        _plain(new),
                    ]
            user = row.history_user
            described = [
                _describe(row.instance_type, name, old, new) for name, (old, new) in changes.items()
            ]
            entries.append(
                {
                    "at": row.history_date,
                    "actor": user.get_username() if user is not None else None,
                    "actor_name": (user.get_full_name() or user.get_username()) if user else None,
                    "object": source.label(row),
                    "action": _ACTIONS.get(row.history_type, row.history_type),
                    "reason": row.history_change_reason or "",
                    "changes": changes,
                    "changes_text": described,
                }
            )
            previous = row
    return entries


def case_history(case: Case) -> list[dict[str, Any]]:
    """Every change to the case and everything in it, oldest first."""
    entries: list[dict[str, Any]] = []
    for source in [*_core_sources(), *registry.history_sources]:
        entries.extend(_entries(source, case))
    entries.sort(key=lambda e: e["at"])
    return entries


def access_log_for_review(*, case_id: int | None = None, user_id: int | None = None) -> Any:
    """The access log, newest first, filtered by case and/or by the person who read."""
    from .models import AccessLog

    entries = AccessLog.objects.all()
    if case_id is not None:
        entries = entries.filter(case_id=case_id)
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    return entries.select_related("user").order_by("-at", "-id")


def access_log_json(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "at": entry.at,
        "user": entry.user.get_username() if entry.user else None,
        "user_id": entry.user_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_ids": entry.object_ids,
        "case": entry.case_id,
        "outcome": entry.outcome,
        "client_address": entry.client_address,
        "request_id": entry.request_id,
        "path": entry.path,
    }
