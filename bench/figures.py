"""What a benchmark reports: figures, each beside its baseline from the same run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    key: str
    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str
    # How the ratio is computed, e.g. "value / baseline" or "baseline / value (speed-up)".
    ratio_is: str
    ratio: float | None
    goal: str
    met: bool | None
    # When the goal is missed: by how much, in words (the benchmark knows its goal's shape).
    missed_by: str = ""
    # Said beside the value, e.g. that it was projected from a rate rather than waited for.
    note: str = ""
    # How many independent runs (slices, repeats) the value is the median of.
    runs: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    """One benchmark's figures, with the measurements behind them and when it ran."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started": self.started,
            "seconds": round(self.seconds, 1),
            "figures": [figure.as_dict() for figure in self.figures],
            "details": self.details,
        }


def ratio(numerator: float, denominator: float | None) -> float | None:
    if not denominator:
        return None
    return round(numerator / denominator, 3)


def short_of(actual: float | None, target: float, what: str) -> str:
    """For an at-least goal that was missed."""
    if actual is None:
        return f"no {what} measured"
    more = f"; {target / actual - 1:.0%} more needed" if actual > 0 else ""
    return f"{what} {actual:g} is {target - actual:.2f} short of {target:g}{more}"


def over(actual: float | None, limit: float, what: str, unit: str = "") -> str:
    """For an at-most goal that was missed."""
    if actual is None:
        return f"no {what} measured"
    return (
        f"{what} {actual:g}{unit} is {actual - limit:.2f}{unit} over {limit:g}{unit} "
        f"({actual / limit:.2f}x the limit)"
    )
