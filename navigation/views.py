"""Pages for care navigators."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from heart_cases import services as case_services
from heart_cases.actors import acting_user
from heart_cases.middleware import client_address
from heart_cases.roles import role_of

from . import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The first page after login: the person's open cases (a supervisor's: every open case)."""
    cases = selectors.open_cases_for_home(acting_user(request))
    ids = [case["id"] for case in cases]
    if ids:
        case_services.access_log_write(
            user=request.user,
            action="list",
            object_type="case",
            object_ids=ids,
            client_address=client_address(request),
            request_id=getattr(request, "request_id", ""),
            path=request.path,
        )
    return render(
        request,
        "navigation/home.html",
        {"cases": cases, "role": role_of(request.user)},
    )
