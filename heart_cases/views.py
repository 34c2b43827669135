"""Server-rendered pages of the core: the case page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors, services
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
    detail = selectors.case_detail(case)
    return render(
        request,
        "heart_cases/case.html",
        {"case": case, "detail": detail, "history": selectors.case_history(case)},
    )
