"""Business operations of the core domain. Each write runs in one transaction, records history
with its actor and reason, and lets the other apps take part through `hooks`."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Expression, Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from .actors import stamp
from .history import insert_all_with_history, insert_with_history
from .hooks import FollowUpRef, registry
from .models import (
    AccessLog,
    Case,
    CaseNumber,
    Debrief,
    FieldResponse,
    FieldResponseSource,
    Neighbor,
    NeighborPhone,
    PossibleDuplicate,
)


class IntakeConflict(Exception):
    """The same (incident_number, unit) was posted before with a different body."""


class TransitionError(Exception):
    """The operation is not allowed in the object's current state (HTTP 409)."""


def name_key(value: str) -> str:
    """Fold case, accents and whitespace: 'José  De la Cruz' and 'jose delacruz' agree."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(without_marks.casefold().split())


@dataclass(frozen=True)
class NeighborInput:
    first_name: str = ""
    last_name: str = ""
    alias: str = ""
    date_of_birth: date | None = None
    phone: str = ""  # E.164, already parsed
    language: str = ""
    unsheltered: bool | None = None
    gender: str = ""
    race: str = ""
    ethnicity: str = ""


@dataclass(frozen=True)
class FieldResponseInput:
    incident_number: str
    unit: str
    program: str
    call_type: str
    responded_at: datetime
    follow_up_consent: bool
    neighbor: NeighborInput
    cleared_at: datetime | None = None
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    needs: tuple[str, ...] = ()
    disposition: str = ""
    responder_felt_safe: bool | None = None
    narrative: str = ""
    source: str = FieldResponseSource.CAD
    dispatched_at: datetime | None = None
    arrived_at: datetime | None = None
    debrief_requested: bool = False

    def fingerprint(self) -> str:
        """A hash of the body as parsed, so that formatting differences do not count."""

        def default(value: Any) -> str:
            if isinstance(value, datetime):
                return value.astimezone(UTC).isoformat()
            if isinstance(value, date | Decimal):
                return str(value)
            raise TypeError(type(value).__name__)

        body = _as_dict(self)
        # Fields added later count only when given: a body the CAD posted before they existed
        # keeps its fingerprint, so its repeat is still a replay and not a 409.
        for name, unset in _LATER_FIELDS.items():
            if body[name] == unset:
                del body[name]
        canonical = json.dumps(body, sort_keys=True, default=default, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


_LATER_FIELDS: dict[str, Any] = {
    "source": FieldResponseSource.CAD,
    "dispatched_at": None,
    "arrived_at": None,
    "debrief_requested": False,
}


def _as_dict(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {name: _as_dict(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, tuple | list):
        return [_as_dict(item) for item in value]
    return value


@dataclass
class IntakeResult:
    field_response: FieldResponse
    case: Case
    case_created: bool
    neighbor: Neighbor
    neighbor_matched: bool
    follow_up: FollowUpRef | None
    replayed: bool = False
    possible_duplicates: list[PossibleDuplicate] = field(default_factory=list)


def field_response_record(*, actor: User, data: FieldResponseInput) -> IntakeResult:
    """Record a field response: match the neighbor, attach to or open a case, create the
    follow-up, all in one transaction. Idempotent on (incident_number, unit)."""
    fingerprint = data.fingerprint()
    try:
        return _record(actor=actor, data=data, fingerprint=fingerprint)
    except IntegrityError:
        # A concurrent post of the same (incident_number, unit) committed first.
        existing = _field_response_by_key(data)
        if existing is None:
            raise
        return _replay_or_take_over(
            actor=actor, existing=existing, data=data, fingerprint=fingerprint
        )


@transaction.atomic
def _record(*, actor: User, data: FieldResponseInput, fingerprint: str) -> IntakeResult:
    """A replay (or the CAD's take-over of a hand entry) of a response already recorded under
    this (incident_number, unit), else a new record; the match keys are locked first."""
    existing_id, found = _lock_match_keys_and_find(data)
    if existing_id is not None:
        existing = FieldResponse.objects.select_related("case", "neighbor").get(pk=existing_id)
        return _replay_or_take_over(
            actor=actor, existing=existing, data=data, fingerprint=fingerprint
        )
    return _record_new(actor=actor, data=data, fingerprint=fingerprint, found=found)


def _replay_or_take_over(
    *, actor: User, existing: FieldResponse, data: FieldResponseInput, fingerprint: str
) -> IntakeResult:
    """The same body again is a replay. The CAD's post of a response first entered by hand
    (while its feed was down) takes the record over (API.md); any other body is a conflict."""
    if existing.body_fingerprint != fingerprint and _cad_takes_over(existing.source, data.source):
        return _cad_over_hand_entry(
            actor=actor, existing_id=existing.pk, data=data, fingerprint=fingerprint
        )
    return _replay(existing, fingerprint)


def _cad_takes_over(recorded_source: str, posted_source: str) -> bool:
    return (
        recorded_source == FieldResponseSource.MANUAL and posted_source == FieldResponseSource.CAD
    )


# What the CAD's post of a response entered by hand replaces: every field of the body but the
# neighbor (matched already, and filled in as any intake fills a matched record).
_TAKEN_FROM_CAD = (
    "program",
    "call_type",
    "responded_at",
    "cleared_at",
    "address",
    "latitude",
    "longitude",
    "disposition",
    "follow_up_consent",
    "responder_felt_safe",
    "narrative",
    "source",
    "dispatched_at",
    "arrived_at",
)


@transaction.atomic
def _cad_over_hand_entry(
    *, actor: User, existing_id: int, data: FieldResponseInput, fingerprint: str
) -> IntakeResult:
    """The CAD's fields become the record; its history keeps the hand entry (the version
    before this change), and the ids stay. A debrief once requested stays requested."""
    response = (
        FieldResponse.objects.select_for_update(of=("self",))
        .select_related("case", "neighbor")
        .get(pk=existing_id)
    )
    if response.body_fingerprint == fingerprint or not _cad_takes_over(
        response.source, data.source
    ):
        # A concurrent post of the CAD's body took the record over first.
        return _replay(response, fingerprint)
    reason = (
        f"The CAD's record of {data.incident_number} from {data.unit} replaces the one "
        "entered by hand"
    )
    corrected = response.responded_at != data.responded_at
    for name in _TAKEN_FROM_CAD:
        setattr(response, name, getattr(data, name))
    response.in_service_area = _in_service_area(data)
    response.needs = list(data.needs)
    response.debrief_requested = response.debrief_requested or data.debrief_requested
    response.body_fingerprint = fingerprint
    stamp(response, actor=actor, reason=reason).save()
    neighbor = _lock_root(response.neighbor_id)
    _neighbor_update_from_intake(actor=actor, neighbor=neighbor, data=data.neighbor, reason=reason)
    if response.debrief_requested:
        debrief_request(actor=actor, field_response=response, reason=reason)
    if corrected and registry.follow_up_scheduler is not None:
        registry.follow_up_scheduler.retime(actor=actor, field_response=response, reason=reason)
    return _replay(response, fingerprint)


def _in_service_area(data: FieldResponseInput) -> bool | None:
    """Whether the response's location lies in its program's service area (None without one)."""
    # The areas are the eligible-calls app's configuration; it depends on this app, not the
    # other way round, so it is imported when used.
    from calls.areas import in_service_area

    return in_service_area(data.program, data.latitude, data.longitude)


def debrief_request(*, actor: User, field_response: FieldResponse, reason: str) -> Debrief:
    """Put the response on the supervisors' debrief list (once: a second request is the same
    one)."""
    found = Debrief.objects.filter(field_response=field_response).first()
    if found is not None:
        return found
    debrief = stamp(
        Debrief(field_response=field_response, requested_at=timezone.now()),
        actor=actor,
        reason=f"Debrief requested: {reason}",
    )
    debrief.save()
    return debrief


def _field_response_by_key(data: FieldResponseInput) -> FieldResponse | None:
    """The field response already recorded under this (incident_number, unit), if any. Nearly
    every post is new, so the lookup asks for the id alone and loads the rest on a replay."""
    ids = FieldResponse.objects.filter(
        incident_number=data.incident_number, unit=data.unit
    ).values_list("id", flat=True)[:1]
    for found in ids:
        return FieldResponse.objects.select_related("case", "neighbor").get(pk=found)
    return None


def _replay(existing: FieldResponse, fingerprint: str) -> IntakeResult:
    if existing.body_fingerprint != fingerprint:
        source = FieldResponseSource(existing.source).label
        raise IntakeConflict(
            f"Field response {existing.incident_number} from unit {existing.unit} was already "
            f"recorded with a different body (source: {source})."
        )
    first_of_case = existing.case.field_responses.order_by("id").values_list("id", flat=True)[:1]
    first_of_neighbor = existing.neighbor.field_responses.order_by("id").values_list(
        "id", flat=True
    )[:1]
    scheduler = registry.follow_up_scheduler
    return IntakeResult(
        field_response=existing,
        case=existing.case,
        case_created=list(first_of_case) == [existing.id],
        neighbor=existing.neighbor,
        neighbor_matched=list(first_of_neighbor) != [existing.id],
        follow_up=scheduler.for_field_response(field_response=existing) if scheduler else None,
        replayed=True,
    )


def _record_new(
    *, actor: User, data: FieldResponseInput, fingerprint: str, found: _Matches | None = None
) -> IntakeResult:
    reason = f"Field response {data.incident_number} from {data.unit}"
    if data.source != FieldResponseSource.CAD:
        reason += f" ({FieldResponseSource(data.source).label})"
    neighbor, matched, duplicates, rows, alike, open_case = _neighbor_matched_or_new(
        actor=actor, data=data.neighbor, reason=reason, found=found
    )
    # A neighbor created just now has no cases, and no other transaction can see it yet.
    case = open_case if matched else None
    case_created = case is None
    if case is None:
        case = _case_new(
            actor=actor,
            neighbor=neighbor,
            opened_at=timezone.now(),
            reason=reason,
            first_of_neighbor=not matched,
        )
        rows.append(case)

    field_response = stamp(
        FieldResponse(
            incident_number=data.incident_number,
            unit=data.unit,
            program=data.program,
            call_type=data.call_type,
            responded_at=data.responded_at,
            cleared_at=data.cleared_at,
            address=data.address,
            latitude=data.latitude,
            longitude=data.longitude,
            in_service_area=_in_service_area(data),
            neighbor=neighbor,
            case=case,
            needs=list(data.needs),
            disposition=data.disposition,
            follow_up_consent=data.follow_up_consent,
            responder_felt_safe=data.responder_felt_safe,
            narrative=data.narrative,
            source=data.source,
            dispatched_at=data.dispatched_at,
            arrived_at=data.arrived_at,
            debrief_requested=data.debrief_requested,
            body_fingerprint=fingerprint,
            recorded_by=actor,
        ),
        actor=actor,
        reason=reason,
    )
    # A new neighbor, its phone, its case and the response (those of them new): one statement.
    insert_all_with_history(*rows, field_response)
    if not matched:
        duplicates = _record_likenesses(actor=actor, neighbor=neighbor, found=alike)
    if data.debrief_requested:
        debrief_request(actor=actor, field_response=field_response, reason=reason)

    follow_up: FollowUpRef | None = None
    if not data.follow_up_consent:
        if case_created:
            case = case_close(
                actor=actor,
                case=case,
                outcome=Case.Outcome.FOLLOW_UP_DECLINED,
                note=f"No consent to a follow-up at {data.incident_number} ({data.unit}).",
            )
    elif registry.follow_up_scheduler is not None:
        follow_up = registry.follow_up_scheduler.schedule(
            actor=actor, case=case, field_response=field_response, new_case=case_created
        )
    return IntakeResult(
        field_response=field_response,
        case=case,
        case_created=case_created,
        neighbor=neighbor,
        neighbor_matched=matched,
        follow_up=follow_up,
        possible_duplicates=duplicates,
    )


def follow_up_deadline(responded_at: datetime) -> datetime:
    return responded_at + timedelta(hours=settings.HEART_FOLLOW_UP_HOURS)


def _match_keys(data: NeighborInput) -> list[str]:
    keys = []
    if data.phone:
        keys.append(f"phone:{data.phone}")
    if data.first_name and data.last_name and data.date_of_birth:
        keys.append(
            f"name:{name_key(data.first_name)}|{name_key(data.last_name)}|{data.date_of_birth}"
        )
    return sorted(keys)


# The neighbor with the same phone, the one with the same name and date of birth (each as
# its root's id), and the weaker likenesses as (likeness, id): see _match_ids.
_Matches = tuple[int | None, int | None, list[tuple[int, int]]]


def _lock_match_keys_and_find(data: FieldResponseInput) -> tuple[int | None, _Matches | None]:
    """Lock the neighbor's match keys, find the id of the response already recorded under
    this (incident_number, unit), if any, and find the neighbor's matches: one round trip on
    PostgreSQL (two statements in one query string), the matches None elsewhere.

    Two intakes that could match the same person wait for each other, so the second one finds
    the neighbor the first created instead of creating a twin. Sorted to avoid deadlocks.
    SQLite serialises writers already (transaction_mode IMMEDIATE). The lookup sees what was
    committed when the statement began, as it did when it ran before the transaction; a
    response committed after that is caught by the unique constraint and replayed. The match
    is the second statement: under READ COMMITTED each statement of a query string takes its
    own snapshot, so it starts once the locks are held and sees what their last holder
    committed, as a statement of its own would."""
    if connection.vendor != "postgresql":
        found = _field_response_by_key(data)
        return (found.pk if found is not None else None), None
    keys = _match_keys(data.neighbor)
    # PostgreSQL evaluates a select list left to right, so the locks in key order.
    locks = "".join(["pg_advisory_xact_lock(hashtextextended(%s, 0)), "] * len(keys))
    table = connection.ops.quote_name(FieldResponse._meta.db_table)
    statement = (
        f"SELECT {locks}(SELECT id FROM {table} "  # noqa: S608 (placeholders only)
        "WHERE incident_number = %s AND unit = %s LIMIT 1)"
    )
    params: list[Any] = [*keys, data.incident_number, data.unit]
    match_sql, match_params = _match_sql(data.neighbor)
    # Several statements in one string need the simple query protocol: psycopg's client-side
    # binding cursor (Django's default); with server-side binding, one statement each.
    together = bool(match_sql) and not connection.settings_dict.get("OPTIONS", {}).get(
        "server_side_binding"
    )
    with connection.cursor() as cursor:
        if together:
            cursor.execute(f"{statement}; {match_sql}", [*params, *match_params])
        else:
            cursor.execute(statement, params)
        existing_id = cursor.fetchone()[-1]
        if not match_sql:
            return existing_id, (None, None, [])
        if together:
            cursor.nextset()
        else:
            cursor.execute(match_sql, match_params)
        return existing_id, _matches_from_rows(cursor.fetchall())


def _root(neighbor: Neighbor) -> Neighbor:
    """The record a linked duplicate points to (links are one level deep; see neighbor_link)."""
    return neighbor.linked_to if neighbor.linked_to_id else neighbor  # type: ignore[return-value]


def _match_ids(data: NeighborInput) -> _Matches:
    """The neighbor (the root of a linked duplicate) with the same E.164 phone, and the one
    with the same first name, last name and date of birth, as ids; and the weaker likenesses
    (see _likenesses) as (likeness, id), for the record created when neither matches. One
    query."""
    sql, params = _match_sql(data)
    if not sql:
        return None, None, []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _matches_from_rows(cursor.fetchall())


def _column_of(model: Any, name: str) -> str:
    """The column of a model's concrete field (get_field's type also allows relations' far
    ends, which have none)."""
    field: Any = model._meta.get_field(name)
    return str(field.column)


def _matches_from_rows(rows: list[Any]) -> _Matches:
    found: dict[str, int] = {}
    alike: list[tuple[int, int]] = []
    for key, own, linked_to in rows:
        if key in ("phone", "name"):
            found[key] = linked_to or own
        else:
            alike.append((int(key), own))
    return found.get("phone"), found.get("name"), alike


def _match_sql(data: NeighborInput) -> tuple[str, list[Any]]:
    """_match_ids's query, written out: each part limited and ordered, as (key, id,
    linked_to_id), in one UNION ALL ("" when there is nothing to match by). Written by hand
    rather than by the ORM because compiling the ORM's union of up to five querysets was the
    largest part of an intake's Python time (issue 19); the names come from the models."""
    quote = connection.ops.quote_name
    neighbor = quote(Neighbor._meta.db_table)
    phone = quote(NeighborPhone._meta.db_table)
    owner = quote(_column_of(NeighborPhone, "neighbor"))
    number = quote(_column_of(NeighborPhone, "number"))
    parts: list[str] = []
    params: list[Any] = []

    def column(name: str) -> str:
        return quote(_column_of(Neighbor, name))

    def part(select: str, limit: int) -> None:
        parts.append(f"SELECT * FROM ({select} LIMIT {limit}) AS m{len(parts)}")  # noqa: S608

    if data.phone:
        part(
            f"SELECT 'phone' AS k, p.{owner} AS own, n.{column('linked_to')} AS linked "  # noqa: S608
            f"FROM {phone} p JOIN {neighbor} n ON n.{column('id')} = p.{owner} "
            f"WHERE p.{number} = %s ORDER BY p.{owner}",
            1,
        )
        params.append(data.phone)
    if data.first_name and data.last_name and data.date_of_birth:
        part(
            f"SELECT 'name' AS k, {column('id')} AS own, {column('linked_to')} AS linked "  # noqa: S608
            f"FROM {neighbor} WHERE {column('first_name_key')} = %s AND "
            f"{column('last_name_key')} = %s AND {column('date_of_birth')} = %s "
            f"ORDER BY {column('id')}",
            1,
        )
        params += [name_key(data.first_name), name_key(data.last_name), data.date_of_birth]
    likenesses = _likenesses(
        first_name_key=name_key(data.first_name),
        last_name_key=name_key(data.last_name),
        alias_key=name_key(data.alias),
        date_of_birth=data.date_of_birth,
    )
    for index, (condition, _why) in enumerate(likenesses):
        # Each condition is equalities on the neighbor's own columns (see _likenesses).
        terms = []
        for name, value in condition.children:  # type: ignore[misc]
            terms.append(f"{column(name)} = %s")
            params.append(value)
        part(
            f"SELECT '{index}' AS k, {column('id')} AS own, {column('linked_to')} AS linked "  # noqa: S608
            f"FROM {neighbor} WHERE {' AND '.join(terms)} ORDER BY {column('id')}",
            _LIKENESS_LIMIT,
        )
    # The statement is the models' names and placeholders.
    return " UNION ALL ".join(parts), params


def _lock_root(neighbor_id: int) -> Neighbor:
    """Lock the neighbor row, serialising intakes for one record whichever key they matched it
    by; if it was linked into another record meanwhile, lock and return that one."""
    neighbor = Neighbor.objects.select_for_update().get(pk=neighbor_id)
    if neighbor.linked_to_id:
        neighbor = Neighbor.objects.select_for_update().get(pk=neighbor.linked_to_id)
    return neighbor


def _lock_root_and_read(neighbor_id: int, phone: str) -> tuple[Neighbor, bool | None, Case | None]:
    """_lock_root, and then whether the record has this phone and its open case: one round
    trip on PostgreSQL (three statements in one query string, each with its own snapshot, the
    last two taken once the row lock is held, as statements of their own would be). Whether it
    has the phone is None where not read (elsewhere, or a record linked into another)."""
    if connection.vendor != "postgresql" or connection.settings_dict.get("OPTIONS", {}).get(
        "server_side_binding"
    ):
        neighbor = _lock_root(neighbor_id)
        return neighbor, None, _open_case(neighbor)
    quote = connection.ops.quote_name
    neighbors, phones, cases = (
        quote(model._meta.db_table) for model in (Neighbor, NeighborPhone, Case)
    )
    neighbor_columns = ", ".join(quote(str(f.column)) for f in Neighbor._meta.concrete_fields)
    case_columns = ", ".join(quote(str(f.column)) for f in Case._meta.concrete_fields)
    statement = (
        f"SELECT {neighbor_columns} FROM {neighbors} WHERE id = %s FOR UPDATE; "  # noqa: S608
        f"SELECT EXISTS (SELECT 1 FROM {phones} WHERE neighbor_id = %s AND number = %s); "
        f"SELECT {case_columns} FROM {cases} WHERE neighbor_id = %s AND status = %s "
        "ORDER BY id LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [neighbor_id, neighbor_id, phone, neighbor_id, Case.Status.OPEN])
        neighbor_row = cursor.fetchone()
        cursor.nextset()
        (has_phone,) = cursor.fetchone()
        cursor.nextset()
        case_row = cursor.fetchone()
    if neighbor_row is None:
        raise Neighbor.DoesNotExist(f"Neighbor {neighbor_id} does not exist.")
    neighbor = _from_row(Neighbor, neighbor_row)
    if neighbor.linked_to_id:
        # Linked into another record meanwhile: that one is the record (rare; as before).
        neighbor = Neighbor.objects.select_for_update().get(pk=neighbor.linked_to_id)
        return neighbor, None, _open_case(neighbor)
    case = _from_row(Case, case_row) if case_row is not None else None
    if case is not None:
        case.neighbor = neighbor  # type: ignore[assignment]
    return neighbor, bool(has_phone), case


def _open_case(neighbor: Neighbor) -> Case | None:
    return Case.objects.filter(neighbor=neighbor, status=Case.Status.OPEN).first()


def _from_row(model: Any, row: Any) -> Any:
    """An instance from a row of all its concrete columns, converted as the ORM converts them."""
    values = [
        _convert(field, value)
        for field, value in zip(model._meta.concrete_fields, row, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], values)


def _convert(field: Any, value: Any) -> Any:
    expression = field.get_col(field.model._meta.db_table)
    for converter in [
        *connection.ops.get_db_converters(expression),
        *field.get_db_converters(connection),
    ]:
        value = converter(value, expression, connection)
    return value


def _neighbor_matched_or_new(
    *, actor: User, data: NeighborInput, reason: str, found: _Matches | None
) -> tuple[Neighbor, bool, list[PossibleDuplicate], list[Any], list[tuple[int, int]], Case | None]:
    """Find the neighbor by the same E.164 phone, or the same first name, last name and date
    of birth (`found`, else looked up now), and lock its row; else a new neighbor and its phone,
    not yet inserted (the caller inserts them with the case and the response in one statement)
    and the weaker likenesses to keep as possible duplicates once it is. Returns the neighbor,
    whether it matched, the possible duplicates recorded, the rows to insert, the
    likenesses, and a matched neighbor's open case (if any)."""
    by_phone, by_name, alike = found if found is not None else _match_ids(data)
    matched_id = by_phone or by_name
    if matched_id is not None:
        duplicates = []
        if by_phone and by_name and by_phone != by_name:
            duplicates.append(
                _possible_duplicate(
                    actor=actor,
                    a=Neighbor(pk=by_phone),
                    b=Neighbor(pk=by_name),
                    why=gettext_noop(
                        "same phone as one record, same name and date of birth as the other"
                    ),
                )
            )
        matched, has_phone, open_case = _lock_root_and_read(matched_id, data.phone)
        _neighbor_update_from_intake(
            actor=actor, neighbor=matched, data=data, reason=reason, has_phone=has_phone
        )
        return matched, True, [d for d in duplicates if d is not None], [], [], open_case

    neighbor = stamp(
        Neighbor(
            first_name=data.first_name,
            last_name=data.last_name,
            alias=data.alias,
            first_name_key=name_key(data.first_name),
            last_name_key=name_key(data.last_name),
            alias_key=name_key(data.alias),
            date_of_birth=data.date_of_birth,
            phone=data.phone,
            language=data.language or "en",
            unsheltered=bool(data.unsheltered),
            gender=data.gender,
            race=data.race,
            ethnicity=data.ethnicity,
        ),
        actor=actor,
        reason=reason,
    )
    rows: list[Any] = [neighbor]
    if data.phone:
        rows.append(
            stamp(NeighborPhone(neighbor=neighbor, number=data.phone), actor=actor, reason=reason)
        )
    return neighbor, False, [], rows, alike, None


def _neighbor_update_from_intake(
    *,
    actor: User,
    neighbor: Neighbor,
    data: NeighborInput,
    reason: str,
    has_phone: bool | None = None,
) -> None:
    """Fill in what the record lacked and take the newest language and shelter status; never
    overwrite a name or date of birth a navigator may have corrected."""
    changed = []
    for name in ("first_name", "last_name", "alias", "gender", "race", "ethnicity"):
        if getattr(data, name) and not getattr(neighbor, name):
            setattr(neighbor, name, getattr(data, name))
            changed.append(name)
    if data.date_of_birth and neighbor.date_of_birth is None:
        neighbor.date_of_birth = data.date_of_birth
        changed.append("date_of_birth")
    if data.language and data.language != neighbor.language:
        neighbor.language = data.language
        changed.append("language")
    if data.unsheltered is not None and data.unsheltered != neighbor.unsheltered:
        neighbor.unsheltered = data.unsheltered
        changed.append("unsheltered")
    if data.phone and not neighbor.phone:
        neighbor.phone = data.phone
        changed.append("phone")
    if changed:
        neighbor.first_name_key = name_key(neighbor.first_name)
        neighbor.last_name_key = name_key(neighbor.last_name)
        neighbor.alias_key = name_key(neighbor.alias)
        stamp(neighbor, actor=actor, reason=reason).save()
    if has_phone is None:
        has_phone = bool(data.phone) and neighbor.phones.filter(number=data.phone).exists()
    if data.phone and not has_phone:
        stamp(
            NeighborPhone(neighbor=neighbor, number=data.phone), actor=actor, reason=reason
        ).save()


_LIKENESS_LIMIT = 10


def _likenesses(
    *, first_name_key: str, last_name_key: str, alias_key: str, date_of_birth: date | None
) -> list[tuple[Q, str]]:
    """Weaker likenesses than a match: same name with another or no date of birth; same last
    name and date of birth; same alias. Each a condition and why, in this order."""
    likeness: list[tuple[Q, str]] = []
    if first_name_key and last_name_key:
        likeness.append(
            (
                Q(first_name_key=first_name_key, last_name_key=last_name_key),
                gettext_noop("same first and last name"),
            )
        )
    if last_name_key and date_of_birth:
        likeness.append(
            (
                Q(last_name_key=last_name_key, date_of_birth=date_of_birth),
                gettext_noop("same last name and date of birth"),
            )
        )
    if alias_key:
        likeness.append((Q(alias_key=alias_key), gettext_noop("same alias")))
    return likeness


def _record_likenesses(
    *, actor: User, neighbor: Neighbor, found: list[tuple[int, int]]
) -> list[PossibleDuplicate]:
    """Keep the weaker likenesses `found` for a neighbor just created (by the match's query,
    just before) as possible duplicates."""
    likeness = _likenesses(
        first_name_key=neighbor.first_name_key,
        last_name_key=neighbor.last_name_key,
        alias_key=neighbor.alias_key,
        date_of_birth=neighbor.date_of_birth,
    )
    duplicates: list[PossibleDuplicate] = []
    for index, other_id in sorted(found):
        duplicate = _possible_duplicate(
            actor=actor, a=neighbor, b=Neighbor(pk=other_id), why=likeness[index][1]
        )
        if duplicate is not None:
            duplicates.append(duplicate)
    return duplicates


def _possible_duplicate(
    *, actor: User, a: Neighbor, b: Neighbor, why: str
) -> PossibleDuplicate | None:
    low, high = sorted([a.pk, b.pk])
    if PossibleDuplicate.objects.filter(neighbor_id=low, other_id=high).exists():
        return None
    duplicate = stamp(
        PossibleDuplicate(neighbor_id=low, other_id=high, reason=why),
        actor=actor,
        reason=f"Possible duplicate: {why}",
    )
    duplicate.save()
    return duplicate


def case_number_next(opened_at: datetime) -> str:
    counter = CaseNumber.objects.create()
    year = timezone.localtime(opened_at).year
    return f"HC-{year}-{counter.pk:06d}"


class NextCaseNumber(Expression):
    """The case number case_number_next gives, HC-<year>-<the counter's next id, six digits or
    more>, computed by the case's own INSERT from the counter's sequence (PostgreSQL): one round
    trip fewer than inserting a counter row first. Only through insert_with_history, which reads
    it back and keeps it in the history row."""

    output_field = CharField()

    def __init__(self, opened_at: datetime) -> None:
        super().__init__()
        self.prefix = f"HC-{timezone.localtime(opened_at).year}-"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[str | int, ...]]:
        sequence = f"pg_get_serial_sequence('{CaseNumber._meta.db_table}', 'id')"
        digits = "CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END"
        # The table name comes from the model.
        return f"(SELECT %s || {digits} FROM nextval({sequence}) AS n)", (self.prefix,)  # noqa: S608


def case_open(
    *,
    actor: User,
    neighbor: Neighbor,
    opened_at: datetime,
    reason: str,
    first_of_neighbor: bool = False,
) -> Case:
    """Open a case, linked to the neighbor's last closed one (none when the caller knows this
    is the neighbor's first)."""
    return insert_with_history(
        _case_new(
            actor=actor,
            neighbor=neighbor,
            opened_at=opened_at,
            reason=reason,
            first_of_neighbor=first_of_neighbor,
        )
    )


def _case_new(
    *,
    actor: User,
    neighbor: Neighbor,
    opened_at: datetime,
    reason: str,
    first_of_neighbor: bool = False,
) -> Case:
    """The case case_open inserts, not yet inserted (for insert_all_with_history)."""
    previous = (
        None
        if first_of_neighbor
        else Case.objects.filter(neighbor=neighbor, status=Case.Status.CLOSED)
        .order_by("-closed_at")
        .first()
    )
    return stamp(
        Case(
            number=(
                NextCaseNumber(opened_at)
                if connection.vendor == "postgresql"
                else case_number_next(opened_at)
            ),
            neighbor=neighbor,
            opened_at=opened_at,
            previous_case=previous,
        ),
        actor=actor,
        reason=reason,
    )


@transaction.atomic
def case_close(*, actor: User, case: Case, outcome: str, note: str = "") -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != Case.Status.OPEN:
        raise TransitionError(
            gettext("Case %(number)s is already closed.") % {"number": case.number}
        )
    if outcome not in Case.Outcome.values:
        raise ValueError(f"Unknown outcome {outcome!r}.")
    case.status = Case.Status.CLOSED
    case.outcome = outcome
    case.outcome_note = note
    case.closed_at = timezone.now()
    with translation.override("en"):  # the record keeps one language, whoever closed it
        label = str(Case.Outcome(outcome).label)
    stamp(case, actor=actor, reason=f"Closed: {label}. {note}".strip()).save()
    for hook in registry.case_closed:
        hook(actor=actor, case=case, reason=f"Case {case.number} closed: {label}")
    return case


@transaction.atomic
def neighbor_link(*, actor: User, neighbor: Neighbor, into: Neighbor, reason: str) -> Neighbor:
    """Link `neighbor` (and any records already linked to it) into `into` as one person.
    Nothing is deleted: each record keeps its history, and neighbor_unlink undoes this."""
    into = _root(Neighbor.objects.select_related("linked_to").get(pk=into.pk))
    neighbor = Neighbor.objects.select_for_update().get(pk=neighbor.pk)
    if neighbor.pk == into.pk:
        raise TransitionError(gettext("A neighbor record cannot be linked to itself."))
    why = f"Linked to neighbor #{into.pk} as the same person: {reason}".strip()
    for record in [neighbor, *Neighbor.objects.filter(linked_to=neighbor)]:
        record.linked_to = into
        stamp(record, actor=actor, reason=why).save()
    low, high = sorted([neighbor.pk, into.pk])
    for duplicate in PossibleDuplicate.objects.filter(neighbor_id=low, other_id=high):
        duplicate.status = PossibleDuplicate.Status.LINKED
        duplicate.resolved_at = timezone.now()
        duplicate.resolved_by = actor  # type: ignore[assignment]
        stamp(duplicate, actor=actor, reason=why).save()
    return neighbor


@transaction.atomic
def neighbor_unlink(*, actor: User, neighbor: Neighbor, reason: str) -> Neighbor:
    neighbor = Neighbor.objects.select_for_update().get(pk=neighbor.pk)
    if neighbor.linked_to_id is None:
        raise TransitionError(gettext("This neighbor record is not linked to another."))
    previous = neighbor.linked_to_id
    neighbor.linked_to = None
    stamp(neighbor, actor=actor, reason=f"Unlinked from neighbor #{previous}: {reason}").save()
    return neighbor


def access_log_write(
    *,
    user: User | AnonymousUser | None,
    action: str,
    object_type: str,
    object_ids: list[int],
    case_id: int | None = None,
    denied: bool = False,
    client_address: str | None = None,
    request_id: str = "",
    path: str = "",
    reason: str = "",
) -> AccessLog:
    """`reason`: why a navigator broke the glass (selectors.case_access_check); blank else."""
    return AccessLog.objects.create(
        user=user if isinstance(user, User) else None,
        action=action,
        object_type=object_type,
        object_ids=object_ids,
        case_id=case_id,
        outcome=AccessLog.Outcome.DENIED if denied else AccessLog.Outcome.ALLOWED,
        client_address=client_address,
        request_id=request_id[:64],
        path=path[:300],
        reason=reason,
    )


def access_log_write_by_case(
    *,
    user: User | AnonymousUser | None,
    action: str,
    object_type: str,
    ids_by_case: dict[int | None, list[int]],
    client_address: str | None = None,
    request_id: str = "",
    path: str = "",
) -> list[AccessLog]:
    """One entry per case a page showed (the objects of that case it showed), in one INSERT:
    reviewing a case's access log then finds the list pages that showed it too. The key None
    holds objects of no case. AccessLog keeps no history, so bulk_create is its whole write."""
    return AccessLog.objects.bulk_create(
        AccessLog(
            user=user if isinstance(user, User) else None,
            action=action,
            object_type=object_type,
            object_ids=ids,
            case_id=case_id,
            client_address=client_address,
            request_id=request_id[:64],
            path=path[:300],
        )
        for case_id, ids in ids_by_case.items()
        if ids
    )
