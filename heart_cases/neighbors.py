"""The navigator's workspace around a person (issue 13): find a neighbor, read their record,
add the people the pair may call, and the supervisor's review of possible duplicates.

Search is the same for every navigator (no break the glass for a list of names); opening the
record is a read of the person's data, behind `selectors.neighbor_access_check`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import phonenumbers
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, transaction
from django.db.models import CharField, Func, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from . import services
from .actors import stamp
from .models import (
    AccessLog,
    Case,
    Contact,
    Neighbor,
    NeighborPhone,
    PossibleDuplicate,
    neighbor_display_name,
)
from .services import TransitionError, name_key

# At most this many people answer one search: a name typed that matches more asks for more of
# it. Bounds the work of ranking too.
SEARCH_MAX = 200
# SQLite (`make run`) has no trigram index: its typo tolerance ranks at most this many rows.
_SQLITE_CANDIDATES = 5000
SEARCH_MIN_LENGTH = 2

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CASE_NUMBER = re.compile(r"^HC-(\d{4})-(\d{1,12})$", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"^[\d\s()+.\-/]+$")


class SearchError(ValueError):
    """A query that cannot be searched: the message for the `q` field."""


class Kind:
    NAME = "name"
    PHONE = "phone"
    CASE_NUMBER = "case_number"
    DATE_OF_BIRTH = "date_of_birth"


@dataclass(frozen=True)
class Query:
    kind: str
    value: Any


def search_query(text: str | None) -> Query:
    """What was typed, understood: a date of birth (YYYY-MM-DD), a case number, a phone number
    in any common format, else a name or alias. SearchError when it cannot be searched."""
    text = (text or "").strip()
    if "\x00" in text:
        raise SearchError("A search cannot hold a NUL character.")
    if len(text) < SEARCH_MIN_LENGTH:
        raise SearchError(f"At least {SEARCH_MIN_LENGTH} characters.")
    if len(text) > 200:
        raise SearchError("At most 200 characters.")
    if _DATE.match(text):
        try:
            return Query(Kind.DATE_OF_BIRTH, date.fromisoformat(text))
        except ValueError as exc:
            raise SearchError("Not a date: give a date of birth as YYYY-MM-DD.") from exc
    number = _CASE_NUMBER.match(text)
    if number:
        year, serial = number.groups()
        return Query(Kind.CASE_NUMBER, f"HC-{year}-{int(serial):06d}")
    if _PHONE_CHARS.match(text) and sum(ch.isdigit() for ch in text) >= 7:
        try:
            parsed = phonenumbers.parse(text, "US")
        except phonenumbers.NumberParseException as exc:
            raise SearchError("Not a phone number.") from exc
        if not phonenumbers.is_valid_number(parsed):
            raise SearchError("Not a valid phone number.")
        return Query(
            Kind.PHONE, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        )
    key = name_key(text)
    if sum(ch.isalnum() for ch in key) < SEARCH_MIN_LENGTH:
        raise SearchError(f"At least {SEARCH_MIN_LENGTH} letters of a name.")
    return Query(Kind.NAME, key)


class FullNameKey(Func):
    """first_name_key || last_name_key: the expression the trigram indexes of migration 0007
    hold ("josedelacruz")."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = CharField()

    def __init__(self) -> None:
        super().__init__("first_name_key", "last_name_key")


def _typos_at_most_one(a: str, b: str) -> bool:
    """Whether one letter added, dropped, changed or two neighbours swapped turn a into b."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _rank(key: str, keys: Iterable[str]) -> int | None:
    """0 exact, 1 prefix, 2 one typo (of the whole key or of a prefix), 3 contains; None."""
    targets = [k for k in keys if k]
    if key in targets:
        return 0
    if any(t.startswith(key) for t in targets):
        return 1
    if len(key) >= 4:
        for t in targets:
            if _typos_at_most_one(key, t):
                return 2
            if len(t) > len(key) and any(
                _typos_at_most_one(key, t[:n]) for n in (len(key) - 1, len(key), len(key) + 1)
            ):
                return 2
    if len(key) >= 3 and any(key in t for t in targets):
        return 3
    return None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_candidates(key: str) -> list[tuple[int, int | None, int, float]]:
    """(id, linked_to_id, rank, similarity) of the records whose name or alias matches."""
    if connection.vendor == "postgresql":
        return _name_candidates_postgresql(key)
    rows = (
        Neighbor.objects.annotate(full_key=FullNameKey())
        .filter(
            Q(full_key__contains=key)
            | Q(alias_key__contains=key)
            | Q(full_key__startswith=key[0])
            | Q(last_name_key__startswith=key[0])
            | Q(alias_key__startswith=key[0])
            | Q(full_key__contains=key[-3:])
        )
        .order_by("id")
        .values_list(
            "id", "linked_to_id", "full_key", "first_name_key", "last_name_key", "alias_key"
        )[:_SQLITE_CANDIDATES]
    )
    found: list[tuple[int, int | None, int, float]] = []
    for pk, linked_to, *keys in rows:
        rank = _rank(key, keys)
        if rank is not None:
            found.append((pk, linked_to, rank, 0.0))
    return found


# A name within a typo of a long one usually shares this much of its trigrams: tried first,
# as the GIN index then skips the many names that share only a common first name.
_CLOSE_TYPO = 0.6
# From this many letters (ASCII letters and digits only, which is what pg_trgm makes trigrams
# of) a one-letter typo is found by `typo_likes` rather than by the looser threshold: every
# pattern then holds a run of at least three letters the index can look up.
TYPO_PATTERN_MIN_LENGTH = 7
_PLAIN_KEY = re.compile(r"^[0-9a-z]+$")


def typo_threshold(key: str) -> float:
    """pg_trgm's word-similarity threshold that keeps every one-letter typo of `key`: a letter
    changed, added, dropped or two swapped alters at most 4 of its n trigrams, so such a name
    is at least (n - 4) / (n + 4) alike."""
    n = sum(len(word) + 1 for word in re.split(r"[^0-9a-z]+", key) if word)
    return max(0.3, round((n - 4) / (n + 4) - 0.01, 3)) if n else 0.3


def typo_likes(key: str) -> list[str]:
    """LIKE patterns that every name within one typo of `key` (or holding such a name, as a
    longer name or a full name holds a last name) matches one of: one letter changed, added or
    dropped, or two swapped, alters at most the two letters key[p:p+2] for some p, so the name
    holds key[:p] and then key[p+2:]. One pattern per p: the trigram index looks up every run
    of each before it reads a row, so a common first name alone ("dwayne" of "dwayneokafr")
    does not make every Dwayne a candidate, where the looser threshold did.

    Empty where the looser threshold is not needed (a name of 16 letters or more: the closer
    one keeps its typos) or cannot be done without (too short, or not plain letters and
    digits, for every pattern to hold an indexable run)."""
    if (
        len(key) < TYPO_PATTERN_MIN_LENGTH
        or not _PLAIN_KEY.match(key)
        or typo_threshold(key) >= _CLOSE_TYPO
    ):
        return []
    return [f"%{key[:p]}%{key[p + 2 :]}%" for p in range(len(key) - 1)]


def name_search_sql(
    key: str, *, similar: bool = True, typos: bool = False, prefix_only: bool = False
) -> tuple[str, dict[str, Any]]:
    """The GIN trigram indexes (migration 0007) find the names that hold the key, with
    `similar` those alike (pg_trgm's `<%`, at the threshold the caller sets:
    `set_config('pg_trgm.word_similarity_threshold', …)`) and with `typos` those within a typo
    of it (`typo_likes`); the b-trees on the full key and alias serve a prefix (alone with
    `prefix_only`, and for a key too short for a trigram)."""
    prefix = _like_escape(key) + "%"
    contains = "%" + _like_escape(key) + "%"
    full = "(first_name_key || last_name_key)"
    likes = typo_likes(key) if typos else []
    params = {"key": key, "prefix": prefix, "contains": contains}
    params.update({f"typo_{n}": like for n, like in enumerate(likes)})
    if prefix_only:
        return _prefix_sql(full), params
    if len(key) < 3:
        # Too short for a trigram: a prefix only, by the b-tree indexes.
        where = f"{full} LIKE %(prefix)s OR alias_key LIKE %(prefix)s"
    else:
        where = f"{full} LIKE %(contains)s OR alias_key LIKE %(contains)s"
        if similar:
            where += f" OR %(key)s <%% {full} OR %(key)s <%% alias_key"
        if likes:
            where += "".join(
                f" OR {full} LIKE %(typo_{n})s OR alias_key LIKE %(typo_{n})s"
                for n in range(len(likes))
            )
    # Only constants are interpolated; what was typed is a parameter.
    sql = (
        f"SELECT id, linked_to_id, {full}, first_name_key, last_name_key, alias_key, "  # noqa: S608
        # Most records have no alias: its similarity (0) is not worked out for them.
        f"GREATEST(similarity({full}, %(key)s), "
        f"CASE WHEN alias_key = '' THEN 0 ELSE similarity(alias_key, %(key)s) END) AS score "
        f"FROM heart_cases_neighbor WHERE {where} "
        f"ORDER BY ({full} = %(key)s OR alias_key = %(key)s) DESC, "
        f"({full} LIKE %(prefix)s OR alias_key LIKE %(prefix)s) DESC, score DESC, id "
        f"LIMIT {_SQL_LIMIT}"
    )
    return sql, params


# Rows one statement hands back: room for linked records that answer as one person.
_SQL_LIMIT = SEARCH_MAX * 2


def _prefix_sql(full: str) -> str:
    """The names that start with the key, by the b-trees: the exact ones first, then the
    shortest (the likeness a prefix has is the share of the name it makes up, so the shortest
    are the likest, but for a name's repeated letters), and only those that make the answer are
    scored: a common name typed in full ("marisolquint", two thousand Marisol Quintero…) would
    otherwise have every one of them scored for a few hundred shown."""
    exact = f"({full} = %(key)s OR alias_key = %(key)s)"
    length = (
        f"LEAST(CASE WHEN {full} LIKE %(prefix)s THEN length({full}) END, "
        f"CASE WHEN alias_key LIKE %(prefix)s THEN length(alias_key) END)"
    )
    return (
        "SELECT id, linked_to_id, full_key, first_name_key, last_name_key, alias_key, "  # noqa: S608
        "GREATEST(similarity(full_key, %(key)s), "
        "CASE WHEN alias_key = '' THEN 0 ELSE similarity(alias_key, %(key)s) END) AS score "
        f"FROM (SELECT id, linked_to_id, {full} AS full_key, first_name_key, last_name_key, "
        f"alias_key, {exact} AS exact FROM heart_cases_neighbor "
        f"WHERE {full} LIKE %(prefix)s OR alias_key LIKE %(prefix)s "
        f"ORDER BY {exact} DESC, {length}, id LIMIT {_SQL_LIMIT}) AS prefixed "
        "ORDER BY exact DESC, score DESC, id"
    )


def _name_candidates_postgresql(key: str) -> list[tuple[int, int | None, int, float]]:
    """First the names that start with what was typed (the b-trees); when fewer than a full
    answer, the names that hold it (few rows: every trigram of it must match); only when none
    starts with it, the names within a typo of it, and those alike."""
    found = _name_rows(key, threshold=None, prefix_only=True)
    if len(key) < 3:
        return found
    if len(found) < _SQL_LIMIT:
        # A full answer of prefixes is the same as the next statement's first rows: a prefix
        # ranks before a name that only holds the key.
        found = _name_rows(key, threshold=None)
    if any(rank <= 1 for _pk, _linked, rank, _score in found):
        return found
    loose = typo_threshold(key)
    if typo_likes(key):
        # Every one-letter typo, by the patterns, in place of the two thresholds: the looser,
        # there only to keep such typos in a name this short, hands the index every record
        # that shares a common first name, and the closer most of them, to count trigrams of.
        return _name_rows(key, threshold=None, typos=True)
    for threshold in sorted({max(_CLOSE_TYPO, loose), loose}, reverse=True):
        found = _name_rows(key, threshold=threshold)
        if any(rank <= 2 for _pk, _linked, rank, _score in found):
            break
    return found


def _name_rows(
    key: str, *, threshold: float | None, typos: bool = False, prefix_only: bool = False
) -> list[tuple[int, int | None, int, float]]:
    """The names that hold the key (start with it, with `prefix_only`), and with a
    `threshold` those that much alike, and with `typos` those within a typo of it."""
    # The threshold is the transaction's own (set_config's is_local), so nothing else sees it.
    with transaction.atomic(), connection.cursor() as cursor:
        if threshold is not None:
            cursor.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                [str(threshold)],
            )
        cursor.execute(
            *name_search_sql(
                key, similar=threshold is not None, typos=typos, prefix_only=prefix_only
            )
        )
        rows = cursor.fetchall()
    found = []
    for pk, linked_to, full_key, first, last, alias, score in rows:
        rank = _rank(key, [full_key, first, last, alias])
        found.append((pk, linked_to, 4 if rank is None else rank, float(score or 0)))
    return found


def search_neighbor_ids(query: Query) -> list[int]:
    """The people that match, best first, at most SEARCH_MAX: each the record others are linked
    to (a linked duplicate answers as that record)."""
    if query.kind == Kind.NAME:
        candidates = _name_candidates(query.value)
        candidates.sort(key=lambda c: (c[2], -c[3], c[0]))
        pairs = [(pk, linked_to) for pk, linked_to, _rank_, _score in candidates]
    elif query.kind == Kind.PHONE:
        by_phones = NeighborPhone.objects.filter(number=query.value).values_list(
            "neighbor_id", "neighbor__linked_to_id"
        )
        by_primary = Neighbor.objects.filter(phone=query.value).values_list("id", "linked_to_id")
        pairs = sorted({*by_phones[:SEARCH_MAX], *by_primary[:SEARCH_MAX]})
    elif query.kind == Kind.CASE_NUMBER:
        pairs = list(
            Case.objects.filter(number=query.value).values_list(
                "neighbor_id", "neighbor__linked_to_id"
            )[:1]
        )
    else:
        pairs = list(
            Neighbor.objects.filter(date_of_birth=query.value)
            .order_by("id")
            .values_list("id", "linked_to_id")[:SEARCH_MAX]
        )
    ids: list[int] = []
    for pk, linked_to in pairs:
        root = linked_to or pk
        if root not in ids:
            ids.append(root)
    return ids[:SEARCH_MAX]


def _cases_of_people(ids: list[int]) -> tuple[dict[int, list[Case]], dict[int, int]]:
    """{person: cases of the record and of those linked to it}, and {record: person}."""
    person_of = {pk: pk for pk in ids}
    for pk, root in Neighbor.objects.filter(linked_to_id__in=ids).values_list("id", "linked_to_id"):
        person_of[pk] = root
    cases: dict[int, list[Case]] = defaultdict(list)
    for case in Case.objects.filter(neighbor_id__in=list(person_of)).order_by("-opened_at", "-id"):
        cases[person_of[case.neighbor_id]].append(case)
    return cases, person_of


def neighbor_summaries(ids: list[int]) -> list[dict[str, Any]]:
    """The search result of each person, in the order given: three queries for any number.
    The columns, not the records: a record parses its phone number as it loads (and again to
    print it), a tenth of a millisecond for each of a page of results; the column holds the
    number as E.164 already."""
    rows = {
        row[0]: row
        for row in Neighbor.objects.filter(pk__in=ids).values_list(
            "id",
            "first_name",
            "last_name",
            "alias",
            "date_of_birth",
            Cast("phone", CharField()),
            "language",
        )
    }
    cases, _ = _cases_of_people(ids)
    return [
        _summary(
            pk,
            neighbor_display_name(pk, first, last, alias),
            born,
            phone or "",
            language,
            cases.get(pk, []),
        )
        for pk, first, last, alias, born, phone, language in (rows[pk] for pk in ids if pk in rows)
    ]


def phone_text(phone: Any) -> str:
    """str(phone), which checks the number against the numbering plan (a tenth of a
    millisecond, for each of a page of results): a number stored as E.164, as the database
    keeps them, is that text already."""
    if not phone:
        return ""
    raw = getattr(phone, "raw_input", None)
    if raw and raw == phone.as_e164:
        return str(raw)
    return str(phone)


def summary_json(neighbor: Neighbor, cases: list[Case]) -> dict[str, Any]:
    return _summary(
        neighbor.pk,
        neighbor.display_name,
        neighbor.date_of_birth,
        phone_text(neighbor.phone),
        neighbor.language,
        cases,
    )


def _summary(
    pk: int, display_name: str, born: date | None, phone: str, language: str, cases: list[Case]
) -> dict[str, Any]:
    open_case = next((c for c in cases if c.status == Case.Status.OPEN), None)
    return {
        "id": pk,
        "display_name": display_name,
        "date_of_birth": born,
        "phone": phone,
        "language": language,
        "open_case": {"id": open_case.pk, "number": open_case.number} if open_case else None,
        "cases": len(cases),
    }


def search_log(
    *, user: User | AnonymousUser, query: Query, ids: list[int], **where: Any
) -> AccessLog:
    """One entry per search: the kind of query and the ids shown, never the text typed."""
    path = where.pop("path", "")
    return services.access_log_write(
        user=user,
        action=AccessLog.Action.SEARCH,
        object_type="neighbor",
        object_ids=ids,
        path=f"{path}?kind={query.kind}",
        **where,
    )


# --- the record -------------------------------------------------------------------------------


def neighbor_get(neighbor_id: int | str) -> Neighbor | None:
    try:
        pk = int(neighbor_id)
    except (TypeError, ValueError):
        return None
    if not 1 <= pk < 2**63:
        return None
    return Neighbor.objects.select_related("linked_to").filter(pk=pk).first()


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "neighbor": contact.neighbor_id,
        "name": contact.name,
        "relationship": contact.relationship,
        "phone": str(contact.phone) if contact.phone else "",
        "language": contact.language,
        "may_contact": contact.may_contact,
        "note": contact.note,
        "created_at": contact.created_at,
        "created_by": contact.created_by.get_username() if contact.created_by_id else None,
    }


def _linked_since(record_ids: list[int], into_id: int) -> dict[int, tuple[datetime, str | None]]:
    """When, and by whom, each record was last linked into `into_id` (from its history)."""
    since: dict[int, tuple[datetime, str | None]] = {}
    previous: dict[int, int | None] = {}
    rows = (
        Neighbor.history.filter(id__in=record_ids)
        .select_related("history_user")
        .order_by("history_date", "history_id")
        .only("id", "linked_to_id", "history_date", "history_user__username")
    )
    for row in rows:
        if row.linked_to_id == into_id and previous.get(row.id) != into_id:
            user = row.history_user
            since[row.id] = (row.history_date, user.get_username() if user else None)
        previous[row.id] = row.linked_to_id
    return since


def neighbor_detail(neighbor: Neighbor) -> dict[str, Any]:
    """API.md's neighbor: identity, phones, the records linked into it, the contacts, and every
    case of the person (this record's and those linked to it). A fixed number of queries."""
    linked = list(Neighbor.objects.filter(linked_to=neighbor).order_by("id"))
    record_ids = [neighbor.pk, *(r.pk for r in linked)]
    since = _linked_since([r.pk for r in linked], neighbor.pk)
    phones = list(
        dict.fromkeys(
            str(p.number)
            for p in NeighborPhone.objects.filter(neighbor_id__in=record_ids).order_by("id")
        )
    )
    contacts = (
        Contact.objects.filter(neighbor_id__in=record_ids)
        .select_related("created_by")
        .order_by("created_at", "id")
    )
    cases = Case.objects.filter(neighbor_id__in=record_ids).order_by("-opened_at", "-id")
    return {
        "id": neighbor.pk,
        "display_name": neighbor.display_name,
        "first_name": neighbor.first_name,
        "last_name": neighbor.last_name,
        "alias": neighbor.alias,
        "date_of_birth": neighbor.date_of_birth,
        "phone": str(neighbor.phone) if neighbor.phone else "",
        "phones": phones,
        "language": neighbor.language,
        "unsheltered": neighbor.unsheltered,
        "linked_to": (
            {"id": neighbor.linked_to.pk, "display_name": neighbor.linked_to.display_name}
            if neighbor.linked_to
            else None
        ),
        "linked_records": [
            {
                "id": record.pk,
                "display_name": record.display_name,
                "linked_at": since.get(record.pk, (None, None))[0],
                "linked_by": since.get(record.pk, (None, None))[1],
            }
            for record in linked
        ],
        "contacts": [contact_json(c) for c in contacts],
        "cases": [
            {
                "id": case.pk,
                "number": case.number,
                "neighbor": case.neighbor_id,
                "status": case.status,
                "outcome": case.outcome or None,
                "opened_at": case.opened_at,
                "closed_at": case.closed_at,
            }
            for case in cases
        ],
    }


def neighbor_read_log(
    *,
    user: User | AnonymousUser,
    neighbor_ids: list[int],
    case_ids: list[int],
    denied: bool = False,
    reason: str = "",
    client_address: str | None = None,
    request_id: str = "",
    path: str = "",
) -> list[AccessLog]:
    """A read of a person's record, as a case read is logged: one entry for the records and one
    for each of their cases (so a review of any of those cases finds it), with the reason when
    the glass was broken, in one INSERT."""
    keys: list[int | None] = [None, *case_ids]
    return AccessLog.objects.bulk_create(
        AccessLog(
            user=user if isinstance(user, User) else None,
            action=AccessLog.Action.VIEW,
            object_type="neighbor",
            object_ids=neighbor_ids,
            case_id=case_id,
            outcome=AccessLog.Outcome.DENIED if denied else AccessLog.Outcome.ALLOWED,
            client_address=client_address,
            request_id=request_id[:64],
            path=path[:300],
            reason=reason,
        )
        for case_id in keys
    )


def person_case_ids(neighbor: Neighbor) -> list[int]:
    return list(
        Case.objects.filter(Q(neighbor=neighbor) | Q(neighbor__linked_to=neighbor))
        .order_by("id")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class ContactInput:
    name: str
    relationship: str = ""
    phone: str = ""  # E.164, already parsed
    language: str = ""
    may_contact: bool = True
    note: str = ""


@transaction.atomic
def contact_add(*, actor: User, neighbor: Neighbor, data: ContactInput) -> Contact:
    contact = stamp(
        Contact(
            neighbor=neighbor,
            name=data.name,
            relationship=data.relationship,
            phone=data.phone,
            language=data.language,
            may_contact=data.may_contact,
            note=data.note,
            created_by=actor,
        ),
        actor=actor,
        reason=f"Contact added: {data.name}"
        + (f" ({data.relationship})" if data.relationship else ""),
    )
    contact.save()
    return contact


# --- possible duplicates ----------------------------------------------------------------------


def possible_duplicates(status: str) -> QuerySet[PossibleDuplicate]:
    return PossibleDuplicate.objects.filter(status=status).select_related(
        "neighbor", "other", "resolved_by"
    )


def duplicates_json(duplicates: list[PossibleDuplicate]) -> list[dict[str, Any]]:
    """Each side as the search shows it, with its own cases: a fixed number of queries."""
    ids = sorted({d.neighbor_id for d in duplicates} | {d.other_id for d in duplicates})
    cases: dict[int, list[Case]] = defaultdict(list)
    for case in Case.objects.filter(neighbor_id__in=ids).order_by("-opened_at", "-id"):
        cases[case.neighbor_id].append(case)
    phones: dict[int, list[str]] = defaultdict(list)
    for neighbor_id, number in (
        NeighborPhone.objects.filter(neighbor_id__in=ids)
        .order_by("id")
        .values_list("neighbor_id", "number")
    ):
        phones[neighbor_id].append(str(number))

    def side(neighbor: Neighbor) -> dict[str, Any]:
        own = cases.get(neighbor.pk, [])
        return {
            **summary_json(neighbor, own),
            "first_name": neighbor.first_name,
            "last_name": neighbor.last_name,
            "alias": neighbor.alias,
            "phones": phones.get(neighbor.pk, []),
            "linked_to": neighbor.linked_to_id,
            "case_list": [
                {
                    "id": c.pk,
                    "number": c.number,
                    "status": c.status,
                    "outcome": c.outcome or None,
                    "opened_at": c.opened_at,
                    "closed_at": c.closed_at,
                }
                for c in own
            ],
        }

    return [duplicate_json(d, side=side) for d in duplicates]


def duplicate_json(duplicate: PossibleDuplicate, *, side: Any = None) -> dict[str, Any]:
    def brief(neighbor: Neighbor) -> dict[str, Any]:
        return {
            "id": neighbor.pk,
            "display_name": neighbor.display_name,
            "linked_to": neighbor.linked_to_id,
        }

    shown = side or brief
    return {
        "id": duplicate.pk,
        "neighbor": shown(duplicate.neighbor),
        "other": shown(duplicate.other),
        "reason": duplicate.reason,
        "status": duplicate.status,
        "created_at": duplicate.created_at,
        "resolved_at": duplicate.resolved_at,
        "resolved_by": duplicate.resolved_by.get_username() if duplicate.resolved_by else None,
    }


def duplicate_get(duplicate_id: int | str) -> PossibleDuplicate | None:
    try:
        pk = int(duplicate_id)
    except (TypeError, ValueError):
        return None
    if not 1 <= pk < 2**63:
        return None
    return PossibleDuplicate.objects.filter(pk=pk).first()


def _lock_open(duplicate_id: int) -> PossibleDuplicate:
    duplicate = PossibleDuplicate.objects.select_for_update().get(pk=duplicate_id)
    if duplicate.status != PossibleDuplicate.Status.OPEN:
        raise TransitionError(
            f"This possible duplicate was already resolved ({duplicate.get_status_display()})."
        )
    return duplicate


@transaction.atomic
def duplicate_link(
    *, actor: User, duplicate: PossibleDuplicate, into_id: int, reason: str
) -> PossibleDuplicate:
    """Link the pair as one person, `into_id` (one of the two) the record that stays. The other
    record (and any linked to it) points to it; nothing is deleted, and unlink undoes it."""
    duplicate = _lock_open(duplicate.pk)
    if into_id not in (duplicate.neighbor_id, duplicate.other_id):
        raise ValueError("One of the two records of this possible duplicate.")
    linked_id = duplicate.other_id if into_id == duplicate.neighbor_id else duplicate.neighbor_id
    services.neighbor_link(
        actor=actor, neighbor=Neighbor(pk=linked_id), into=Neighbor(pk=into_id), reason=reason
    )
    duplicate.refresh_from_db()
    if duplicate.status == PossibleDuplicate.Status.OPEN:
        # `into` was itself linked elsewhere: the link went to that record, and this entry,
        # which names `into`, is resolved here.
        duplicate.status = PossibleDuplicate.Status.LINKED
        duplicate.resolved_at = timezone.now()
        duplicate.resolved_by = actor
        stamp(duplicate, actor=actor, reason=f"Linked as the same person: {reason}").save()
    return PossibleDuplicate.objects.select_related("neighbor", "other", "resolved_by").get(
        pk=duplicate.pk
    )


@transaction.atomic
def duplicate_dismiss(
    *, actor: User, duplicate: PossibleDuplicate, reason: str
) -> PossibleDuplicate:
    duplicate = _lock_open(duplicate.pk)
    duplicate.status = PossibleDuplicate.Status.DISMISSED
    duplicate.resolved_at = timezone.now()
    duplicate.resolved_by = actor
    stamp(duplicate, actor=actor, reason=f"Not the same person: {reason}").save()
    return PossibleDuplicate.objects.select_related("neighbor", "other", "resolved_by").get(
        pk=duplicate.pk
    )


@transaction.atomic
def neighbor_unlink(*, actor: User, neighbor: Neighbor, reason: str) -> PossibleDuplicate:
    """Undo a link: the record stands alone again and the possible duplicate that named the
    two is open again for review (one is opened if the link had none)."""
    locked = Neighbor.objects.select_for_update().get(pk=neighbor.pk)
    previous = locked.linked_to_id
    services.neighbor_unlink(actor=actor, neighbor=locked, reason=reason)
    if previous is None:  # neighbor_unlink refused it already
        raise TransitionError("This neighbor record is not linked to another.")
    low, high = sorted([locked.pk, previous])
    duplicate = (
        PossibleDuplicate.objects.select_for_update().filter(neighbor_id=low, other_id=high).first()
    )
    why = f"Unlinked: {reason}"
    if duplicate is None:
        duplicate = PossibleDuplicate(neighbor_id=low, other_id=high, reason="unlinked records")
    duplicate.status = PossibleDuplicate.Status.OPEN
    duplicate.resolved_at = None
    duplicate.resolved_by = None
    stamp(duplicate, actor=actor, reason=why).save()
    return PossibleDuplicate.objects.select_related("neighbor", "other", "resolved_by").get(
        pk=duplicate.pk
    )
