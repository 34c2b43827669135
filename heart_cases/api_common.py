"""What every API module shares: error format, pagination, permissions, aware datetimes."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
from functools import cached_property
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import ProhibitSurrogateCharactersValidator
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from . import clock

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = gettext_lazy("The request conflicts with the current state.")
    default_code = "conflict"


class DatabaseUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = gettext_lazy(
        "The database is unavailable; nothing was recorded. Try again shortly."
    )
    default_code = "database_unavailable"


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = gettext_lazy("The body is over 1 MiB.")
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """API.md's error shapes: 400 {"errors": {...}} naming every bad field; else {"detail"}."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, OperationalError | InterfaceError):
        # The connection broke mid-request: the transaction rolled back, so nothing was
        # half-written. Say so with a 503 the client can retry (an intake replay is safe).
        logger.warning("Database unavailable during %s: %s", context.get("request"), exc)
        exc = DatabaseUnavailable()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(gettext_lazy("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ParseError):
        return Response({"errors": {"body": [f"Malformed JSON: {exc.detail}"]}}, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = "5"
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, list):
            detail = {"non_field_errors": detail}
        response.data = {"errors": detail}
    return response


def _bad_cursor() -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {"cursor": [gettext_lazy("Not a cursor this API gave out; follow `next` or `previous`.")]}
    )


class Pagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering: str | tuple[str, ...] = "-id"

    _model: Any = None

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        # The cursor's position is compared with the first ordering field: remember whose
        # field that is, so that a forged position is refused before it reaches a query.
        self._model = getattr(queryset, "model", None)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise _bad_cursor() from exc
        if cursor is not None and cursor.position is not None and self._model is not None:
            order = self.ordering[0] if isinstance(self.ordering, list | tuple) else self.ordering
            field = self._model._meta.get_field(order.lstrip("-"))
            if "\x00" in str(cursor.position):
                raise _bad_cursor()
            try:
                value = field.to_python(cursor.position)
                field.run_validators(value)  # an integer's range on this database
                field.get_prep_value(value)
            except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
                raise _bad_cursor() from exc
        return cursor

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise exceptions.ValidationError(
                {
                    "page_size": [
                        gettext_lazy("A whole number from 1 to %(max)s.")
                        % {"max": self.max_page_size}
                    ]
                }
            )
        return min(int(raw), self.max_page_size)


def require_perms(*perms: str) -> type[BasePermission]:
    """A DRF permission: the user holds every named Django permission (403 otherwise)."""

    class _HasPerms(BasePermission):
        message = gettext_lazy("Your role may not do this.")

        def has_permission(self, request: Request, view: APIView) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(perms))

    _HasPerms.__name__ = "HasPerms_" + "_".join(p.replace(".", "_") for p in perms)
    return _HasPerms


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset; a time without one is refused rather than guessed. The time of
    something that happened, so it lies between HEART_EARLIEST_RECORD and the server's clock
    plus HEART_CLOCK_SKEW_MINUTES (heart_cases.clock); `happened=False` for a time that may lie
    ahead (a consent's expiry)."""

    default_error_messages = {
        "naive": gettext_lazy("Give the time with its UTC offset, e.g. 2026-11-20T14:05:00-05:00."),
    }

    def __init__(self, *args: Any, happened: bool = True, **kwargs: Any) -> None:
        self.happened = happened
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value: Any) -> Any:
        parsed = _iso_datetime(value) if isinstance(value, str) else None
        if parsed is not None:
            # The usual case, parsed once (DRF's own parse, then ours to tell a naive time,
            # was a tenth of an eligible-call batch's validation); anything else takes DRF's
            # way, with its errors.
            if parsed.tzinfo is None:
                self.fail("naive")
            result = self.enforce_timezone(parsed)
        else:
            # A text ISO 8601 does not read is no naive time either: DRF's errors alone.
            result = super().to_internal_value(value)
        if result is not None and self.happened:
            problem = clock.time_out_of_range(result)
            if problem:
                raise serializers.ValidationError(problem, code="out_of_range")
        return result


def _iso_datetime(value: str) -> dt.datetime | None:
    """The time in an ISO 8601 text as DRF's ISO_8601 input format reads it, or None where DRF
    would fail or try its other formats."""
    try:
        return parse_datetime(value)
    except ValueError:
        return None


# DRF's CharField checks for surrogate characters with a Python loop over every character: a
# tenth of an eligible-call batch's validation. One regular-expression search does the same.
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NoSurrogates(ProhibitSurrogateCharactersValidator):
    def __call__(self, value: Any) -> None:
        found = _SURROGATE.search(str(value))
        if found:
            raise exceptions.ValidationError(
                self.message.format(code_point=ord(found.group())), code=self.code
            )


class TextField(serializers.CharField):
    """DRF's CharField, the same errors, its surrogate check done by one search (_NoSurrogates);
    for the fields of bodies that come a thousand at a time."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            _NoSurrogates() if type(check) is ProhibitSurrogateCharactersValidator else check
            for check in self.validators
        ]


# A serializer whose fields never change once built: the writable ones listed once, not found
# again for every body validated (DRF walks them through a generator each time). A comment,
# not a docstring: the API schema would show a docstring as each subclass's description.
class FixedFieldsSerializer(serializers.Serializer):
    @cached_property
    def _writable_fields(self) -> list[serializers.Field]:  # type: ignore[override]
        return [field for field in self.fields.values() if not field.read_only]


def page_schema(
    *, operation_id: str, name: str, item: serializers.Serializer, query: type | None = None
) -> Any:
    """The OpenAPI description of a cursor-paginated list (API.md's list shape)."""
    parameters: list[Any] = [query] if query is not None else []
    parameters += [
        OpenApiParameter("cursor", str, required=False),
        OpenApiParameter("page_size", int, required=False, description="1 to 200"),
    ]
    return extend_schema(
        operation_id=operation_id,
        parameters=parameters,
        responses={
            200: inline_serializer(
                name,
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": item,
                },
            ),
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
        },
    )


class ErrorSerializer(serializers.Serializer):
    errors = serializers.DictField()  # type: ignore[assignment]  # the API's name for it


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


def times_in_order(
    attrs: dict[str, Any], names: tuple[str, ...], errors: dict[str, list[str]]
) -> None:
    """Add to `errors` each pair of the named times, of those given, that is out of order:
    a pair names both of its fields."""
    given = [(name, attrs[name]) for name in names if attrs.get(name) is not None]
    for (earlier, earlier_at), (later, later_at) in itertools.pairwise(given):
        if earlier_at > later_at:
            errors.setdefault(earlier, []).append(
                gettext("This is after %(later)s; it cannot be.") % {"later": later}
            )
            errors.setdefault(later, []).append(
                gettext("This is before %(earlier)s; it cannot be.") % {"earlier": earlier}
            )


def call_type_eligible(attrs: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """Add to `errors` a call type not on its program's list of eligible call types."""
    from .models import ELIGIBLE_CALL_TYPES

    eligible = ELIGIBLE_CALL_TYPES.get(attrs["program"], ())
    if attrs["call_type"] not in eligible:
        errors["call_type"] = [
            gettext(
                "'%(call_type)s' is not an eligible call type for %(program)s. "
                "Eligible: %(eligible)s."
            )
            % {
                "call_type": attrs["call_type"],
                "program": attrs["program"],
                "eligible": "; ".join(eligible),
            }
        ]
