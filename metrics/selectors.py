"""Reads for the metrics API, the dashboard and the monthly report: aggregate queries only.

Every number is counted by the database (SUM over the day counts, COUNT … FILTER over the
facts, GROUP BY week) from the read model of metrics.models, and, for referrals, from their own
table. The read model is refreshed first where the read may write, so that it matches the
committed data; elsewhere (a read replica) it is read as the beat task last left it, and the
answer says when that was and how many changes wait (`facts_as_of`, `pending_changes`).
Python only adds up what the database counted (weekly cells into totals, demographic
combinations into breakdowns) and divides. METRICS.md defines each metric.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext

from calls.models import Outcome as CallOutcome
from heart_cases.models import Debrief, Program
from referrals.models import ReasonCode, Referral

from . import facts
from .models import (
    CallDay,
    CaseDay,
    DemographicProfile,
    FollowUpDay,
    FollowUpFact,
    ResponseDay,
    ResponseFact,
    ResponseMinuteDay,
)

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
# A year, leap day included: the dashboard's longest view, and what the benchmark measures.
MAX_DAYS = 366
# De-identification: a count of neighbors below this is not shown (METRICS.md).
SMALL_CELL = 5
PROGRAMS = [code for code, _label in Program.choices]
ACCEPTED_AT_SOME_POINT = (
    Referral.Status.ACCEPTED,
    Referral.Status.IN_PROGRESS,
    Referral.Status.ON_HOLD,
    Referral.Status.COMPLETED,
    Referral.Status.FAILED,
)


class PeriodInvalid(Exception):
    """Bad dates; `errors` names each bad field (HTTP 400)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Period:
    """Local dates from `start` to `end`, both included, in the program's time zone."""

    start: date
    end: date

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(settings.TIME_ZONE)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=self.zone)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the period: midnight starting the day after `end`."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def weeks(self) -> list[date]:
        """The Mondays of the weeks the period touches."""
        monday = self.start - timedelta(days=self.start.weekday())
        return [monday + timedelta(weeks=k) for k in range((self.end - monday).days // 7 + 1)]

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of each calendar month the period touches."""
        found = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            found.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found


def period_check(start: date, end: date) -> Period:
    errors: dict[str, list[str]] = {}
    for name, day in (("start", start), ("end", end)):
        if not EARLIEST <= day <= LATEST:
            errors[name] = [
                gettext("A date from %(first)s to %(last)s.") % {"first": EARLIEST, "last": LATEST}
            ]
    if errors:
        raise PeriodInvalid(errors)
    if end < start:
        raise PeriodInvalid(
            {
                "start": [gettext("The start is after the end.")],
                "end": [gettext("The end is before the start.")],
            }
        )
    if (end - start).days + 1 > MAX_DAYS:
        message = gettext("At most %(days)s days (a year); ask for a longer span year by year.") % {
            "days": MAX_DAYS
        }
        raise PeriodInvalid({"start": [message], "end": [message]})
    return Period(start, end)


def month_period(year: int, month: int) -> Period:
    if not (EARLIEST.year <= year <= LATEST.year and 1 <= month <= 12):
        raise PeriodInvalid({"month": [gettext("A month as YYYY-MM, from 2000-01 to 2100-12.")]})
    last = calendar.monthrange(year, month)[1]
    return Period(date(year, month, 1), date(year, month, last))


def default_period(today: date | None = None) -> Period:
    """The dashboard's first view: this week and the twelve before it."""
    today = today or timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(weeks=12), today)


class Median(Aggregate):
    """PostgreSQL's exact median (the mean of the two middle values for an even count)."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


# --- the metrics ------------------------------------------------------------------------------


def program_metrics(*, period: Period, now: datetime | None = None) -> dict[str, Any]:
    """Every metric of METRICS.md for the period, as API.md's `GET /api/v1/metrics/` gives it."""
    now = now or timezone.now()
    facts.refresh_before_read()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # These aggregates run in well under a second; compiling them costs more.
                cursor.execute("SET LOCAL jit = off")
                # Room to group a year in memory rather than sort it on disk.
                cursor.execute("SET LOCAL work_mem = '32MB'")
        # Read before the aggregates: a refresh committing meanwhile can only make the numbers
        # newer than this says, never older.
        freshness = facts.freshness()
        responses = _responses(period)
        demographics = _demographics(period)
        follow_ups = _follow_ups(period, now)
        median, measured = _median_hours_to_first_attempt(period, now)
        referrals = _referrals(period)
        calls = _eligible_calls(period)
        response_time = _response_time(period)
        # By the response's own time, like the field responses they come from.
        debriefs = Debrief.objects.filter(
            field_response__responded_at__gte=period.starts_at,
            field_response__responded_at__lt=period.ends_at,
        ).count()
        cases_opened = CaseDay.objects.filter(
            opened_on__range=(period.start, period.end)
        ).aggregate(n=Sum("cases"))["n"]
    safety = responses.pop("safety")
    served = responses.pop("served")
    return {
        "period": {
            "start": period.start,
            "end": period.end,
            "time_zone": settings.TIME_ZONE,
            "computed_at": now,
        },
        "facts_as_of": freshness.as_of,
        "pending_changes": freshness.pending_changes,
        "field_responses": responses["field_responses"],
        "eligible_calls": {
            **calls["eligible_calls"],
            "incidents_with_field_responses": responses["incidents_with_field_responses"],
        },
        "response_time": response_time,
        "diverted_from_police": calls["diverted_from_police"],
        "debriefs_requested": debriefs,
        "transported": responses["transported"],
        "transport_rate": _rate(responses["transported"], responses["field_responses"]["total"]),
        "cases_opened": cases_opened or 0,
        "follow_ups": follow_ups,
        "referrals": referrals,
        "responder_felt_safe_rate": _rate(safety["felt_safe"], safety["answered"]),
        "responder_safety": safety,
        "neighbors_served": served["one_or_more"],
        "repeat_neighbors": served["two_or_more"],
        "repeat_neighbors_5_plus": served["five_or_more"],
        "neighbors_by_response_count": {
            "one": served["one_or_more"] - served["two_or_more"],
            "two": served["two_or_more"] - served["three_or_more"],
            "three_to_four": served["three_or_more"] - served["five_or_more"],
            "five_plus": served["five_or_more"],
        },
        "median_hours_to_first_contact": None if median is None else round(median, 2),
        "follow_ups_with_an_attempt": measured,
        "demographics": demographics,
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _nth_response_in_period(n: int, start: date) -> Q:
    """A neighbor's n-th field response of the period: n-1 earlier ones on or after `start`,
    and no n-th earlier one (or it came before `start`)."""
    none_before = Q(**{f"prev{n}__isnull": True}) | Q(**{f"prev{n}__lt": start})
    if n == 1:
        return none_before
    return Q(**{f"prev{n - 1}__gte": start}) & none_before


def _week_of(field: str) -> Cast:
    return Cast(TruncWeek(field), DateField())


def _responses(period: Period) -> dict[str, Any]:
    """Counts by week and program, added up from the days; then the neighbors' n-th responses
    of the period, counted over the responses whose neighbor had one before in the period."""
    cells = (
        ResponseDay.objects.filter(local_date__range=(period.start, period.end))
        .values("program", week=_week_of("local_date"))
        .annotate(
            n_responses=Sum("responses"),
            n_transported=Sum("transported"),
            n_felt_safe=Sum("felt_safe"),
            n_answered=Sum("safety_answered"),
            n_eligible_calls=Sum("eligible_calls"),
        )
        .order_by()
    )
    by_week: dict[date, dict[str, int]] = {
        week: dict.fromkeys(PROGRAMS, 0) for week in period.weeks()
    }
    totals: dict[str, int] = defaultdict(int)
    by_program: dict[str, int] = dict.fromkeys(PROGRAMS, 0)
    eligible_by_program: dict[str, int] = dict.fromkeys(PROGRAMS, 0)
    for cell in cells:
        row: dict[str, Any] = dict(cell)
        program = row["program"]
        by_week.setdefault(row["week"], dict.fromkeys(PROGRAMS, 0))
        by_week[row["week"]][program] = row["n_responses"]
        by_program[program] = by_program.get(program, 0) + row["n_responses"]
        eligible_by_program[program] = eligible_by_program.get(program, 0) + row["n_eligible_calls"]
        for name, value in row.items():
            if name.startswith("n_"):
                totals[name[2:]] += value
    # A response whose neighbor had an earlier one in the period is a repeat; the rest are
    # each neighbor's first of the period.
    again = ResponseFact.objects.filter(prev1__gte=period.start, local_date__lte=period.end)
    repeats = again.aggregate(
        repeats=Count("pk"),
        second=Count("pk", filter=_nth_response_in_period(2, period.start)),
        third=Count("pk", filter=_nth_response_in_period(3, period.start)),
        fifth=Count("pk", filter=_nth_response_in_period(5, period.start)),
    )
    return {
        "field_responses": {
            "total": totals["responses"],
            "by_program": by_program,
            "by_week": [
                {"week_start": week, "total": sum(counts.values()), "by_program": counts}
                for week, counts in sorted(by_week.items())
            ],
        },
        "incidents_with_field_responses": {
            "total": totals["eligible_calls"],
            "by_program": eligible_by_program,
        },
        "transported": totals["transported"],
        "safety": {"felt_safe": totals["felt_safe"], "answered": totals["answered"]},
        "served": {
            "one_or_more": totals["responses"] - repeats["repeats"],
            "two_or_more": repeats["second"],
            "three_or_more": repeats["third"],
            "five_or_more": repeats["fifth"],
        },
    }


NOT_RESPONDED = [
    CallOutcome.HEART_UNAVAILABLE,
    CallOutcome.OUTSIDE_HOURS,
    CallOutcome.OUTSIDE_SERVICE_AREA,
    CallOutcome.OTHER_RESPONDER,
    CallOutcome.CANCELLED,
]


def _eligible_calls(period: Period) -> dict[str, Any]:
    """The period's eligible calls (by the local date they were received), added up from the
    call days in one read: by hour of the week, program, outcome and answer, which Python adds
    into the totals and the hour-of-week cells (a few thousand cells, whatever the period)."""
    cells = (
        CallDay.objects.filter(local_date__range=(period.start, period.end))
        .values("weekday", "hour", "program", "outcome", "responded")
        .annotate(n=Sum("calls"), seconds=Sum("responder_seconds"))
        .order_by()
    )
    total = responded = diverted = diverted_seconds = 0
    by_program = dict.fromkeys(PROGRAMS, 0)
    total_by_program = dict.fromkeys(PROGRAMS, 0)
    not_responded = {str(outcome): 0 for outcome in NOT_RESPONDED}
    hours = {(weekday, hour): [0, 0] for weekday in range(7) for hour in range(24)}
    diverting = set(settings.HEART_DIVERTED_PROGRAMS)
    for cell in cells:
        program, n = cell["program"], cell["n"]
        total += n
        total_by_program[program] = total_by_program.get(program, 0) + n
        hour = hours[(cell["weekday"], cell["hour"])]
        hour[0] += n
        if not cell["responded"]:
            not_responded[cell["outcome"]] = not_responded.get(cell["outcome"], 0) + n
            continue
        hour[1] += n
        responded += n
        by_program[program] = by_program.get(program, 0) + n
        # Answered by a program that sends no officer, and no other department went.
        if program in diverting and cell["outcome"] != CallOutcome.OTHER_RESPONDER:
            diverted += n
            diverted_seconds += cell["seconds"]
    return {
        "eligible_calls": {
            "total": total,
            "responded_to": responded,
            "response_rate": _rate(responded, total),
            "not_responded": not_responded,
            "by_program": by_program,
            "total_by_program": total_by_program,
            "by_hour_of_week": [
                {"weekday": weekday, "hour": hour, "total": counts[0], "responded_to": counts[1]}
                for (weekday, hour), counts in hours.items()
            ],
        },
        "diverted_from_police": {
            "calls": diverted,
            "responder_hours": round(diverted_seconds / 3600, 2),
            "programs": sorted(diverting),
        },
    }


def _response_time(period: Period) -> dict[str, Any]:
    """Median and 90th percentile of the whole minutes from call to arrival, read exactly from
    the period's histogram (percentile_cont's interpolation between the two nearest values)."""
    histogram: dict[str, dict[int, int]] = {program: {} for program in PROGRAMS}
    overall: dict[int, int] = defaultdict(int)
    for row in (
        ResponseMinuteDay.objects.filter(local_date__range=(period.start, period.end))
        .values("program", "minutes")
        .annotate(n=Sum("calls"))
        .order_by()
    ):
        if row["n"]:
            histogram.setdefault(row["program"], {})[row["minutes"]] = row["n"]
            overall[row["minutes"]] += row["n"]

    def summary(counts: dict[int, int]) -> dict[str, Any]:
        return {
            "median_minutes": percentile(counts, 0.5),
            "p90_minutes": percentile(counts, 0.9),
            "calls": sum(counts.values()),
        }

    return {
        **summary(overall),
        "by_program": {program: summary(counts) for program, counts in histogram.items()},
    }


def percentile(counts: dict[int, int], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont(fraction) of the values that `counts` counts (value: how
    many times), rounded to two decimals; None for none."""
    n = sum(counts.values())
    if n == 0:
        return None
    position = fraction * (n - 1)
    low = int(position)
    values = sorted(counts.items())

    def value_at(index: int) -> int:
        seen = 0
        for value, count in values:
            seen += count
            if index < seen:
                return value
        return values[-1][0]

    below = value_at(low)
    share = position - low
    above = value_at(low + 1) if share else below
    return round(below + share * (above - below), 2)


def _follow_ups(period: Period, now: datetime) -> dict[str, Any]:
    """Days before today add up from the days; on today and later some deadlines are still
    ahead, so those days are counted from the follow-ups themselves."""
    today = timezone.localdate(now)
    settled = (
        FollowUpDay.objects.filter(
            due_date__gte=period.start, due_date__lte=min(period.end, today - timedelta(days=1))
        )
        .values(week=_week_of("due_date"))
        .annotate(
            due=Sum("due"),
            attempted=Sum("attempted_in_time"),
            contacted=Sum("contacted_in_time"),
            outside=Sum("outside_service_hours"),
            by_window=Sum("contacted_by_first_window"),
            not_yet_due=Value(0),
        )
        .order_by()
    )
    fell_due = Q(deadline__lte=now)
    running = (
        FollowUpFact.objects.filter(
            due_date__gte=max(period.start, today), due_date__lte=period.end, counted=True
        )
        .values(week=F("due_week"))
        .annotate(
            due=Count("pk", filter=fell_due),
            attempted=Count("pk", filter=fell_due & Q(attempted_in_time=True)),
            contacted=Count("pk", filter=fell_due & Q(contacted_in_time=True)),
            outside=Count("pk", filter=fell_due & Q(outside_service_hours=True)),
            by_window=Count("pk", filter=fell_due & Q(contacted_by_first_window=True)),
            not_yet_due=Count("pk", filter=~fell_due),
        )
        .order_by()
    )
    weeks = {week: {"due": 0, "attempted": 0, "contacted": 0} for week in period.weeks()}
    totals: dict[str, int] = defaultdict(int)
    for cell in [*settled, *running]:
        row: dict[str, Any] = dict(cell)
        for name in ("due", "attempted", "contacted"):
            weeks[row["week"]][name] += row[name]
        for name in ("due", "attempted", "contacted", "outside", "by_window", "not_yet_due"):
            totals[name] += row[name]
    return {
        "due": totals["due"],
        "met_within_48h": totals["contacted"],
        "rate": _rate(totals["contacted"], totals["due"]),
        "first_attempt_within_48h": totals["attempted"],
        "first_attempt_rate": _rate(totals["attempted"], totals["due"]),
        "not_yet_due": totals["not_yet_due"],
        "outside_service_hours": totals["outside"],
        "met_by_first_service_window": totals["by_window"],
        "first_service_window_rate": _rate(totals["by_window"], totals["due"]),
        "by_week": [
            {
                "week_start": week,
                "due": counts["due"],
                "first_attempt_within_48h": counts["attempted"],
                "met_within_48h": counts["contacted"],
                "rate": _rate(counts["contacted"], counts["due"]),
            }
            for week, counts in sorted(weeks.items())
        ],
    }


def _median_hours_to_first_attempt(period: Period, now: datetime) -> tuple[float | None, int]:
    measured = FollowUpFact.objects.filter(
        due_date__range=(period.start, period.end),
        counted=True,
        deadline__lte=now,
        hours_to_first_attempt__isnull=False,
    )
    if connection.vendor == "postgresql":
        found = measured.aggregate(
            median=Median("hours_to_first_attempt", output_field=FloatField()), n=Count("pk")
        )
        return found["median"], found["n"]
    # Elsewhere (SQLite under `make run`): the middle one or two values, read in order.
    count = measured.count()
    if count == 0:
        return None, 0
    in_order = measured.order_by("hours_to_first_attempt")
    middle = [
        value
        for value in in_order.values_list("hours_to_first_attempt", flat=True)[
            (count - 1) // 2 : count // 2 + 1
        ]
        if value is not None
    ]
    return sum(middle) / len(middle), count


def _referrals(period: Period) -> dict[str, Any]:
    """The cohort of referrals made in the period, each in its status as of now."""
    zone = period.zone
    made = Referral.objects.filter(
        requested_at__gte=period.starts_at, requested_at__lt=period.ends_at
    )
    accepted_before_cancelled = Q(
        Exists(Referral.history.filter(id=OuterRef("id"), status__in=ACCEPTED_AT_SOME_POINT)),
        status=Referral.Status.CANCELLED,
    )
    accepted = Q(status__in=ACCEPTED_AT_SOME_POINT) | accepted_before_cancelled
    cells = (
        made.values(week=Cast(TruncWeek("requested_at", tzinfo=zone), DateField()))
        .annotate(
            made=Count("pk"),
            acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
            accepted=Count("pk", filter=accepted),
            completed=Count("pk", filter=Q(status=Referral.Status.COMPLETED)),
            declined=Count("pk", filter=Q(status=Referral.Status.REJECTED)),
            cancelled=Count("pk", filter=Q(status=Referral.Status.CANCELLED)),
            open=Count("pk", filter=Q(status__in=Referral.OPEN_STATUSES)),
        )
        .order_by()
    )
    reasons = (
        made.filter(status__in=[Referral.Status.REJECTED, Referral.Status.CANCELLED])
        .values("status", "status_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    weeks = {week: {"made": 0, "accepted": 0, "completed": 0} for week in period.weeks()}
    totals: dict[str, int] = defaultdict(int)
    for cell in cells:
        weeks[cell["week"]] = {k: cell[k] for k in ("made", "accepted", "completed")}
        for name in ("made", "acknowledged", "accepted", "completed", "declined", "cancelled"):
            totals[name] += cell[name]
        totals["open"] += cell["open"]
    decline_reasons = dict.fromkeys(ReasonCode.values, 0)
    cancellation_reasons = dict.fromkeys(ReasonCode.values, 0)
    for row in reasons:
        target = (
            decline_reasons if row["status"] == Referral.Status.REJECTED else cancellation_reasons
        )
        code = row["status_reason"] if row["status_reason"] in target else ReasonCode.OTHER
        target[code] += row["n"]
    return {
        "made": totals["made"],
        "acknowledged": totals["acknowledged"],
        "accepted": totals["accepted"],
        "completed": totals["completed"],
        "completion_rate": _rate(totals["completed"], totals["made"]),
        "declined": totals["declined"],
        "decline_reasons": decline_reasons,
        "cancelled": totals["cancelled"],
        "cancellation_reasons": cancellation_reasons,
        "open": totals["open"],
        "by_week": [{"week_start": week, **counts} for week, counts in sorted(weeks.items())],
    }


# --- demographics ------------------------------------------------------------------------------

AGE_BANDS = [
    ("under_18", "Under 18", 0, 18),
    ("18_24", "18–24", 18, 25),
    ("25_34", "25–34", 25, 35),
    ("35_44", "35–44", 35, 45),
    ("45_54", "45–54", 45, 55),
    ("55_64", "55–64", 55, 65),
    ("65_plus", "65 and over", 65, None),
]
DIMENSIONS = [
    ("gender", "Gender"),
    ("race", "Race"),
    ("ethnicity", "Ethnicity"),
    ("language", "Language"),
    ("housing", "Housing"),
    ("age_band", "Age on the period's first day"),
]
NOT_RECORDED = "Not recorded"
LANGUAGES = {"en": "English", "es": "Spanish"}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _age_band(on: date) -> Case:
    """The age band on `on` of a birth date: aged at least `low` means born on or before the
    day `low` years earlier."""
    whens = [When(birth_date__isnull=True, then=Value("unknown"))]
    for key, _label, low, _high in reversed(AGE_BANDS):
        whens.append(When(birth_date__lte=_years_before(on, low), then=Value(key)))
    return Case(*whens, default=Value("unknown"), output_field=CharField())


def _demographics(period: Period) -> dict[str, Any]:
    """Neighbors served in the period (each once, at their first response of the period), by
    each dimension. One GROUP BY over the combinations; the dimensions are its margins."""
    combinations = list(
        ResponseFact.objects.filter(
            _nth_response_in_period(1, period.start),
            local_date__range=(period.start, period.end),
        )
        .values("profile_id", age=_age_band(period.start))
        .annotate(n=Count("pk"))
        .order_by()
    )
    profiles = {
        profile.pk: profile
        for profile in DemographicProfile.objects.filter(
            pk__in={row["profile_id"] for row in combinations}
        )
    }
    margins: dict[str, dict[str, int]] = {name: defaultdict(int) for name, _ in DIMENSIONS}
    for row in combinations:
        profile = profiles[row["profile_id"]]
        margins["gender"][profile.gender.strip() or NOT_RECORDED] += row["n"]
        margins["race"][profile.race.strip() or NOT_RECORDED] += row["n"]
        margins["ethnicity"][profile.ethnicity.strip() or NOT_RECORDED] += row["n"]
        language = profile.language.strip()
        margins["language"][LANGUAGES.get(language, language) or NOT_RECORDED] += row["n"]
        housing = "Unsheltered" if profile.unsheltered else "Not recorded as unsheltered"
        margins["housing"][housing] += row["n"]
        margins["age_band"][row["age"]] += row["n"]
    age_labels = {key: label for key, label, _low, _high in AGE_BANDS} | {"unknown": NOT_RECORDED}
    age_order = [key for key, *_ in AGE_BANDS] + ["unknown"]
    result: dict[str, Any] = {"suppressed_below": SMALL_CELL}
    for name, _title in DIMENSIONS:
        counts = margins[name]
        if name == "age_band":
            ordered = [(age_labels[k], counts[k]) for k in age_order if counts.get(k)]
        else:
            ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        result[name] = suppress(ordered)
    return result


def suppress(cells: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """Counts under SMALL_CELL become None. When that hides exactly one cell, the smallest other
    cell is hidden too: with the total published, one hidden cell could be worked out by
    subtraction."""
    hidden = {index for index, (_value, count) in enumerate(cells) if count < SMALL_CELL}
    if len(hidden) == 1 and len(cells) > 1:
        visible = [index for index in range(len(cells)) if index not in hidden]
        hidden.add(min(visible, key=lambda index: cells[index][1]))
    return [
        {
            "value": value,
            "neighbors": None if index in hidden else count,
            "suppressed": (
                None
                if index not in hidden
                else "under_5"
                if count < SMALL_CELL
                else "complementary"
            ),
        }
        for index, (value, count) in enumerate(cells)
    ]


def dimension_titles() -> dict[str, str]:
    return dict(DIMENSIONS)
