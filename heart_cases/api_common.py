"""What every API module shares: error format, pagination, permissions, aware datetimes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The body is over 1 MiB."
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """API.md's error shapes: 400 {"errors": {...}} naming every bad field; else {"detail"}."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ParseError):
        return Response({"errors": {"body": [f"Malformed JSON: {exc.detail}"]}}, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, list):
            detail = {"non_field_errors": detail}
        response.data = {"errors": detail}
    return response


class Pagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return min(int(raw), self.max_page_size)


def require_perms(*perms: str) -> type[BasePermission]:
    """A DRF permission: the user holds every named Django permission (403 otherwise)."""

    class _HasPerms(BasePermission):
        message = "Your role may not do this."

        def has_permission(self, request: Request, view: APIView) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    _HasPerms.__name__ = "HasPerms_" + "_".join(p.replace(".", "_") for p in perms)
    return _HasPerms


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset; a time without one is refused rather than guessed."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset, e.g. 2026-11-20T14:05:00-05:00.",
    }

    def to_internal_value(self, value: Any) -> Any:
        result = super().to_internal_value(value)
        if isinstance(value, str) and result is not None and _is_naive_text(value):
            self.fail("naive")
        return result


def _is_naive_text(value: str) -> bool:
    from django.utils.dateparse import parse_datetime

    try:
        parsed = parse_datetime(value)
    except ValueError:
        return False
    return parsed is not None and parsed.tzinfo is None


class ErrorSerializer(serializers.Serializer):
    errors = serializers.DictField()  # type: ignore[assignment]  # the API's name for it


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
