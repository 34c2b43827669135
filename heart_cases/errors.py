"""The answers Django gives when no view did: not found, and uncaught errors.

Under /api/ every answer is JSON (API.md), 404 and 5xx included. A database that went away is a
503 to retry, wherever it was noticed: also when the session is saved on the way out, after
every middleware that could have said so (a logged-in browser during an outage).
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext, gettext_lazy
from django.views import defaults

DATABASE_DOWN = gettext_lazy(
    "The database is unavailable right now; nothing was saved. Try again shortly."
)


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def api_not_found(request: HttpRequest) -> HttpResponse:
    """Every /api/ path that matches nothing. A GET without its trailing slash is sent on to
    the path with one, as Django's APPEND_SLASH would (this route hides the miss from it)."""
    path = request.path_info
    if not path.endswith("/") and request.method in ("GET", "HEAD"):
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(
                request.path + "/" + (f"?{query}" if query else "")
            )
    return JsonResponse(
        {"detail": gettext("No API endpoint at %(path)s.") % {"path": path}}, status=404
    )


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        if _is_api(request):
            response: HttpResponse = JsonResponse({"detail": str(DATABASE_DOWN)}, status=503)
        else:
            response = HttpResponse(
                str(DATABASE_DOWN), status=503, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = "5"
        return response
    if _is_api(request):
        return JsonResponse({"detail": gettext("Internal server error.")}, status=500)
    return defaults.server_error(request)
