"""Extension points that let `navigation` and `referrals` take part in core operations.

`heart_cases` imports neither app (DESIGN.md: apps depend one way). Instead each app registers
its part here when it is ready: navigation creates the follow-up inside the intake transaction
and contributes the pair and follow-ups to the case; referrals contributes referrals and binds
provider staff. Hooks run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

    from .models import Case, FieldResponse


@dataclass(frozen=True)
class FollowUpRef:
    id: int
    deadline: datetime
    work_by: datetime
    # No service time lay between the encounter and its deadline (DESIGN.md).
    outside_service_hours: bool = False


class FollowUpScheduler(Protocol):
    def schedule(
        self, *, actor: User, case: Case, field_response: FieldResponse, new_case: bool = False
    ) -> FollowUpRef | None: ...

    def for_field_response(self, *, field_response: FieldResponse) -> FollowUpRef | None: ...

    def retime(self, *, actor: User, field_response: FieldResponse, reason: str) -> None: ...


@dataclass(frozen=True)
class HistorySource:
    """Historical rows of one kind of object that belongs to a case."""

    label: Callable[[Any], str]  # historical row -> "follow-up #12"
    rows: Callable[[Case], Iterable[Any]]  # case -> historical rows, any order


CaseSection = Callable[["Case"], Any]
CaseFilter = Callable[["QuerySet[Case]", str], "QuerySet[Case]"]
CaseClosedHook = Callable[..., None]
# (user, provider slug, actor): ties provider staff to their organization, in history by actor.
ProviderBinder = Callable[["User", str, "User"], None]
# (navigator, cases) -> whether any of the cases is the navigator's pair's, now or before, or is
# waiting for a pair: such a case opens without a reason (break the glass, API.md).
PairAccess = Callable[["User", "QuerySet[Case]"], bool]


class _Registry:
    def __init__(self) -> None:
        self.follow_up_scheduler: FollowUpScheduler | None = None
        self.case_sections: dict[str, tuple[CaseSection, Any]] = {}
        self.case_filters: dict[str, CaseFilter] = {}
        self.history_sources: list[HistorySource] = []
        self.case_closed: list[CaseClosedHook] = []
        self.provider_binder: ProviderBinder | None = None
        self.case_page_context: list[Callable[..., dict[str, Any]]] = []
        self.pair_access: PairAccess | None = None


registry = _Registry()


def register_follow_up_scheduler(scheduler: FollowUpScheduler) -> None:
    registry.follow_up_scheduler = scheduler


def register_case_section(name: str, section: CaseSection, *, empty: Any) -> None:
    """`section(case)` fills key `name` of the case detail; `empty` when no app provides it."""
    registry.case_sections[name] = (section, empty)


def register_case_filter(name: str, case_filter: CaseFilter) -> None:
    registry.case_filters[name] = case_filter


def register_history_source(source: HistorySource) -> None:
    registry.history_sources.append(source)


def register_case_closed(hook: CaseClosedHook) -> None:
    """`hook(*, actor, case, reason)` runs inside the transaction that closes the case."""
    if hook not in registry.case_closed:
        registry.case_closed.append(hook)


def register_provider_binder(binder: ProviderBinder) -> None:
    registry.provider_binder = binder


def register_case_page_context(provider: Callable[..., dict[str, Any]]) -> None:
    """`provider(*, case, user)` adds entries to the case page's template context."""
    if provider not in registry.case_page_context:
        registry.case_page_context.append(provider)


def register_pair_access(rule: PairAccess) -> None:
    """`rule(user, cases)`: True when one of `cases` is the user's pair's (now or before) or is
    waiting for a pair. Without a rule every navigator's read of a case needs a reason."""
    registry.pair_access = rule
