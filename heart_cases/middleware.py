from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID if sane) for logs and the access log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class BodySizeLimitMiddleware:
    """Answer 413 before reading a body over the limit (API.md: 1 MiB)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": gettext("Content-Length is not a number.")}, status=400)
        if length > settings.HEART_MAX_BODY_BYTES:
            return JsonResponse(
                {
                    "detail": gettext("The body is over %(limit)s bytes.")
                    % {"limit": settings.HEART_MAX_BODY_BYTES}
                },
                status=413,
            )
        return self.get_response(request)


def client_address(request: HttpRequest) -> str | None:
    """The real client address. Directly, REMOTE_ADDR; behind HEART_TRUSTED_PROXY_COUNT
    proxies, the address the outermost trusted proxy saw (X-Forwarded-For read from the
    right, so a client cannot forge it by sending the header itself)."""
    proxies = settings.HEART_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class DatabaseUnavailableMiddleware:
    """Pages answer 503 (retry later) rather than 500 when the database connection is lost."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            return HttpResponse(
                gettext(
                    "The database is unavailable right now; nothing was saved. Try again shortly."
                ),
                status=503,
                content_type="text/plain; charset=utf-8",
                headers={"Retry-After": "5"},
            )
        return None


class HealthCheckMiddleware:
    """Answer /healthz before anything reads the Host header or redirects to HTTPS: a health
    check on loopback or from a load balancer speaks plain HTTP to the address it knows
    (Host: 127.0.0.1), not to the public name in ALLOWED_HOSTS. Its answer names no host."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            from .health import healthz

            return healthz(request)
        return self.get_response(request)
