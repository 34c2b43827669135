"""Sending a notice once to the people who must hear of it, in their language.

A Notice row is the effect ('remind the pair about task 12'); its unique (kind, subject_key)
makes a second sweep, a second beat or a redelivered message harmless. Notifications are the
notice as each person gets it: in the app at once, by email through `send_pending_emails`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.template import Context, Variable
from django.template.base import TextNode, VariableNode
from django.template.defaulttags import LoadNode
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation

from heart_cases.models import AccessLog, Case
from heart_cases.queueing import enqueue_on_commit

from .models import FollowUpTask, Notice, Notification

SUPPORTED_LANGUAGES = ("en", "es")
# Rows per INSERT statement.
INSERT_BATCH = 1000


def recipient_language(user: User) -> str:
    """The language the person chose for the pages (the header's menu), else the first
    supported one they speak."""
    profile = getattr(user, "staff_profile", None)
    chosen = getattr(profile, "language", "")
    if chosen in SUPPORTED_LANGUAGES:
        return chosen
    for code in getattr(profile, "languages", None) or []:
        if code in SUPPORTED_LANGUAGES:
            return code
    return "en"


def render_notice(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """Templates `notices/<kind>.<language>.txt`: the first line is the title, the rest the
    body. English where a language has no template. Plain text: nothing is HTML-escaped (a
    neighbor named O'Brien is O'Brien in the app and in the email)."""
    code, template = _notice_template(kind, language)
    with translation.override(code):
        text = template.render(Context(context, autoescape=False))
    return _title_and_body(text)


def _notice_template(kind: str, language: str) -> tuple[str, Any]:
    """The language whose template a notice is written from, and that template."""
    for code in (language, "en"):
        try:
            return code, get_template(f"notices/{kind}.{code}.txt").template  # type: ignore[attr-defined]
        except TemplateDoesNotExist:
            continue
    raise TemplateDoesNotExist(f"notices/{kind}.en.txt")


def _title_and_body(text: str) -> tuple[str, str]:
    title, _, body = text.strip().partition("\n")
    return title.strip()[:200], body.strip()


class NoticeRenderer:
    """render_notice for many notices of one kind (a sweep's batch), rendering each template
    once per language and per set of values that are not printed as they are.

    A reminder names its case number and neighbor, different in every notice, beside dates
    that a batch shares. Where the template prints such a text value as it is and uses it
    nowhere else (`_verbatim_names`), the template is rendered once with a placeholder in its
    place and each notice's text is that rendering with the value put in: the same text
    render_notice gives (tests/referrals/test_notices.py compares the two). Everything else is
    rendered as render_notice does."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._rendered: dict[tuple[Any, ...], str] = {}

    def __call__(self, language: str, context: dict[str, Any]) -> tuple[str, str]:
        code, template = _notice_template(self.kind, language)
        verbatim = _verbatim_names(self.kind, code)
        holes = tuple(
            name
            for name in sorted(verbatim)
            if isinstance(context.get(name), str) and context[name]
        )
        try:
            key = (code, holes, *sorted((k, v) for k, v in context.items() if k not in holes))
            hash(key)
        except TypeError:  # a value that cannot be a key (a list): rendered as it comes
            return render_notice(self.kind, language, context)
        text = self._rendered.get(key)
        if text is None:
            placeholders = {name: f"\x00{index}\x00" for index, name in enumerate(holes)}
            with translation.override(code):
                text = template.render(Context({**context, **placeholders}, autoescape=False))
            self._rendered[key] = text
        for index, name in enumerate(holes):
            text = text.replace(f"\x00{index}\x00", context[name])
        return _title_and_body(text)


@lru_cache(maxsize=64)
def _verbatim_names(kind: str, code: str) -> frozenset[str]:
    """The names a notice template prints as they are (a variable with no filter) and uses
    nowhere else. Only for a template of text and variables alone: any tag but {% load %}
    (an if, a for) could make the text depend on a value, so such a template has none."""
    template = get_template(f"notices/{kind}.{code}.txt").template  # type: ignore[attr-defined]
    printed: set[str] = set()
    filtered: set[str] = set()
    for node in template.nodelist:
        if isinstance(node, TextNode | LoadNode):
            continue
        if not isinstance(node, VariableNode):
            return frozenset()
        expression = node.filter_expression
        variable = expression.var
        if not isinstance(variable, Variable) or variable.lookups is None:
            continue  # a literal
        name = variable.lookups[0]
        if expression.filters or len(variable.lookups) > 1:
            filtered.add(name)
        else:
            printed.add(name)
        for _filter, arguments in expression.filters:
            for _is_variable, argument in arguments:
                if isinstance(argument, Variable) and argument.lookups:
                    filtered.add(argument.lookups[0])
    return frozenset(printed - filtered)


@dataclass
class NoticeItem:
    subject_key: str
    recipients: Sequence[User]
    context: dict[str, Any] = field(default_factory=dict)
    case: Case | None = None
    task: FollowUpTask | None = None
    link: str = ""
    # Ids instead of instances, for sweeps that load only the columns a notice names.
    case_id: int | None = None
    task_id: int | None = None


def notice_send(
    *,
    kind: str,
    subject_key: str,
    recipients: Iterable[User],
    context: dict[str, Any],
    created_by: str,
    case: Case | None = None,
    task: FollowUpTask | None = None,
    link: str = "",
    email: bool = True,
) -> Notice | None:
    """Record one notice and its notifications, once. Returns None when it was already sent.
    Runs inside the caller's transaction; emails go out after it commits."""
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                kind=kind, subject_key=subject_key, case=case, task=task, created_by=created_by
            )
    except IntegrityError:
        return None
    item = NoticeItem(subject_key, list(recipients), context, case, task, link)
    _notify([(notice.pk, item)], kind=kind, email=email)
    return notice


def notices_send_bulk(
    *, kind: str, items: Sequence[NoticeItem], created_by: str, email: bool = True
) -> int:
    """The same for many subjects at once (sweeps). Callers hold locks on the subjects and have
    excluded those already noticed; a conflict that still happens is skipped, not doubled.
    Returns how many notices were recorded."""
    if not items:
        return 0
    by_key = {item.subject_key: item for item in items}
    now = timezone.now()
    recorded: dict[str, int] = {}
    keys = list(by_key)
    for start in range(0, len(keys), INSERT_BATCH):
        chunk = keys[start : start + INSERT_BATCH]
        returned = _insert(
            Notice,
            {
                "subject_key": chunk,
                "case": [_pk(by_key[key].case, by_key[key].case_id) for key in chunk],
                "task": [_pk(by_key[key].task, by_key[key].task_id) for key in chunk],
            },
            same={"kind": kind, "created_at": now, "created_by": created_by},
            conflict=("kind", "subject_key"),
            returning=("subject_key", "id"),
        )
        recorded.update(returned)
    pairs = [(pk, by_key[key]) for key, pk in recorded.items()]
    _notify(pairs, kind=kind, email=email)
    return len(pairs)


def _pk(instance: Any, given: int | None = None) -> int | None:
    return given if instance is None else instance.pk


def _insert(
    model: type[Any],
    columns: dict[str, list[Any]],
    *,
    conflict: tuple[str, ...],
    returning: tuple[str, str] | None = None,
    same: dict[str, Any] | None = None,
) -> dict[Any, Any]:
    """INSERT … ON CONFLICT (conflict) DO NOTHING [RETURNING key, value] from values given
    column by column; returns {key: value} for the rows this statement recorded, and only
    those (a row already there, whoever wrote it, is not returned).

    Sweeps record thousands of notices a minute: Django's bulk_create builds a model instance
    per row and cannot say which rows a conflict skipped (finding out afterwards cost a query
    that grew with the table). PostgreSQL and SQLite (3.35+) both support this statement.
    Columns whose value is the `same` for every row go once, not once per row (each value of an
    array is quoted on its way to the database: a fifth of a sweep's batch was that)."""
    quote = connection.ops.quote_name
    same = same or {}
    fields = [model._meta.get_field(name) for name in columns]
    values = [_prepared(field, columns[field.name]) for field in fields]
    constants = [model._meta.get_field(name) for name in same]
    constant_values = [_prepared(field, [same[field.name]])[0] for field in constants]
    count = len(values[0])
    if count == 0:
        return {}
    if connection.vendor == "postgresql":
        # One array per column, as Django's own bulk_create does there.
        arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
        once = "".join(f", %s::{field.db_type(connection)}" for field in constants)
        # Names come from the model, values go as parameters.
        source = f"SELECT u.*{once} FROM UNNEST({arrays}) AS u"  # noqa: S608
        params: list[Any] = [*constant_values, *values]  # in the order they appear
    else:
        row = "(" + ", ".join(["%s"] * (len(fields) + len(constants))) + ")"
        source = "VALUES " + ", ".join([row] * count)
        params = [
            value for record in zip(*values, strict=True) for value in (*record, *constant_values)
        ]
    fields += constants
    targets = ", ".join(quote(model._meta.get_field(name).column) for name in conflict)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in fields)}) {source} "
        f"ON CONFLICT ({targets}) DO NOTHING"
    )
    if returning is not None:
        sql += " RETURNING " + ", ".join(
            quote(model._meta.get_field(name).column) for name in returning
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall()) if returning is not None else {}


# Fields whose value goes to the database as given when it is already of the column's Python
# type (their get_db_prep_save only converts): a sweep's 500 notices and 1,000 notifications
# are 10,000 values.
_PLAIN = {
    "AutoField": int,
    "BigAutoField": int,
    "IntegerField": int,
    "BigIntegerField": int,
    "PositiveIntegerField": int,
    "ForeignKey": int,
    "CharField": str,
    "TextField": str,
    "BooleanField": bool,
}


def _prepared(field: Any, values: list[Any]) -> list[Any]:
    """The column's values as the database takes them; each distinct value prepared once."""
    plain = _PLAIN.get(field.get_internal_type())
    done: dict[Any, Any] = {}
    out = []
    for value in values:
        if value is None or (plain is not None and type(value) is plain):
            out.append(value)
            continue
        try:
            key = (type(value), value)
            if key not in done:
                done[key] = field.get_db_prep_save(value, connection)
            out.append(done[key])
        except TypeError:  # unhashable (a JSON value): prepared as it comes
            out.append(field.get_db_prep_save(value, connection))
    return out


def _notify(pairs: list[tuple[int, NoticeItem]], *, kind: str, email: bool) -> None:
    """One notification per recipient. A notice reads the same to everyone who shares a
    language (the templates do not name their reader), so each is rendered once per language:
    the two members of a pair usually share one, and rendering is most of a sweep's work."""
    columns: dict[str, list[Any]] = {
        name: []
        for name in ("notice", "recipient", "language", "title", "body", "link", "email_pending")
    }
    render = NoticeRenderer(kind)
    for notice_id, item in pairs:
        rendered: dict[str, tuple[str, str]] = {}
        for recipient in {r.pk: r for r in item.recipients}.values():
            language = recipient_language(recipient)
            if language not in rendered:
                rendered[language] = render(language, item.context)
            title, body = rendered[language]
            columns["notice"].append(notice_id)
            columns["recipient"].append(recipient.pk)
            columns["language"].append(language)
            columns["title"].append(title)
            columns["body"].append(body)
            columns["link"].append(item.link)
            columns["email_pending"].append(email and bool(recipient.email))
    count = len(columns["notice"])
    now = timezone.now()
    for start in range(0, count, INSERT_BATCH):
        chunk = {name: values[start : start + INSERT_BATCH] for name, values in columns.items()}
        _insert(
            Notification,
            chunk,
            same={"created_at": now, "read_at": None, "emailed_at": None},
            conflict=("notice", "recipient"),
        )
    if any(columns["email_pending"]):
        from .tasks import send_pending_emails

        enqueue_on_commit(send_pending_emails)


@transaction.atomic
def break_glass_notice_send(*, day: date, created_by: str) -> Notice | None:
    """Tell the supervisors of one local day's break-the-glass reads (access-log entries that
    carry a reason): how many, by whom, with a link to them in the access log. Once per day,
    the notice's subject being the date; nothing for a day without any. Names no neighbor:
    the reasons and the cases are behind the link."""
    from .selectors import supervisors

    subject_key = f"break-glass:{day.isoformat()}"
    if Notice.objects.filter(kind=Notice.Kind.BREAK_GLASS, subject_key=subject_key).exists():
        return None
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    reads = AccessLog.objects.filter(at__gte=start, at__lt=end).exclude(reason="")
    by_reader = list(reads.values("user_id").annotate(n=Count("id")).order_by("-n", "user_id"))
    if not by_reader:
        return None
    people = User.objects.in_bulk([row["user_id"] for row in by_reader if row["user_id"]])
    readers = []
    for row in by_reader:
        person = people.get(row["user_id"])
        name = (person.get_full_name() or person.get_username()) if person else "—"
        readers.append({"name": name, "count": row["n"]})
    context = {
        "day": day,
        "count": sum(row["n"] for row in by_reader),
        "cases": reads.values("case_id").distinct().count(),
        "readers": readers,
    }
    return notice_send(
        kind=Notice.Kind.BREAK_GLASS,
        subject_key=subject_key,
        recipients=supervisors(),
        context=context,
        created_by=created_by,
        link=f"/access-log/?break_glass=true&from={day.isoformat()}&to={day.isoformat()}",
    )
