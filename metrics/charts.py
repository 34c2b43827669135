"""The dashboard's charts, laid out here and drawn by templates/metrics/chart.html as inline
SVG: served by the app itself (no CDN, no script), with SVG presentation attributes only, so
the Content Security Policy (no inline style) holds and a screenshot shows them as they are.

Each builder takes numbers the selectors already counted and returns a `Chart` whose shapes
carry their coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext

from heart_cases.models import Program
from referrals.models import ReasonCode

WIDTH = 600
HEIGHT = 290
LEFT, RIGHT, TOP, BOTTOM = 60, 14, 16, 46
PROGRAM_COLORS = {"CCD": "#0072B2", "CRT": "#E69F00", "COR": "#009E73"}
INK = "#333333"
GRID = "#dddddd"


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Line:
    points: str
    stroke: str
    dashed: bool = False


@dataclass
class Dot:
    x: float
    y: float
    fill: str
    title: str


@dataclass
class Tick:
    """A grid line across the plot at `y`, labelled left of it."""

    y: float
    label: str
    x1: float
    x2: float

    @property
    def label_x(self) -> float:
        return self.x1 - 6


@dataclass
class LegendItem:
    label: str
    color: str


@dataclass
class DataTable:
    """The chart's numbers as a table: its text alternative, which a screen reader can reach
    and a person can read when the colours or the shapes are hard to tell apart."""

    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Chart:
    key: str
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    empty_message: str = ""
    table: DataTable = field(default_factory=DataTable)
    plot_left: float = LEFT
    plot_right: float = WIDTH - RIGHT
    plot_bottom: float = HEIGHT - BOTTOM

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def middle_x(self) -> float:
        return self.width / 2

    @property
    def middle_y(self) -> float:
        return (TOP + self.plot_bottom) / 2


def nice_ceiling(value: float) -> float:
    """The top of a count axis: four equal round steps reaching at least `value` (whole-number
    steps for small counts)."""
    if value <= 0:
        return 4
    raw = value / 4
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if power >= 10 else (1, 2, 3, 4, 5, 6, 8, 10)
    step = next(s * power for s in steps if s * power >= raw)
    return max(step, 1) * 4


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _week_label(week: date) -> str:
    return date_format(week, "M j")


def _y_axis(chart: Chart, top_value: float, *, percent: bool = False) -> None:
    plot_height = chart.plot_bottom - TOP
    for k in range(5):
        value = top_value * k / 4
        y = chart.plot_bottom - plot_height * k / 4
        label = f"{value:.0%}" if percent else _number(value)
        chart.ticks.append(Tick(round(y, 1), label, chart.plot_left, chart.plot_right))


def _x_labels(chart: Chart, weeks: list[date], slot: float) -> None:
    every = max(1, math.ceil(len(weeks) / 8))
    for index, week in enumerate(weeks):
        if index % every == 0:
            x = chart.plot_left + slot * (index + 0.5)
            chart.texts.append(
                Text(x=round(x, 1), y=chart.plot_bottom + 22, text=_week_label(week))
            )


def responses_by_program(weeks: list[dict[str, Any]]) -> Chart:
    chart = Chart(
        key="responses",
        title=gettext("Field responses per week, by program"),
        description=gettext(
            "Stacked bars: CCD, CRT and COR field responses in each week (Monday start)."
        ),
        legend=[
            LegendItem(f"{code} {label}", PROGRAM_COLORS[code]) for code, label in Program.choices
        ],
    )
    if not weeks or not any(week["total"] for week in weeks):
        chart.empty_message = gettext("No field responses in this period.")
    top = nice_ceiling(max((week["total"] for week in weeks), default=0))
    slot = (chart.plot_right - chart.plot_left) / max(len(weeks), 1)
    scale = (chart.plot_bottom - TOP) / top
    for index, week in enumerate(weeks):
        y = chart.plot_bottom
        for code, _label in Program.choices:
            count = week["by_program"][code]
            if not count:
                continue
            height = count * scale
            y -= height
            chart.rects.append(
                Rect(
                    x=round(chart.plot_left + slot * index + slot * 0.15, 1),
                    y=round(y, 1),
                    width=round(slot * 0.7, 1),
                    height=round(height, 1),
                    fill=PROGRAM_COLORS[code],
                    title=gettext("Week of %(week)s: %(count)s %(program)s")
                    % {
                        "week": _week_label(week["week_start"]),
                        "count": f"{count:,}",
                        "program": code,
                    },
                )
            )
    _y_axis(chart, top)
    _x_labels(chart, [week["week_start"] for week in weeks], slot)
    codes = [code for code, _label in Program.choices]
    chart.table = DataTable(
        [gettext("Week of"), *codes, gettext("Total")],
        [
            [
                _week_label(week["week_start"]),
                *(f"{week['by_program'][code]:,}" for code in codes),
                f"{week['total']:,}",
            ]
            for week in weeks
        ],
    )
    return chart


def _line_series(
    chart: Chart,
    weeks: list[date],
    values: list[float | None],
    *,
    top: float,
    color: str,
    dashed: bool = False,
    label: str,
    percent: bool = False,
) -> None:
    """A line through the weeks that have a value; a week without one breaks the line."""
    slot = (chart.plot_right - chart.plot_left) / max(len(weeks), 1)
    scale = (chart.plot_bottom - TOP) / top
    segment: list[str] = []
    for index, (week, value) in enumerate(zip(weeks, values, strict=True)):
        if value is None:
            if len(segment) > 1:
                chart.lines.append(Line(" ".join(segment), color, dashed))
            segment = []
            continue
        x = round(chart.plot_left + slot * (index + 0.5), 1)
        y = round(chart.plot_bottom - value * scale, 1)
        segment.append(f"{x},{y}")
        shown = f"{value:.0%}" if percent else _number(value)
        title = gettext("Week of %(week)s: %(series)s %(value)s") % {
            "week": _week_label(week),
            "series": label,
            "value": shown,
        }
        chart.dots.append(Dot(x, y, color, title))
    if len(segment) > 1:
        chart.lines.append(Line(" ".join(segment), color, dashed))


def follow_up_rate(weeks: list[dict[str, Any]]) -> Chart:
    chart = Chart(
        key="follow-ups",
        title=gettext("48-hour follow-up, per week the follow-ups fell due"),
        description=(
            gettext(
                "Lines: share of follow-ups with a successful contact within 48 hours, and with a "
                "first contact attempt within 48 hours. Weeks with no follow-up due have no point."
            )
        ),
        legend=[
            LegendItem(gettext("Successful contact within 48 h"), "#0072B2"),
            LegendItem(gettext("First attempt within 48 h"), "#CC79A7"),
        ],
    )
    if not any(week["due"] for week in weeks):
        chart.empty_message = gettext("No follow-ups fell due in this period.")
    days = [week["week_start"] for week in weeks]
    met = [week["met_within_48h"] / week["due"] if week["due"] else None for week in weeks]
    tried = [
        week["first_attempt_within_48h"] / week["due"] if week["due"] else None for week in weeks
    ]
    _line_series(
        chart,
        days,
        tried,
        top=1,
        color="#CC79A7",
        dashed=True,
        label=gettext("first attempt"),
        percent=True,
    )
    _line_series(chart, days, met, top=1, color="#0072B2", label=gettext("contacted"), percent=True)
    _y_axis(chart, 1, percent=True)
    _x_labels(chart, days, (chart.plot_right - chart.plot_left) / max(len(days), 1))
    chart.table = DataTable(
        [
            gettext("Week of"),
            gettext("Due"),
            gettext("Successful contact within 48 h"),
            gettext("First attempt within 48 h"),
        ],
        [
            [
                _week_label(week["week_start"]),
                f"{week['due']:,}",
                f"{met_rate:.0%}" if met_rate is not None else "—",
                f"{tried_rate:.0%}" if tried_rate is not None else "—",
            ]
            for week, met_rate, tried_rate in zip(weeks, met, tried, strict=True)
        ],
    )
    return chart


def referrals_per_week(weeks: list[dict[str, Any]]) -> Chart:
    chart = Chart(
        key="referrals-weekly",
        title=gettext("Referrals per week they were made"),
        description=gettext(
            "Lines: referrals made each week, and how many of them were accepted and "
            "completed (handoff confirmed) so far."
        ),
        legend=[
            LegendItem(gettext("Made"), "#56B4E9"),
            LegendItem(pgettext("chart", "Accepted"), "#E69F00"),
            LegendItem(gettext("Completed"), "#009E73"),
        ],
    )
    if not any(week["made"] for week in weeks):
        chart.empty_message = gettext("No referrals were made in this period.")
    days = [week["week_start"] for week in weeks]
    top = nice_ceiling(max((week["made"] for week in weeks), default=0))
    keys = ("made", "accepted", "completed")
    for key, color in zip(keys, ("#56B4E9", "#E69F00", "#009E73"), strict=True):
        _line_series(
            chart, days, [float(week[key]) for week in weeks], top=top, color=color, label=key
        )
    _y_axis(chart, top)
    _x_labels(chart, days, (chart.plot_right - chart.plot_left) / max(len(days), 1))
    chart.table = DataTable(
        [gettext("Week of"), gettext("Made"), pgettext("chart", "Accepted"), gettext("Completed")],
        [[_week_label(week["week_start"]), *(f"{week[key]:,}" for key in keys)] for week in weeks],
    )
    return chart


def _horizontal(chart: Chart, rows: list[tuple[str, int, str]], *, columns: list[str]) -> None:
    """Bars from the left, one per row, labelled on the left and with the count at the end."""
    chart.table = DataTable(columns, [[label, f"{count:,}"] for label, count, _ in rows])
    # Room for the longest label (about 8 px a character at the chart's 15 px font).
    longest = max((len(label) for label, _, _ in rows), default=0)
    chart.plot_left = min(320, max(140, 24 + 8 * longest))
    band = (chart.plot_bottom - TOP) / max(len(rows), 1)
    top = nice_ceiling(max((count for _, count, _ in rows), default=0))
    width = chart.plot_right - chart.plot_left - 60
    for index, (label, count, color) in enumerate(rows):
        y = TOP + band * index
        bar_height = min(band * 0.7, 34)
        middle = y + band / 2
        chart.texts.append(
            Text(x=chart.plot_left - 8, y=round(middle + 4, 1), text=label, anchor="end")
        )
        length = width * count / top
        chart.rects.append(
            Rect(
                x=chart.plot_left,
                y=round(middle - bar_height / 2, 1),
                width=round(max(length, 1 if count else 0), 1),
                height=round(bar_height, 1),
                fill=color,
                title=f"{label}: {count:,}",
            )
        )
        chart.texts.append(
            Text(
                x=round(chart.plot_left + length + 6, 1),
                y=round(middle + 4, 1),
                text=f"{count:,}",
                anchor="start",
            )
        )


def referral_funnel(referrals: dict[str, Any]) -> Chart:
    chart = Chart(
        key="funnel",
        title=gettext("Referral funnel"),
        description=gettext(
            "Referrals made in the period, and how many of them the provider "
            "acknowledged, accepted, and completed (handoff confirmed)."
        ),
    )
    if not referrals["made"]:
        chart.empty_message = gettext("No referrals were made in this period.")
    _horizontal(
        chart,
        [
            (gettext("Made"), referrals["made"], "#56B4E9"),
            (gettext("Acknowledged"), referrals["acknowledged"], "#3a9ad9"),
            (pgettext("chart", "Accepted"), referrals["accepted"], "#E69F00"),
            (gettext("Completed (handoff)"), referrals["completed"], "#009E73"),
        ],
        columns=[gettext("Stage"), gettext("Referrals")],
    )
    return chart


def decline_reasons(referrals: dict[str, Any]) -> Chart:
    labels = dict(ReasonCode.choices)
    rows = sorted(
        (
            (str(labels[code]), count, "#D55E00")
            for code, count in referrals["decline_reasons"].items()
            if count
        ),
        key=lambda row: -row[1],
    )
    chart = Chart(
        key="declines",
        title=gettext("Why providers declined referrals"),
        description=gettext("Declined referrals of the period by the provider's reason code."),
    )
    if not rows:
        chart.empty_message = gettext("No referral was declined in this period.")
    _horizontal(chart, rows, columns=[gettext("Reason"), gettext("Declined referrals")])
    return chart


def repeat_neighbors(counts: dict[str, int]) -> Chart:
    chart = Chart(
        key="repeat",
        title=gettext("Neighbors by field responses in the period"),
        description=gettext(
            "How many neighbors had one, two, three or four, and five or more field "
            "responses in the period. The program exists to reduce the repeats."
        ),
    )
    buckets = [
        (gettext("1 response"), counts["one"], "#56B4E9"),
        (gettext("2 responses"), counts["two"], "#E69F00"),
        (gettext("3–4 responses"), counts["three_to_four"], "#D55E00"),
        (gettext("5 or more"), counts["five_plus"], "#CC79A7"),
    ]
    if not any(count for _, count, _ in buckets):
        chart.empty_message = gettext("No neighbors were served in this period.")
    top = nice_ceiling(max(count for _, count, _ in buckets))
    slot = (chart.plot_right - chart.plot_left) / len(buckets)
    scale = (chart.plot_bottom - TOP) / top
    for index, (label, count, color) in enumerate(buckets):
        height = count * scale
        x = chart.plot_left + slot * index + slot * 0.2
        chart.rects.append(
            Rect(
                x=round(x, 1),
                y=round(chart.plot_bottom - height, 1),
                width=round(slot * 0.6, 1),
                height=round(height, 1),
                fill=color,
                title=gettext("%(bucket)s: %(count)s neighbors")
                % {"bucket": label, "count": f"{count:,}"},
            )
        )
        chart.texts.append(
            Text(
                x=round(chart.plot_left + slot * (index + 0.5), 1),
                y=round(chart.plot_bottom - height - 6, 1),
                text=f"{count:,}",
            )
        )
        chart.texts.append(
            Text(
                x=round(chart.plot_left + slot * (index + 0.5), 1),
                y=chart.plot_bottom + 22,
                text=label,
            )
        )
    _y_axis(chart, top)
    chart.table = DataTable(
        [gettext("Field responses"), gettext("Neighbors")],
        [[label, f"{count:,}"] for label, count, _ in buckets],
    )
    return chart


# ColorBrewer's "Blues" (sequential, colour-blind safe) for the heat maps' five levels, and a
# grey for an hour with no calls at all.
HEAT = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
NO_CALLS = "#f0f0f0"
HEAT_ROW = 26


def _heat_map(
    chart: Chart,
    cells: list[dict[str, Any]],
    value: Any,
    levels: list[tuple[str, Any]],
    cell_text: Any,
) -> None:
    """7 rows (Monday first) of 24 hours. `value(cell)` is None for an hour with no calls,
    else a number that `levels` (label, upper bound) sorts into one of the five colours;
    `cell_text(cell)` is what the hour's tooltip and table cell say."""
    chart.plot_left = 56
    chart.plot_bottom = TOP + 7 * HEAT_ROW
    chart.height = int(chart.plot_bottom + 40)
    width = (chart.plot_right - chart.plot_left) / 24
    table_rows: list[list[str]] = []
    for weekday in range(7):
        name = str(WEEKDAYS_ABBR[weekday])
        y = TOP + weekday * HEAT_ROW
        chart.texts.append(Text(x=chart.plot_left - 8, y=y + 18, text=name, anchor="end"))
        row = [name]
        for hour in range(24):
            cell = cells[weekday * 24 + hour]
            number = value(cell)
            if number is None:
                fill = NO_CALLS
            else:
                fill = HEAT[next(k for k, (_l, top) in enumerate(levels) if number <= top)]
            text = cell_text(cell)
            chart.rects.append(
                Rect(
                    x=round(chart.plot_left + hour * width, 1),
                    y=y,
                    width=round(width, 1),
                    height=HEAT_ROW,
                    fill=fill,
                    title=f"{name} {hour:02d}:00: {text}",
                )
            )
            row.append(text)
        table_rows.append(row)
    for hour in range(0, 24, 3):
        chart.texts.append(
            Text(
                x=round(chart.plot_left + (hour + 0.5) * width, 1),
                y=chart.plot_bottom + 20,
                text=f"{hour:02d}",
            )
        )
    chart.legend = [LegendItem(gettext("No calls"), NO_CALLS)] + [
        LegendItem(label, HEAT[k]) for k, (label, _top) in enumerate(levels)
    ]
    chart.table = DataTable([gettext("Day"), *(f"{h:02d}" for h in range(24))], table_rows)


def calls_by_hour_of_week(eligible: dict[str, Any]) -> Chart:
    chart = Chart(
        key="calls-heat",
        title=gettext("Eligible calls by hour of the week"),
        description=gettext(
            "Every call the 911 center flagged as eligible for a HEART program, by the local "
            "day and hour it came in, whether or not a HEART unit was on duty: the demand."
        ),
    )
    cells = eligible["by_hour_of_week"]
    most = max((cell["total"] for cell in cells), default=0)
    if not most:
        chart.empty_message = gettext("No eligible calls in this period.")
    step = max(1, math.ceil(most / 5))
    levels = [
        (f"{_number(k * step + 1)}–{_number((k + 1) * step)}", (k + 1) * step) for k in range(5)
    ]
    _heat_map(
        chart,
        cells,
        lambda cell: cell["total"] or None,
        levels,
        lambda cell: f"{cell['total']:,}",
    )
    return chart


def answered_by_hour_of_week(eligible: dict[str, Any]) -> Chart:
    chart = Chart(
        key="answered-heat",
        title=gettext("Share of eligible calls HEART responded to, by hour of the week"),
        description=gettext(
            "Of the eligible calls of each local day and hour, the share a HEART unit "
            "responded to. Pale hours with many calls are the demand outside service."
        ),
    )
    cells = eligible["by_hour_of_week"]
    if not any(cell["total"] for cell in cells):
        chart.empty_message = gettext("No eligible calls in this period.")
    levels = [
        ("0–19%", 0.2 - 1e-9),
        ("20–39%", 0.4 - 1e-9),
        ("40–59%", 0.6 - 1e-9),
        ("60–79%", 0.8 - 1e-9),
        ("80–100%", 1.0),
    ]

    def share(cell: dict[str, Any]) -> float | None:
        return cell["responded_to"] / cell["total"] if cell["total"] else None

    def text(cell: dict[str, Any]) -> str:
        if not cell["total"]:
            return "—"
        part, whole = cell["responded_to"], cell["total"]
        return f"{part / whole:.0%} ({part:,}/{whole:,})"

    _heat_map(chart, cells, share, levels, text)
    return chart


def why_not_answered(eligible: dict[str, Any]) -> Chart:
    chart = Chart(
        key="not-answered",
        title=gettext("Eligible calls: responded to, and why not the rest"),
        description=gettext(
            "Eligible calls of the period that HEART responded to, and the others by the "
            "reason the 911 center reported."
        ),
    )
    if not eligible["total"]:
        chart.empty_message = gettext("No eligible calls in this period.")
    # Imported here: the calls app's labels, translated where the chart is drawn.
    from calls.models import Outcome

    labels = dict(Outcome.choices)
    rows = [(str(labels["heart_responded"]), eligible["responded_to"], "#009E73")]
    colors = {
        "heart_unavailable": "#D55E00",
        "outside_hours": "#0072B2",
        "outside_service_area": "#56B4E9",
        "other_responder": "#CC79A7",
        "cancelled": "#999999",
    }
    rows += [
        (str(labels[outcome]), count, colors[outcome])
        for outcome, count in eligible["not_responded"].items()
    ]
    _horizontal(chart, rows, columns=[gettext("Outcome"), gettext("Eligible calls")])
    return chart


def dashboard_charts(metrics: dict[str, Any]) -> list[Chart]:
    return [
        calls_by_hour_of_week(metrics["eligible_calls"]),
        answered_by_hour_of_week(metrics["eligible_calls"]),
        why_not_answered(metrics["eligible_calls"]),
        responses_by_program(metrics["field_responses"]["by_week"]),
        follow_up_rate(metrics["follow_ups"]["by_week"]),
        referral_funnel(metrics["referrals"]),
        referrals_per_week(metrics["referrals"]["by_week"]),
        decline_reasons(metrics["referrals"]),
        repeat_neighbors(metrics["neighbors_by_response_count"]),
    ]
