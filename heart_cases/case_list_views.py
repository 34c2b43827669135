"""The staff page of every case: the API's case list filters (status, pair, program, opened
between two dates) and orders, as a form over a table, 50 cases a page."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from . import api, selectors, services
from .middleware import client_address
from .models import Case, FieldResponse, Program

_FILTER_LABELS = {
    "status": gettext_lazy("Status"),
    "pair": gettext_lazy("Pair"),
    "neighbor": gettext_lazy("Neighbor"),
    "program": gettext_lazy("Program"),
    "opened_after": gettext_lazy("Opened from"),
    "opened_before": gettext_lazy("Opened to"),
    "ordering": gettext_lazy("Sort by"),
    "cursor": gettext_lazy("Page"),
    "page_size": gettext_lazy("Page size"),
}

_ORDERING_LABELS = {
    "-opened_at": gettext_lazy("Newest opened first"),
    "opened_at": gettext_lazy("Oldest opened first"),
    "-closed_at": gettext_lazy("Latest closed first"),
    "closed_at": gettext_lazy("Earliest closed first"),
    "number": gettext_lazy("Case number, ascending"),
    "-number": gettext_lazy("Case number, descending"),
    "status": gettext_lazy("Open first, then closed"),
}


def _pair_label(pair: Any) -> str:
    def name(user: Any) -> str:
        return str(user.get_full_name() or user.get_username())

    return f"{name(pair.clinician)} & {name(pair.peer)}"


def _pair_model() -> Any:
    # Pairs belong to navigation, which heart_cases does not import (DESIGN.md): looked up by
    # name, and without navigation the page has no pair filter or column.
    if not apps.is_installed("navigation"):
        return None
    return apps.get_model("navigation", "Pair")


def _pair_choices(selected: str) -> list[tuple[str, str]]:
    pair_model = _pair_model()
    if pair_model is None:
        return []
    pairs = pair_model.objects.select_related("clinician", "peer").order_by(
        "clinician__first_name", "clinician__last_name", "clinician__username", "id"
    )
    # Active pairs, and the one chosen even if it has since been dissolved.
    shown = Q(active=True)
    if selected.isdigit() and len(selected) < 12:
        shown |= Q(pk=int(selected))
    return [(str(pair.pk), _pair_label(pair)) for pair in pairs.filter(shown)]


def _current_pairs(case_ids: list[int]) -> dict[int, str]:
    """Each case's current pair, by its members' names: one query for the page."""
    pair_model = _pair_model()
    if pair_model is None or not case_ids:
        return {}
    assignment_model = apps.get_model("navigation", "PairAssignment")
    assignments = assignment_model.objects.filter(
        case_id__in=case_ids, ended_at__isnull=True
    ).select_related("pair__clinician", "pair__peer")
    return {a.case_id: _pair_label(a.pair) for a in assignments}


def _programs(case_ids: list[int]) -> dict[int, list[str]]:
    """Each case's programs (of its field responses), by their labels: one query."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = (
        FieldResponse.objects.filter(case_id__in=case_ids)
        .values_list("case_id", "program")
        .distinct()
        .order_by("case_id", "program")
    )
    for case_id, program in rows:
        found[case_id].append(str(Program(program).label) if program in Program.values else program)
    return found


@login_required
@require_http_methods(["GET", "HEAD"])
def case_list_page(request: HttpRequest) -> HttpResponse:
    if not selectors.can_view_cases(request.user):
        raise PermissionDenied
    # The form sends every field, the unused ones empty: an empty field is no filter.
    given = request.GET.copy()
    for name in [name for name, value in given.items() if str(value).strip() == ""]:
        given.pop(name)
    query = api.CaseListQuery(data=given)
    errors: dict[str, Any] = {}
    cases: list[Case] = []
    links: dict[str, str | None] = {"next": None, "previous": None}
    try:
        query.is_valid(raise_exception=True)
        paginator = api.CaseListPagination(query.validated_data.get("ordering"))
        # The page links keep the query as sent, so each keeps the filters.
        cases = list(paginator.paginate_queryset(query.cases(request.user), Request(request)) or [])
        links = {"next": paginator.get_next_link(), "previous": paginator.get_previous_link()}
    except ValidationError as exc:
        errors = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
    ids = [case.pk for case in cases]
    if not errors:  # as the API: a refused query read nothing
        services.access_log_write(
            user=request.user,
            action="list",
            object_type="case",
            object_ids=ids,
            client_address=client_address(request),
            request_id=getattr(request, "request_id", ""),
            path=request.path,
        )
    pairs, programs = _current_pairs(ids), _programs(ids)
    filters = {name: given.get(name, "") for name in _FILTER_LABELS}
    context = {
        "rows": [
            {"case": case, "pair": pairs.get(case.pk, ""), "programs": programs.get(case.pk, [])}
            for case in cases
        ],
        "filters": filters,
        "errors": [
            (_FILTER_LABELS.get(str(name), str(name)), [str(m) for m in messages])
            for name, messages in errors.items()
        ],
        "error_fields": {str(name) for name in errors},
        "links": links,
        "statuses": Case.Status.choices,
        "programs": Program.choices,
        "pairs": _pair_choices(filters["pair"]),
        "has_pairs": _pair_model() is not None,
        "orderings": list(_ORDERING_LABELS.items()),
    }
    return render(request, "heart_cases/case_list.html", context, status=400 if errors else 200)
