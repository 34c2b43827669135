"""API v1 for the navigator's workspace around a person (API.md, "Neighbors: find, see, link").
Thin: parse, call one function of `neighbors`, render."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from django.utils.http import urlencode
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import neighbors, selectors
from .actors import acting_user
from .api import ACCESS_REASON, ReasonRequiredError, ReasonRequiredOutput, log_access
from .api_common import Conflict, DetailSerializer, ErrorSerializer, Pagination, require_perms
from .middleware import client_address
from .models import Neighbor, PossibleDuplicate

VIEW_NEIGHBOR = "heart_cases.view_neighbor"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


# --- search ---------------------------------------------------------------------------------


class NeighborSearchQuery(serializers.Serializer):
    q = serializers.CharField(
        max_length=200,
        allow_blank=True,
        trim_whitespace=False,
        help_text=(
            "A name or alias (prefixes and one-letter typos find it), a phone number in any "
            "common format, a case number (HC-2026-000123) or a date of birth (YYYY-MM-DD); "
            "at least 2 characters."
        ),
    )
    cursor = serializers.CharField(required=False, max_length=100)
    page_size = serializers.CharField(required=False, max_length=10)

    def validate_q(self, value: str) -> neighbors.Query:
        try:
            return neighbors.search_query(value)
        except neighbors.SearchError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class OpenCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class NeighborSearchResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    phone = serializers.CharField()
    language = serializers.CharField()
    open_case = OpenCaseOutput(allow_null=True)
    cases = serializers.IntegerField()


def _offset(cursor: str | None) -> int:
    """The search's cursor: the position in its ranked answer, opaque to the client."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _bad_cursor() from exc
    if not text.startswith("o=") or not text[2:].isdigit():
        raise _bad_cursor()
    offset = int(text[2:])
    if offset > neighbors.SEARCH_MAX:
        raise _bad_cursor()
    return offset


def _bad_cursor() -> exceptions.ValidationError:
    return exceptions.ValidationError(
        {"cursor": ["Not a cursor this API gave out; follow `next` or `previous`."]}
    )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o={offset}".encode()).decode().rstrip("=")


class NeighborSearchApi(APIView):
    permission_classes = [IsAuthenticated, require_perms(VIEW_NEIGHBOR)]

    @extend_schema(
        operation_id="neighbors_search",
        parameters=[
            NeighborSearchQuery,
        ],
        responses={
            200: inline_serializer(
                "NeighborSearchPage",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": NeighborSearchResultOutput(many=True),
                },
            ),
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        query = NeighborSearchQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found: neighbors.Query = query.validated_data["q"]
        size = Pagination().get_page_size(request)
        offset = _offset(request.query_params.get("cursor"))
        ids = neighbors.search_neighbor_ids(found)
        page = ids[offset : offset + size]
        neighbors.search_log(
            user=request.user,
            query=found,
            ids=page,
            client_address=client_address(request),
            request_id=getattr(request._request, "request_id", ""),
            path=request.path,
        )

        def link(position: int | None) -> str | None:
            if position is None:
                return None
            params: dict[str, str] = {
                k: str(v) for k, v in request.query_params.items() if k != "cursor"
            }
            if position > 0:
                params["cursor"] = _cursor(position)
            return request.build_absolute_uri(f"{request.path}?{urlencode(params)}")

        return Response(
            {
                "next": link(offset + size if offset + size < len(ids) else None),
                "previous": link(max(offset - size, 0) if offset > 0 else None),
                "results": neighbors.neighbor_summaries(page),
            }
        )


# --- the record -----------------------------------------------------------------------------


class NeighborContactOutput(serializers.Serializer):
    id = serializers.IntegerField()
    neighbor = serializers.IntegerField()
    name = serializers.CharField()
    relationship = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()
    may_contact = serializers.BooleanField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)


class LinkedRecordOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    linked_at = serializers.DateTimeField(allow_null=True)
    linked_by = serializers.CharField(allow_null=True)


class NeighborCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    neighbor = serializers.IntegerField()
    status = serializers.CharField()
    outcome = serializers.CharField(allow_null=True)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class NeighborRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class NeighborDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    alias = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    phone = serializers.CharField()
    phones = serializers.ListField(child=serializers.CharField())
    language = serializers.CharField()
    unsheltered = serializers.BooleanField()
    linked_to = NeighborRefOutput(allow_null=True)
    linked_records = LinkedRecordOutput(many=True)
    contacts = NeighborContactOutput(many=True)
    cases = NeighborCaseOutput(many=True)


def neighbor_for(request: Request, neighbor_id: int) -> Neighbor:
    """The neighbor, or 404 (logged as a denied read) when there is none or the caller's role
    may not see neighbors: never say which."""
    neighbor = neighbors.neighbor_get(neighbor_id)
    if neighbor is None or not request.user.has_perm(VIEW_NEIGHBOR):
        log_access(
            request, action="view", object_type="neighbor", ids=[int(neighbor_id)], denied=True
        )
        raise exceptions.NotFound("Not found.")
    return neighbor


def neighbor_to_read(request: Request, neighbor_id: int, *, log_read: bool = True) -> Neighbor:
    """The neighbor once the caller may read the record (break the glass, as for a case), and
    the read in the access log with its reason; a read that lacks a needed reason is logged
    as denied."""
    neighbor = neighbor_for(request, neighbor_id)
    case_ids = neighbors.person_case_ids(neighbor)
    where: dict[str, Any] = {
        "client_address": client_address(request),
        "request_id": getattr(request._request, "request_id", ""),
        "path": request.path,
    }
    try:
        reason = selectors.neighbor_access_check(
            user=request.user, neighbor=neighbor, reason=request.query_params.get("access_reason")
        )
    except selectors.ReasonRequired as exc:
        neighbors.neighbor_read_log(
            user=request.user,
            neighbor_ids=[neighbor.pk],
            case_ids=case_ids,
            denied=True,
            **where,
        )
        raise ReasonRequiredError(exc.message) from exc
    except selectors.AccessReasonInvalid as exc:
        raise serializers.ValidationError({"access_reason": [str(exc)]}) from exc
    if log_read:
        neighbors.neighbor_read_log(
            user=request.user,
            neighbor_ids=[neighbor.pk, *neighbor.linked_records.values_list("pk", flat=True)],
            case_ids=case_ids,
            reason=reason,
            **where,
        )
    return neighbor


_READ_ERRORS: dict[int, Any] = {
    400: ErrorSerializer,
    401: DetailSerializer,
    403: ReasonRequiredOutput,
    404: DetailSerializer,
}


class NeighborDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="neighbors_retrieve",
        parameters=[ACCESS_REASON],
        responses={200: NeighborDetailOutput, **_READ_ERRORS},
    )
    def get(self, request: Request, neighbor_id: int) -> Response:
        neighbor = neighbor_to_read(request, neighbor_id)
        return Response(NeighborDetailOutput(neighbors.neighbor_detail(neighbor)).data)


class NeighborContactInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    relationship = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = PhoneNumberField(required=False, allow_blank=True, region="US")
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    may_contact = serializers.BooleanField(required=False, default=True)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)

    def validate_language(self, value: str) -> str:
        if value and not _LANGUAGE.match(value):
            raise serializers.ValidationError("Use a language code such as 'en' or 'es'.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("name", "relationship", "note"):
            if "\x00" in str(attrs.get(name, "")):
                raise serializers.ValidationError({name: ["Cannot hold a NUL character."]})
        return attrs

    def to_input(self) -> neighbors.ContactInput:
        data = self.validated_data
        return neighbors.ContactInput(
            name=data["name"],
            relationship=data.get("relationship", ""),
            phone=str(data["phone"]) if data.get("phone") else "",
            language=data.get("language", ""),
            may_contact=data.get("may_contact", True),
            note=data.get("note", ""),
        )


class ContactCreateApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("heart_cases.add_contact")]

    @extend_schema(
        operation_id="neighbors_contacts_create",
        request=NeighborContactInput,
        parameters=[ACCESS_REASON],
        responses={
            201: NeighborContactOutput,
            **_READ_ERRORS,
            # A role that may not add contacts, or (reason_required) another pair's neighbor.
            403: inline_serializer(
                "NeighborContactRefused",
                {
                    "detail": serializers.CharField(),
                    "reason_required": serializers.BooleanField(required=False),
                },
            ),
        },
    )
    def post(self, request: Request, neighbor_id: int) -> Response:
        # Adding to a person's record opens it: another pair's neighbor needs a reason first.
        neighbor = neighbor_to_read(request, neighbor_id, log_read=False)
        data = NeighborContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        contact = neighbors.contact_add(
            actor=acting_user(request), neighbor=neighbor, data=data.to_input()
        )
        return Response(
            NeighborContactOutput(neighbors.contact_json(contact)).data,
            status=status.HTTP_201_CREATED,
        )


# --- possible duplicates --------------------------------------------------------------------

REVIEW_DUPLICATES = "heart_cases.change_possibleduplicate"


class DuplicateListQuery(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=PossibleDuplicate.Status.choices, required=False, default="open"
    )


class DuplicateCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField(allow_null=True)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class DuplicateSideOutput(NeighborSearchResultOutput):
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    alias = serializers.CharField()
    phones = serializers.ListField(child=serializers.CharField())
    linked_to = serializers.IntegerField(allow_null=True)
    case_list = DuplicateCaseOutput(many=True)


class DuplicateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    neighbor = DuplicateSideOutput()
    other = DuplicateSideOutput()
    reason = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField(allow_null=True)


class DuplicatePagination(Pagination):
    ordering = "-id"


class DuplicateListApi(APIView):
    permission_classes = [
        IsAuthenticated,
        require_perms("heart_cases.view_possibleduplicate", REVIEW_DUPLICATES),
    ]

    @extend_schema(
        operation_id="possible_duplicates_list",
        parameters=[
            DuplicateListQuery,
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("page_size", int, required=False, description="1 to 200"),
        ],
        responses={
            200: inline_serializer(
                "PossibleDuplicatePage",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": DuplicateOutput(many=True),
                },
            ),
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        query = DuplicateListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = DuplicatePagination()
        found = neighbors.possible_duplicates(query.validated_data["status"])
        page: list[PossibleDuplicate] = list(
            paginator.paginate_queryset(found, request, view=self) or []
        )
        ids = sorted({d.neighbor_id for d in page} | {d.other_id for d in page})
        log_access(request, action="list", object_type="neighbor", ids=ids)
        return paginator.get_paginated_response(neighbors.duplicates_json(page))


class DecisionReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)

    def validate_reason(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("Cannot hold a NUL character.")
        return value


class DuplicateLinkInput(DecisionReasonInput):
    into = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


def _duplicate_for(duplicate_id: int) -> PossibleDuplicate:
    duplicate = neighbors.duplicate_get(duplicate_id)
    if duplicate is None:
        raise exceptions.NotFound("Not found.")
    return duplicate


_WRITE_ERRORS: dict[int, Any] = {
    400: ErrorSerializer,
    401: DetailSerializer,
    403: DetailSerializer,
    404: DetailSerializer,
    409: DetailSerializer,
}


def _duplicate_response(duplicate: PossibleDuplicate) -> Response:
    return Response(DuplicateOutput(neighbors.duplicates_json([duplicate])[0]).data)


class DuplicateLinkApi(APIView):
    permission_classes = [IsAuthenticated, require_perms(REVIEW_DUPLICATES)]

    @extend_schema(
        operation_id="possible_duplicates_link",
        request=DuplicateLinkInput,
        responses={200: DuplicateOutput, **_WRITE_ERRORS},
    )
    def post(self, request: Request, duplicate_id: int) -> Response:
        duplicate = _duplicate_for(duplicate_id)
        data = DuplicateLinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        into = data.validated_data["into"]
        if into not in (duplicate.neighbor_id, duplicate.other_id):
            raise serializers.ValidationError(
                {"into": ["One of the two records of this possible duplicate."]}
            )
        try:
            duplicate = neighbors.duplicate_link(
                actor=acting_user(request),
                duplicate=duplicate,
                into_id=into,
                reason=data.validated_data["reason"],
            )
        except neighbors.TransitionError as exc:
            raise Conflict(str(exc)) from exc
        return _duplicate_response(duplicate)


class DuplicateDismissApi(APIView):
    permission_classes = [IsAuthenticated, require_perms(REVIEW_DUPLICATES)]

    @extend_schema(
        operation_id="possible_duplicates_dismiss",
        request=DecisionReasonInput,
        responses={200: DuplicateOutput, **_WRITE_ERRORS},
    )
    def post(self, request: Request, duplicate_id: int) -> Response:
        duplicate = _duplicate_for(duplicate_id)
        data = DecisionReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            duplicate = neighbors.duplicate_dismiss(
                actor=acting_user(request),
                duplicate=duplicate,
                reason=data.validated_data["reason"],
            )
        except neighbors.TransitionError as exc:
            raise Conflict(str(exc)) from exc
        return _duplicate_response(duplicate)


class UnlinkOutput(serializers.Serializer):
    id = serializers.IntegerField()
    linked_to = serializers.IntegerField(allow_null=True)
    possible_duplicate = DuplicateOutput()


class NeighborUnlinkApi(APIView):
    permission_classes = [IsAuthenticated, require_perms(REVIEW_DUPLICATES)]

    @extend_schema(
        operation_id="neighbors_unlink",
        request=DecisionReasonInput,
        responses={200: UnlinkOutput, **_WRITE_ERRORS},
    )
    def post(self, request: Request, neighbor_id: int) -> Response:
        neighbor = neighbors.neighbor_get(neighbor_id)
        if neighbor is None:
            raise exceptions.NotFound("Not found.")
        data = DecisionReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            duplicate = neighbors.neighbor_unlink(
                actor=acting_user(request), neighbor=neighbor, reason=data.validated_data["reason"]
            )
        except neighbors.TransitionError as exc:
            raise Conflict(str(exc)) from exc
        return Response(
            UnlinkOutput(
                {
                    "id": neighbor.pk,
                    "linked_to": None,
                    "possible_duplicate": neighbors.duplicates_json([duplicate])[0],
                }
            ).data
        )
