"""Reads for pages and the API, and the one access helper for cases."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Case as DbCase
from django.db.models import CharField, Exists, F, Func, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from .hooks import HistorySource, registry
from .models import (
    AccessLog,
    Case,
    CaseNote,
    FieldResponse,
    Neighbor,
    NeighborPhone,
    PossibleDuplicate,
)
from .services import name_key

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


# The orders the case list offers (API.md), each as the pagination's ordering. The cursor stands
# on the first key and counts ties by offset (capped), so every first key is unique or nearly:
# where a column is not (status) or holds nulls (closed_at), the first key is a text built from
# the columns with the id last (_SORT_KEYS), which the cursor can stand on.
CASE_ORDERINGS: dict[str, tuple[str, ...]] = {
    "opened_at": ("opened_at", "id"),
    "-opened_at": ("-opened_at", "-id"),
    "number": ("number",),
    "-number": ("-number",),
    # Closed cases by when they closed, open ones (no closing time) after them either way.
    "closed_at": ("closed_sort",),
    "-closed_at": ("-closed_sort_desc",),
    # Open cases first, then closed; newest opened first within each.
    "status": ("-status_sort",),
}
CASE_ORDERING_DEFAULT = ("-id",)


class _UtcText(Func):
    """A time as the 20 digits YYYYMMDDHHMISSUSUSUS of its UTC date and time, which sort as
    the times do."""

    function = "to_char"
    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS')"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # SQLite keeps a time as the text 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC (Django's
        # format; the fraction only when it is not zero): its digits, the fraction padded.
        parts = [f"substr(%(expressions)s, {start}, {length})" for start, length in _DIGITS]
        template = " || ".join([*parts, "substr(%(expressions)s || '.000000', 21, 6)"])
        return super().as_sql(compiler, connection, template=template, **extra_context)


# Where the year, month, day, hour, minute and second stand in SQLite's text of a time.
_DIGITS = ((1, 4), (6, 2), (9, 2), (12, 2), (15, 2), (18, 2))


def _utc_text(field: str) -> Func:
    return _UtcText(F(field))


def _id_text() -> Func:
    return LPad(Cast("id", CharField()), 19, Value("0"))


def _sort_key(name: str) -> Concat:
    open_ = Q(status=Case.Status.OPEN)
    closed = Concat(Value("1"), _utc_text("closed_at"))
    part: Any
    if name == "closed_sort":
        part = DbCase(When(open_, then=Value("2")), default=closed, output_field=CharField())
    elif name == "closed_sort_desc":
        part = DbCase(When(open_, then=Value("0")), default=closed, output_field=CharField())
    else:
        first = DbCase(When(open_, then=Value("1")), default=Value("0"), output_field=CharField())
        part = Concat(first, _utc_text("opened_at"), output_field=CharField())
    return Concat(part, _id_text(), output_field=CharField())


SORT_KEYS = ("closed_sort", "closed_sort_desc", "status_sort")


def case_list(
    *,
    user: User | AnonymousUser,
    status: str | None = None,
    neighbor_id: int | None = None,
    pair_id: int | None = None,
    program: str | None = None,
    opened_after: datetime | None = None,
    opened_before: datetime | None = None,
    ordering: str | None = None,
) -> QuerySet[Case]:
    """The cases the user may see that match every filter given; `opened_after` is inclusive,
    `opened_before` exclusive. Ordered by `CASE_ORDERINGS[ordering]` (the default: newest
    first); the caller paginates with the same ordering (`case_list_ordering`)."""
    cases = cases_visible_to(user)
    if status:
        cases = cases.filter(status=status)
    if neighbor_id is not None:
        cases = cases.filter(neighbor_id=neighbor_id)
    if pair_id is not None:
        pair_filter = registry.case_filters.get("pair")
        cases = pair_filter(cases, str(pair_id)) if pair_filter else cases.none()
    if program:
        # A case has the programs of its field responses (a neighbor met by CRT, then COR).
        cases = cases.filter(
            Exists(FieldResponse.objects.filter(case_id=OuterRef("pk"), program=program))
        )
    if opened_after is not None:
        cases = cases.filter(opened_at__gte=opened_after)
    if opened_before is not None:
        cases = cases.filter(opened_at__lt=opened_before)
    order = case_list_ordering(ordering)
    key = order[0].lstrip("-")
    if key in SORT_KEYS:
        cases = cases.annotate(**{key: _sort_key(key)})
    return cases.order_by(*order)


def case_list_ordering(ordering: str | None) -> tuple[str, ...]:
    return CASE_ORDERINGS[ordering] if ordering else CASE_ORDERING_DEFAULT


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
        "source": response.source,
        "dispatched_at": response.dispatched_at,
        "arrived_at": response.arrived_at,
        "debrief_requested": response.debrief_requested,
    }


# Sections other apps add to a case; present (empty) even when no app provides them.
_SECTION_DEFAULTS: dict[str, Any] = {
    "pair": None,
    "follow_ups": [],
    "attempts": [],
    "referrals": [],
}


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
        HistorySource(
            label=lambda row: f"note #{row.id}",
            rows=lambda case: CaseNote.history.filter(case_id=case.pk),
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


# --- break the glass ----------------------------------------------------------------------

ACCESS_REASON_MAX_LENGTH = 1000
# Who assigns cases to any pair reads any case without a reason: supervisors (and admins).
SEES_EVERY_CASE = "heart_cases.assign_case"


class ReasonRequired(Exception):
    """The user may see this case or neighbor but must say why first ("break the glass"): the
    API answers 403 `{"detail", "reason_required": true}`, a page asks for the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessReasonInvalid(ValueError):
    """A reason the access log cannot keep as given: too long, or holding a NUL character."""


def reason_required(*, user: User | AnonymousUser, cases: QuerySet[Case]) -> bool:
    """Whether reading any of `cases` (a case, or all of one neighbor's) needs a reason."""
    if user.has_perm(SEES_EVERY_CASE):
        return False
    rule = registry.pair_access
    # No rule registered would mean no one knows whose cases are whose: ask rather than open.
    return rule is None or not rule(user, cases)  # type: ignore[arg-type]


# What the break-the-glass messages name, in the reader's language.
_WHAT = {"case": gettext_lazy("case"), "neighbor's record": gettext_lazy("neighbor's record")}


def _access_reason(reason: str | None, *, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        if reason is None:
            raise ReasonRequired(
                gettext(
                    "This %(what)s is not your pair's: say why you need to open it "
                    "(access_reason); the access log records the reason."
                )
                % {"what": _WHAT.get(what, what)}
            )
        raise ReasonRequired(
            gettext("A reason is needed to open this %(what)s; the one given was blank.")
            % {"what": _WHAT.get(what, what)}
        )
    if len(text) > ACCESS_REASON_MAX_LENGTH:
        raise AccessReasonInvalid(
            gettext("At most %(n)s characters.") % {"n": ACCESS_REASON_MAX_LENGTH}
        )
    if "\x00" in text:
        raise AccessReasonInvalid(gettext("A reason cannot hold a NUL character."))
    return text


def case_access_check(*, user: User | AnonymousUser, case: Case, reason: str | None) -> str:
    """Break the glass (API.md, "Consent and privacy") for every read of a case's data: the case,
    its history and its notes, through the API and on their pages. Call it after
    `case_get_for_user` (which decides whether the user may see the case at all, with a 404)
    and before anything of the case is read.

    A navigator reads without a reason a case that is their pair's, now or before, or that is
    waiting for a pair (the `pair_access` hook); supervisors and admins always do. Otherwise the
    read needs `reason` (`?access_reason=` on the API): ReasonRequired when it is missing or
    blank, AccessReasonInvalid when it cannot be kept.

    Returns the reason to record in the read's access-log entry: the one given when the glass
    was broken, "" when none was needed (a reason given anyway is not recorded, so that only
    break-the-glass reads carry one)."""
    if not reason_required(user=user, cases=Case.objects.filter(pk=case.pk)):
        return ""
    return _access_reason(reason, what="case")


def neighbor_access_check(
    *, user: User | AnonymousUser, neighbor: Neighbor, reason: str | None
) -> str:
    """The same for a neighbor's own record (`GET /api/v1/neighbors/{id}/` and its page): it
    opens without a reason when one of the neighbor's cases (or of the records linked to them)
    would."""
    cases = Case.objects.filter(Q(neighbor=neighbor) | Q(neighbor__linked_to=neighbor))
    if not reason_required(user=user, cases=cases):
        return ""
    return _access_reason(reason, what="neighbor's record")


# --- access review ------------------------------------------------------------------------

_CASE_NUMBER = re.compile(r"HC-[0-9]{4}-[0-9]{1,12}", re.IGNORECASE)
_ID = re.compile(r"[0-9]{1,18}")
_BIGINT_MAX = 2**63 - 1
_USER_ID_MAX = 2**31 - 1  # auth's own ids are 32-bit
# A name that matches more neighbors than this asks for more of the name (or an id).
NEIGHBORS_BY_NAME_MAX = 50
_EARLIEST_DAY = date(1900, 1, 1)
_LATEST_DAY = date(9998, 12, 31)


class AccessLogFilterError(ValueError):
    """Filters that name nothing or are malformed: {"field": ["message"]}, as API.md's 400."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class AccessLogFilters:
    """What an auditor asks the access log, resolved to ids. Dates are local and inclusive."""

    case_id: int | None = None
    neighbor_ids: tuple[int, ...] | None = None  # None: any neighbor
    user_id: int | None = None
    since: date | None = None
    until: date | None = None
    break_glass: bool | None = None

    def as_query(self) -> str:
        """The filters as a query string of ids and dates: what an export's own access-log
        entry records (never the name typed, which may itself identify someone)."""
        pairs = [
            ("case", self.case_id),
            ("neighbor", ",".join(map(str, self.neighbor_ids)) if self.neighbor_ids else None),
            ("user", self.user_id),
            ("from", self.since),
            ("to", self.until),
            ("break_glass", None if self.break_glass is None else str(self.break_glass).lower()),
        ]
        return "&".join(f"{name}={value}" for name, value in pairs if value is not None)


def _an_id(text: str, *, highest: int = _BIGINT_MAX) -> int | None:
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= highest else None


def access_log_filters(
    *,
    case: str = "",
    neighbor: str = "",
    user: str = "",
    since: date | None = None,
    until: date | None = None,
    break_glass: bool | None = None,
) -> AccessLogFilters:
    """Resolve an auditor's filters: a case by id or number (`HC-2026-000123`); a neighbor by
    id or by a name (case- and accent-insensitive, every word of it contained in a name or
    alias); a person by id or username. Raises AccessLogFilterError naming each bad field; a
    number, name or username that names nothing is an error too, so that a typo is not
    mistaken for "nobody read it"."""
    errors: dict[str, list[str]] = {}
    case_id = None
    text = case.strip()
    if text:
        case_id = _an_id(text)
        if case_id is None and _CASE_NUMBER.fullmatch(text):
            case_id = Case.objects.filter(number=text.upper()).values_list("pk", flat=True).first()
            if case_id is None:
                errors["case"] = [
                    gettext("No case is numbered %(number)s.") % {"number": text.upper()}
                ]
        elif case_id is None:
            errors["case"] = [gettext("A case id or a case number such as HC-2026-000123.")]
    neighbor_ids: tuple[int, ...] | None = None
    text = neighbor.strip()
    if text:
        one = _an_id(text)
        if one is not None:
            neighbor_ids = (one,)
        else:
            found, problem = _neighbors_named(text)
            if problem:
                errors["neighbor"] = [problem]
            else:
                neighbor_ids = found
    user_id = None
    text = user.strip()
    if text:
        user_id = _an_id(text, highest=_USER_ID_MAX)
        if user_id is None:
            user_id = (
                User.objects.filter(username__iexact=text).values_list("pk", flat=True).first()
            )
            if user_id is None:
                errors["user"] = [gettext("No staff member has this username (or give their id).")]
    for name, day in (("from", since), ("to", until)):
        if day is not None and not _EARLIEST_DAY <= day <= _LATEST_DAY:
            errors[name] = [
                gettext("A date from %(first)s to %(last)s.")
                % {"first": _EARLIEST_DAY, "last": _LATEST_DAY}
            ]
    if since and until and since > until and "to" not in errors:
        errors["to"] = [gettext("On or after the date in from.")]
    if errors:
        raise AccessLogFilterError(errors)
    return AccessLogFilters(case_id, neighbor_ids, user_id, since, until, break_glass)


def _neighbors_named(text: str) -> tuple[tuple[int, ...], str]:
    keys = [key for key in (name_key(word) for word in text.split()) if key]
    if sum(map(len, keys)) < 2:
        return (), gettext("At least 2 letters of a name, or the neighbor's id.")
    if any("\x00" in key for key in keys):
        return (), gettext("A name cannot hold a NUL character.")
    neighbors = Neighbor.objects.all()
    for key in keys:
        neighbors = neighbors.filter(
            Q(first_name_key__contains=key)
            | Q(last_name_key__contains=key)
            | Q(alias_key__contains=key)
        )
    found = tuple(
        neighbors.order_by("id").values_list("pk", flat=True)[: NEIGHBORS_BY_NAME_MAX + 1]
    )
    if not found:
        return (), gettext("No neighbor's name or alias holds this.")
    if len(found) > NEIGHBORS_BY_NAME_MAX:
        return (), (
            f"More than {NEIGHBORS_BY_NAME_MAX} neighbors match: give more of the name, "
            "or the neighbor's id."
        )
    return found, ""


def _reads_of(*, case_ids: list[int], neighbor_ids: tuple[int, ...] = ()) -> Q:
    """Entries that read these cases or neighbors: by their case, and (PostgreSQL, whose GIN
    index serves it) the list and search entries that name them among the objects shown."""
    reads = Q(case_id__in=case_ids)
    if connection.vendor == "postgresql":
        for case_id in case_ids:
            reads |= Q(object_type="case", object_ids__contains=[case_id])
        for neighbor_id in neighbor_ids:
            reads |= Q(object_type="neighbor", object_ids__contains=[neighbor_id])
    return reads


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def access_log_for_review(filters: AccessLogFilters | None = None) -> QuerySet[AccessLog]:
    """The access log, newest first, narrowed by the auditor's filters."""
    filters = filters or AccessLogFilters()
    entries = AccessLog.objects.all()
    if filters.case_id is not None:
        entries = entries.filter(_reads_of(case_ids=[filters.case_id]))
    if filters.neighbor_ids is not None:
        case_ids = list(
            Case.objects.filter(neighbor_id__in=filters.neighbor_ids).values_list("pk", flat=True)
        )
        entries = entries.filter(_reads_of(case_ids=case_ids, neighbor_ids=filters.neighbor_ids))
    if filters.user_id is not None:
        entries = entries.filter(user_id=filters.user_id)
    if filters.since is not None:
        entries = entries.filter(at__gte=_local_midnight(filters.since))
    if filters.until is not None:
        entries = entries.filter(at__lt=_local_midnight(filters.until + timedelta(days=1)))
    if filters.break_glass is True:
        entries = entries.exclude(reason="")
    elif filters.break_glass is False:
        entries = entries.filter(reason="")
    return entries.select_related("user").order_by("-at", "-id")


def case_numbers(case_ids: Iterable[int | None]) -> dict[int, str]:
    """{id: number} for the cases access-log entries name: one query for a page of them."""
    wanted = {pk for pk in case_ids if pk is not None}
    if not wanted:
        return {}
    return dict(Case.objects.filter(pk__in=wanted).values_list("pk", "number"))


def access_log_json(entry: AccessLog) -> dict[str, Any]:
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
        "reason": entry.reason or None,
    }


ACCESS_LOG_CSV_COLUMNS = (
    "at",
    "user",
    "user_id",
    "action",
    "object_type",
    "object_ids",
    "case",
    "case_number",
    "outcome",
    "reason",
    "client_address",
    "request_id",
    "path",
)
_CSV_CHUNK = 2000


def access_log_rows(entries: QuerySet[AccessLog]) -> Iterator[list[str]]:
    """The entries as CSV rows (ACCESS_LOG_CSV_COLUMNS), local times, streamed in chunks: two
    queries per chunk whatever the size of the export."""
    zone = timezone.get_current_timezone()
    chunk: list[AccessLog] = []

    def rows(batch: list[AccessLog]) -> Iterator[list[str]]:
        numbers = case_numbers(e.case_id for e in batch)
        for e in batch:
            yield [
                e.at.astimezone(zone).isoformat(),
                e.user.get_username() if e.user else "",
                str(e.user_id or ""),
                e.action,
                e.object_type,
                " ".join(map(str, e.object_ids or [])),
                str(e.case_id or ""),
                numbers.get(e.case_id, "") if e.case_id else "",
                e.outcome,
                e.reason,
                e.client_address or "",
                e.request_id,
                e.path,
            ]

    for entry in entries.iterator(chunk_size=_CSV_CHUNK):
        chunk.append(entry)
        if len(chunk) == _CSV_CHUNK:
            yield from rows(chunk)
            chunk = []
    yield from rows(chunk)


# --- records requests ---------------------------------------------------------------------


def neighbor_records(neighbor: Neighbor) -> list[Neighbor]:
    """The records that are this person: the one asked for, the record it is linked into (if
    any), and every record linked into either. Never a merge: each keeps its own history."""
    root_id = neighbor.linked_to_id or neighbor.pk
    return list(
        Neighbor.objects.filter(Q(pk=root_id) | Q(linked_to_id=root_id) | Q(pk=neighbor.pk))
        .prefetch_related("phones")
        .order_by("id")
    )


def _notes_of(case: Case) -> list[dict[str, Any]]:
    """The case's progress notes, amendments too, in the order written."""
    from .notes import note_json

    notes = CaseNote.objects.filter(case=case).select_related("author").order_by("at", "id")
    return [note_json(note) for note in notes]


def _contacts_of(record_ids: list[int]) -> list[dict[str, Any]]:
    """The people the pair may call about the person (issue 13), with each one's history."""
    from .models import Contact
    from .neighbors import contact_json

    contacts = Contact.objects.filter(neighbor_id__in=record_ids).select_related("created_by")
    history = Contact.history.filter(neighbor_id__in=record_ids).select_related("history_user")
    changes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in history.order_by("history_date", "history_id"):
        changes[row.id].append(
            {
                "at": row.history_date,
                "action": _ACTIONS.get(row.history_type, row.history_type),
                "actor": row.history_user.get_username() if row.history_user else None,
                "reason": row.history_change_reason or "",
            }
        )
    return [
        {**contact_json(c), "history": changes.get(c.pk, [])}
        for c in contacts.order_by("created_at", "id")
    ]


def neighbor_export(neighbor: Neighbor) -> dict[str, Any]:
    """Everything the system holds about one person (a records request, API.md): each of their
    records with its phones and its history, every case with all that is in it (field
    responses, follow-ups, attempts, referrals and their consents, by the apps' case sections)
    and the history of each, the possible-duplicate reviews that name them, and who read their
    data (the access log)."""
    records = neighbor_records(neighbor)
    ids = [record.pk for record in records]
    cases = list(
        Case.objects.filter(neighbor_id__in=ids)
        .select_related("neighbor", "previous_case")
        .order_by("opened_at", "id")
    )
    history = Neighbor.history.filter(id__in=ids).select_related("history_user")
    duplicates = PossibleDuplicate.objects.filter(
        Q(neighbor_id__in=ids) | Q(other_id__in=ids)
    ).order_by("id")
    reads = access_log_for_review(AccessLogFilters(neighbor_ids=tuple(ids))).select_related("user")
    return {
        "exported_at": timezone.now(),
        "neighbor_id": neighbor.pk,
        "records": [neighbor_json(record, phones=record.phones.all()) for record in records],
        "record_history": [
            {
                "at": row.history_date,
                "record": row.id,
                "action": _ACTIONS.get(row.history_type, row.history_type),
                "actor": row.history_user.get_username() if row.history_user else None,
                "reason": row.history_change_reason or "",
            }
            for row in history.order_by("history_date", "history_id")
        ],
        "possible_duplicates": [
            {
                "id": pair.pk,
                "records": [pair.neighbor_id, pair.other_id],
                "reason": pair.reason,
                "status": pair.status,
                "resolved_at": pair.resolved_at,
            }
            for pair in duplicates
        ],
        "contacts": _contacts_of(ids),
        "cases": [
            {**case_detail(case), "notes": _notes_of(case), "history": case_history(case)}
            for case in cases
        ],
        "access_log": [access_log_json(entry) for entry in reads],
    }
