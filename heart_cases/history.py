"""simple-history's HistoricalRecords, with one change: the history manager class is built
once per queryset class instead of on every access.

simple-history reads `instance.history` to find the historical model each time it writes a
history row, and its descriptor builds a new manager class from the queryset class on every
read (`Manager.from_queryset`, which walks the queryset's members with `inspect`). An intake
writes five history rows; building those classes was about a tenth of its Python time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords as _HistoricalRecords


class _BuiltOnceHistoryManager(HistoryManager):
    @classmethod
    @cache
    def from_queryset(cls, queryset_class: Any, class_name: str | None = None) -> Any:
        return super().from_queryset(queryset_class, class_name)


class HistoricalRecords(_HistoricalRecords):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("history_manager", _BuiltOnceHistoryManager)
        super().__init__(*args, **kwargs)
