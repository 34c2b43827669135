"""Server-rendered pages of the core: the case page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors, services
from .hooks import registry
from .middleware import client_address


@login_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    def log(ids: list[int], *, case_id: int | None = None, denied: bool = False) -> None:
        services.access_log_write(
            user=request.user,
            action="view",
            object_type="case",
            object_ids=ids,
            case_id=case_id,
            denied=denied,
            client_address=client_address(request),
            request_id=getattr(request, "request_id", ""),
            path=request.path,
        )

    try:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
    except Http404:
        log([case_id], denied=True)
        raise
    log([case.pk], case_id=case.pk)
    context = {
        "case": case,
        "detail": selectors.case_detail(case),
        "history": selectors.case_history(case),
    }
    for provider in registry.case_page_context:
        context.update(provider(case=case, user=request.user))
    return render(request, "heart_cases/case.html", context)


@login_required
def access_log_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("heart_cases.view_accesslog"):
        raise PermissionDenied
    filters: dict[str, int] = {}
    for name in ("case", "user"):
        raw = request.GET.get(name, "")
        if raw.isdigit():
            filters[f"{name}_id"] = int(raw)
    entries = list(selectors.access_log_for_review(**filters)[:500])
    return render(
        request, "heart_cases/access_log.html", {"entries": entries, "filters": request.GET}
    )
