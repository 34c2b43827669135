"""API v1 for field responses and cases (API.md). Thin: parse, call one service or selector,
render."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import clock, selectors, services
from .actors import acting_user
from .api_common import (
    AwareDateTimeField,
    Conflict,
    DetailSerializer,
    ErrorSerializer,
    FixedFieldsSerializer,
    Pagination,
    TextField,
    _bad_cursor,
    call_type_eligible,
    page_schema,
    require_perms,
    times_in_order,
)
from .middleware import client_address
from .models import (
    AccessLog,
    Case,
    CaseNumber,
    Disposition,
    FieldResponseSource,
    Need,
    Neighbor,
    Program,
)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
# A clock on a tablet may run a little ahead; an encounter further in the future is a mistake.


def log_access(
    request: Request,
    *,
    action: str,
    object_type: str,
    ids: list[int],
    path: str | None = None,
    **extra: Any,
) -> None:
    services.access_log_write(
        user=request.user,
        action=action,
        object_type=object_type,
        object_ids=ids,
        client_address=client_address(request),
        request_id=getattr(request._request, "request_id", ""),
        path=request.path if path is None else path,
        **extra,
    )


# --- field responses ------------------------------------------------------------------------


class LocationInput(FixedFieldsSerializer):
    address = TextField(max_length=300, required=False, allow_blank=True)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.FloatField(
        min_value=-180, max_value=180, required=False, allow_null=True
    )


class NeighborInput(serializers.Serializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    alias = serializers.CharField(max_length=100, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    phone = PhoneNumberField(required=False, allow_blank=True, region="US")
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    unsheltered = serializers.BooleanField(required=False, allow_null=True, default=None)
    gender = serializers.CharField(max_length=40, required=False, allow_blank=True)
    race = serializers.CharField(max_length=80, required=False, allow_blank=True)
    ethnicity = serializers.CharField(max_length=80, required=False, allow_blank=True)

    def validate_date_of_birth(self, value: dt.date | None) -> dt.date | None:
        if value is None:
            return value
        today = timezone.localdate()
        if value > today:
            raise serializers.ValidationError(_("A date of birth cannot be in the future."))
        if value.year < 1900:
            raise serializers.ValidationError(_("A date of birth before 1900 is not plausible."))
        return value

    def validate_language(self, value: str) -> str:
        if value and not _LANGUAGE.match(value):
            raise serializers.ValidationError(_("Use a language code such as 'en' or 'es'."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        named = attrs.get("first_name") or attrs.get("last_name")
        if not (named or attrs.get("alias") or attrs.get("phone")):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Give at least a name, an alias or a phone number.")]}
            )
        return attrs


class FieldResponseInput(serializers.Serializer):
    incident_number = serializers.CharField(max_length=64)
    unit = serializers.CharField(max_length=64)
    program = serializers.ChoiceField(choices=Program.choices)
    call_type = serializers.CharField(max_length=100)
    responded_at = AwareDateTimeField()
    cleared_at = AwareDateTimeField(required=False, allow_null=True)
    location = LocationInput(required=False)
    neighbor = NeighborInput()
    needs = serializers.ListField(
        child=serializers.ChoiceField(choices=Need.choices), required=False, max_length=20
    )
    disposition = serializers.ChoiceField(
        choices=Disposition.choices, required=False, allow_blank=True
    )
    follow_up_consent = serializers.BooleanField()
    responder_felt_safe = serializers.BooleanField(required=False, allow_null=True, default=None)
    narrative = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    # The API's name; DRF's Serializer metaclass takes declared fields off the class, so it
    # does not shadow Field.source at run time.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=FieldResponseSource.choices,
        required=False,
        default=FieldResponseSource.CAD,
        help_text="cad (the default), manual (entered by hand), or a referral from police, "
        "fire or EMS; for a referral, incident_number is that department's report number and "
        "unit the referring unit or officer.",
    )
    dispatched_at = AwareDateTimeField(required=False, allow_null=True)
    arrived_at = AwareDateTimeField(required=False, allow_null=True)
    debrief_requested = serializers.BooleanField(
        required=False,
        default=False,
        help_text="The responder would like a debrief with a supervisor.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        call_type_eligible(attrs, errors)
        cleared = attrs.get("cleared_at")
        if cleared is not None and cleared < attrs["responded_at"]:
            errors["cleared_at"] = [str(_("The scene cannot clear before the response began."))]
        # dispatched_at <= arrived_at <= cleared_at, for those given (API.md).
        times_in_order(attrs, ("dispatched_at", "arrived_at", "cleared_at"), errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def to_input(self) -> services.FieldResponseInput:
        data = self.validated_data
        neighbor = data["neighbor"]
        location = data.get("location") or {}

        def rounded(value: float | None) -> Any:
            return None if value is None else round(Decimal(str(value)), 6)

        return services.FieldResponseInput(
            incident_number=data["incident_number"],
            unit=data["unit"],
            program=data["program"],
            call_type=data["call_type"],
            responded_at=data["responded_at"],
            cleared_at=data.get("cleared_at"),
            address=location.get("address", ""),
            latitude=rounded(location.get("latitude")),
            longitude=rounded(location.get("longitude")),
            neighbor=services.NeighborInput(
                first_name=neighbor.get("first_name", ""),
                last_name=neighbor.get("last_name", ""),
                alias=neighbor.get("alias", ""),
                date_of_birth=neighbor.get("date_of_birth"),
                phone=str(neighbor["phone"]) if neighbor.get("phone") else "",
                language=neighbor.get("language", ""),
                unsheltered=neighbor.get("unsheltered"),
                gender=neighbor.get("gender", ""),
                race=neighbor.get("race", ""),
                ethnicity=neighbor.get("ethnicity", ""),
            ),
            needs=tuple(dict.fromkeys(data.get("needs", []))),
            disposition=data.get("disposition", ""),
            follow_up_consent=data["follow_up_consent"],
            responder_felt_safe=data.get("responder_felt_safe"),
            narrative=data.get("narrative", ""),
            source=data.get("source") or FieldResponseSource.CAD,
            dispatched_at=data.get("dispatched_at"),
            arrived_at=data.get("arrived_at"),
            debrief_requested=bool(data.get("debrief_requested")),
        )


class FollowUpRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    deadline = serializers.DateTimeField()
    work_by = serializers.DateTimeField()
    outside_service_hours = serializers.BooleanField()


class IntakeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    in_service_area = serializers.BooleanField(
        allow_null=True,
        help_text="Inside its program's service area; null without a location or an area.",
    )
    case = inline_serializer(
        "IntakeCase",
        {
            "id": serializers.IntegerField(),
            "number": serializers.CharField(),
            "status": serializers.ChoiceField(choices=Case.Status.choices),
            "created": serializers.BooleanField(),
        },
    )
    neighbor = inline_serializer(
        "IntakeNeighbor",
        {"id": serializers.IntegerField(), "matched": serializers.BooleanField()},
    )
    follow_up = FollowUpRefOutput(allow_null=True)


def intake_json(result: services.IntakeResult) -> dict[str, Any]:
    follow_up = result.follow_up
    return {
        "id": result.field_response.pk,
        "in_service_area": result.field_response.in_service_area,
        "case": {
            "id": result.case.pk,
            "number": result.case.number,
            "status": result.case.status,
            "created": result.case_created,
        },
        "neighbor": {"id": result.neighbor.pk, "matched": result.neighbor_matched},
        "follow_up": (
            {
                "id": follow_up.id,
                "deadline": follow_up.deadline,
                "work_by": follow_up.work_by,
                "outside_service_hours": follow_up.outside_service_hours,
            }
            if follow_up
            else None
        ),
    }


class FieldResponseCreateApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("heart_cases.record_field_response")]

    @extend_schema(
        operation_id="field_responses_create",
        request=FieldResponseInput,
        responses={
            201: IntakeOutput,
            200: IntakeOutput,
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
            409: DetailSerializer,
            413: DetailSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = FieldResponseInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = services.field_response_record(
                actor=acting_user(request), data=serializer.to_input()
            )
        except services.IntakeConflict as exc:
            raise Conflict(str(exc)) from exc
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        return Response(IntakeOutput(intake_json(result)).data, status=code)


# --- cases ---------------------------------------------------------------------------------

_STAFF = "heart_cases.view_case"


class NeighborSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    language = serializers.CharField()


class CaseSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField(allow_null=True)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    neighbor = NeighborSummaryOutput()


def case_summary_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "number": case.number,
        "status": case.status,
        "outcome": case.outcome or None,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "neighbor": {
            "id": case.neighbor.pk,
            "display_name": case.neighbor.display_name,
            "language": case.neighbor.language,
        },
    }


def opened_bound(value: str, *, end_of_day: bool) -> dt.datetime:
    """A case list's bound: a date (the program's local day; `end_of_day`: through its end) or
    a time with its UTC offset, within the times the system records (heart_cases.clock)."""
    try:
        moment = parse_datetime(value) if "T" in value or " " in value else None
        day = None if moment else parse_date(value)
    except ValueError:
        moment = day = None
    if day is not None:
        moment = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())
    elif moment is None:
        raise serializers.ValidationError(
            _("Give a date (2026-11-20) or a time with its UTC offset (2026-11-20T14:05:00-05:00).")
        )
    elif timezone.is_naive(moment):
        raise serializers.ValidationError(
            _("Give the time with its UTC offset, e.g. 2026-11-20T14:05:00-05:00.")
        )
    problem = clock.time_out_of_range(moment)
    if problem:
        raise serializers.ValidationError(problem)
    if day is not None and end_of_day:
        moment = dt.datetime.combine(
            day + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_default_timezone()
        )
    return moment


class CaseListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Case.Status.choices, required=False)
    pair = serializers.IntegerField(required=False, min_value=1)
    neighbor = serializers.IntegerField(required=False, min_value=1)
    program = serializers.ChoiceField(
        choices=Program.choices,
        required=False,
        help_text="Cases with a field response of this program.",
    )
    opened_after = serializers.CharField(
        required=False,
        max_length=40,
        help_text="Opened at or after this time (with its UTC offset), or on or after this "
        "date (the program's local day).",
    )
    opened_before = serializers.CharField(
        required=False,
        max_length=40,
        help_text="Opened before this time (with its UTC offset), or on or before this date "
        "(the program's local day).",
    )
    ordering = serializers.ChoiceField(
        choices=list(selectors.CASE_ORDERINGS),
        required=False,
        help_text="closed_at: open cases after the closed either way; status: open cases "
        "first, newest opened first within each. Default: newest first.",
        error_messages={
            # DRF formats this message with str.format: the choices go in beforehand.
            "invalid_choice": format_lazy(
                _("Sort by one of: {choices}."), choices=", ".join(selectors.CASE_ORDERINGS)
            )
        },
    )

    def validate_opened_after(self, value: str) -> dt.datetime:
        return opened_bound(value, end_of_day=False)

    def validate_opened_before(self, value: str) -> dt.datetime:
        return opened_bound(value, end_of_day=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        after, before = attrs.get("opened_after"), attrs.get("opened_before")
        if after is not None and before is not None and after > before:
            raise serializers.ValidationError(
                {"opened_after": [_("The start of the range is after its end.")]}
            )
        return attrs

    def cases(self, user: Any) -> QuerySet[Case]:
        data = self.validated_data
        return selectors.case_list(
            user=user,
            status=data.get("status"),
            neighbor_id=data.get("neighbor"),
            pair_id=data.get("pair"),
            program=data.get("program"),
            opened_after=data.get("opened_after"),
            opened_before=data.get("opened_before"),
            ordering=data.get("ordering"),
        )


class CaseListPagination(Pagination):
    """The case list's pages, in the order asked for (selectors.CASE_ORDERINGS)."""

    def __init__(self, ordering: str | None = None) -> None:
        self.ordering = selectors.case_list_ordering(ordering)

    def decode_cursor(self, request: Request) -> Any:
        if self.ordering[0].lstrip("-") not in selectors.SORT_KEYS:
            return super().decode_cursor(request)
        # The cursor stands on a built sort key, no column to check its position against:
        # such keys are digits only.
        model, self._model = self._model, None
        try:
            cursor = super().decode_cursor(request)
        finally:
            self._model = model
        position = None if cursor is None else cursor.position
        if position is not None and not re.fullmatch(r"[0-9]{1,60}", str(position)):
            raise _bad_cursor()
        return cursor


class CaseListApi(APIView):
    permission_classes = [IsAuthenticated, require_perms(_STAFF)]

    @page_schema(
        operation_id="cases_list",
        name="CasePage",
        item=CaseSummaryOutput(many=True),
        query=CaseListQuery,
    )
    def get(self, request: Request) -> Response:
        query = CaseListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        cases = query.cases(request.user)
        paginator = CaseListPagination(query.validated_data.get("ordering"))
        page = paginator.paginate_queryset(cases, request, view=self) or []
        log_access(request, action="list", object_type="case", ids=[c.pk for c in page])
        return paginator.get_paginated_response([case_summary_json(c) for c in page])


class NeighborOutput(serializers.Serializer):
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
    gender = serializers.CharField()
    race = serializers.CharField()
    ethnicity = serializers.CharField()
    linked_to = serializers.IntegerField(allow_null=True)


class StaffMemberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class PairOutput(serializers.Serializer):
    id = serializers.IntegerField()
    clinician = StaffMemberOutput()
    peer = StaffMemberOutput()


class ResponseLocationOutput(serializers.Serializer):
    address = serializers.CharField()
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, allow_null=True, coerce_to_string=False
    )


class FieldResponseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident_number = serializers.CharField()
    unit = serializers.CharField()
    program = serializers.ChoiceField(choices=Program.choices)
    call_type = serializers.CharField()
    responded_at = serializers.DateTimeField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    location = ResponseLocationOutput()
    in_service_area = serializers.BooleanField(allow_null=True)
    needs = serializers.ListField(child=serializers.CharField())
    disposition = serializers.CharField()
    follow_up_consent = serializers.BooleanField()
    responder_felt_safe = serializers.BooleanField(allow_null=True)
    narrative = serializers.CharField()
    source = serializers.ChoiceField(choices=FieldResponseSource.choices)  # type: ignore[assignment]
    dispatched_at = serializers.DateTimeField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    debrief_requested = serializers.BooleanField()


class FollowUpOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    deadline = serializers.DateTimeField()
    work_by = serializers.DateTimeField()
    outside_service_hours = serializers.BooleanField()
    pair = serializers.IntegerField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class CaseRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class CaseDetailOutput(serializers.Serializer):
    """GET /api/v1/cases/{id}/ (API.md). `referrals` items are described by the referrals
    API (GET /api/v1/referrals/{id}/)."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=Case.Status.choices)
    outcome = serializers.ChoiceField(choices=Case.Outcome.choices, allow_null=True)
    outcome_note = serializers.CharField()
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    previous_case = CaseRefOutput(allow_null=True)
    neighbor = NeighborOutput()
    pair = PairOutput(allow_null=True)
    field_responses = FieldResponseOutput(many=True)
    follow_ups = FollowUpOutput(many=True)
    attempts = inline_serializer(
        "CaseAttempt",
        {
            "id": serializers.IntegerField(),
            "task": serializers.IntegerField(),
            "method": serializers.CharField(),
            "outcome": serializers.CharField(),
            "occurred_at": serializers.DateTimeField(),
            "duration_minutes": serializers.IntegerField(allow_null=True),
            "notes": serializers.CharField(allow_blank=True),
            "made_by": serializers.CharField(),
            "contact": serializers.IntegerField(
                allow_null=True, help_text="The neighbor's contact it was to; null: the neighbor."
            ),
        },
        many=True,
    )
    referrals = serializers.ListField(child=serializers.DictField())


class ReasonRequiredOutput(serializers.Serializer):
    """403 when the caller may see the case but must say why first (API.md, break the glass)."""

    detail = serializers.CharField()
    reason_required = serializers.BooleanField()


class ReasonRequiredError(exceptions.PermissionDenied):
    """403 `{"detail", "reason_required": true}`: not a refusal by role (API.md)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = {"detail": self.detail, "reason_required": True}  # type: ignore[dict-item]


ACCESS_REASON = OpenApiParameter(
    "access_reason",
    str,
    required=False,
    description=(
        "Why you open a case outside your pair (break the glass; at most "
        f"{selectors.ACCESS_REASON_MAX_LENGTH} characters). Without it such a read is a 403 "
        "with reason_required; the access log records it."
    ),
)
_CASE_READ_ERRORS: dict[int, Any] = {
    400: ErrorSerializer,
    401: DetailSerializer,
    403: ReasonRequiredOutput,
    404: DetailSerializer,
}


def _case_to_read(
    request: Request, case_id: int, *, object_type: str, log_read: bool = True
) -> tuple[Case, str]:
    """The case, once the caller may read it, and the break-the-glass reason ("" when none was
    needed). The read is in the access log with its reason (`log_read`; a caller that shows the
    case only once its write succeeds logs it then); a read that lacks a needed reason is
    logged as denied."""
    case = _case_for(request, case_id)
    try:
        reason = selectors.case_access_check(
            user=request.user, case=case, reason=request.query_params.get("access_reason")
        )
    except selectors.ReasonRequired as exc:
        _log_case_read(request, case, object_type=object_type, denied=True)
        raise ReasonRequiredError(exc.message) from exc
    except selectors.AccessReasonInvalid as exc:
        raise serializers.ValidationError({"access_reason": [str(exc)]}) from exc
    if log_read:
        _log_case_read(request, case, object_type=object_type, reason=reason)
    return case, reason


def _log_case_read(request: Request, case: Case, *, object_type: str, **extra: Any) -> None:
    log_access(
        request, action="view", object_type=object_type, ids=[case.pk], case_id=case.pk, **extra
    )


class CaseDetailApi(APIView):
    @extend_schema(
        operation_id="cases_retrieve",
        parameters=[ACCESS_REASON],
        responses={200: CaseDetailOutput, **_CASE_READ_ERRORS},
    )
    def get(self, request: Request, case_id: int) -> Response:
        case, _ = _case_to_read(request, case_id, object_type="case")
        return Response(selectors.case_detail(case))


class CaseHistoryApi(APIView):
    @extend_schema(
        operation_id="cases_history",
        parameters=[ACCESS_REASON],
        responses={
            200: inline_serializer(
                "CaseHistory",
                {
                    "results": inline_serializer(
                        "CaseHistoryEntry",
                        {
                            "at": serializers.DateTimeField(),
                            "actor": serializers.CharField(allow_null=True),
                            "actor_name": serializers.CharField(allow_null=True),
                            "object": serializers.CharField(),
                            "action": serializers.CharField(),
                            "reason": serializers.CharField(),
                            "changes": serializers.DictField(),
                        },
                        many=True,
                    )
                },
            ),
            **_CASE_READ_ERRORS,
        },
    )
    def get(self, request: Request, case_id: int) -> Response:
        case, _ = _case_to_read(request, case_id, object_type="case_history")
        return Response({"results": selectors.case_history(case)})


class CaseCloseInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Case.Outcome.choices)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class CaseCloseApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("heart_cases.change_case")]

    @extend_schema(
        operation_id="cases_close",
        request=CaseCloseInput,
        parameters=[ACCESS_REASON],
        responses={
            200: CaseDetailOutput,
            400: ErrorSerializer,
            401: DetailSerializer,
            # A role that may not close cases, or (reason_required) another pair's case.
            403: inline_serializer(
                "CaseCloseRefused",
                {
                    "detail": serializers.CharField(),
                    "reason_required": serializers.BooleanField(required=False),
                },
            ),
            404: DetailSerializer,
            409: DetailSerializer,
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        # Closing answers with the whole case: a read like any other, so another pair's case
        # needs a reason first (break the glass), and the reply is in the access log.
        case, reason = _case_to_read(request, case_id, object_type="case", log_read=False)
        data = CaseCloseInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            case = services.case_close(
                actor=acting_user(request),
                case=case,
                outcome=data.validated_data["outcome"],
                note=data.validated_data.get("note", ""),
            )
        except services.TransitionError as exc:
            raise Conflict(str(exc)) from exc
        _log_case_read(request, case, object_type="case", reason=reason)
        return Response(
            selectors.case_detail(selectors.case_get_for_user(user=request.user, case_id=case.pk))
        )


def _case_for(request: Request, case_id: int) -> Case:
    try:
        return selectors.case_get_for_user(user=request.user, case_id=case_id)
    except Http404:
        log_access(
            request,
            action="view",
            object_type="case",
            ids=[int(case_id)] if str(case_id).isdigit() else [],
            denied=True,
        )
        raise


class BareRowApi(APIView):
    """Benchmark baseline (HEART_BENCH_ENDPOINTS only): the same authentication, permission,
    JSON parsing and transaction as intake, creating one bare row. Intake throughput is
    reported as a ratio of this."""

    permission_classes = [IsAuthenticated, require_perms("heart_cases.record_field_response")]

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        serializer = BareRowInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = CaseNumber.objects.create()
        return Response({"id": row.pk}, status=status.HTTP_201_CREATED)


class BareRowInput(serializers.Serializer):
    incident_number = serializers.CharField(max_length=64)


class AccessLogQuery(serializers.Serializer):
    """An auditor's questions (selectors.access_log_filters resolves them)."""

    case = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="A case id or HC-2026-000123."
    )
    neighbor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="A neighbor's id, or a name (case- and accent-insensitive).",
    )
    user = serializers.CharField(
        required=False, allow_blank=True, max_length=150, help_text="A staff id or username."
    )
    from_ = serializers.DateField(required=False, help_text="From this local date, inclusive.")
    to = serializers.DateField(required=False, help_text="To this local date, inclusive.")
    break_glass = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only the reads a navigator gave a reason for; false: the others.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword, the API's name
        return fields

    def to_filters(self) -> selectors.AccessLogFilters:
        data = self.validated_data
        try:
            return selectors.access_log_filters(
                case=data.get("case", ""),
                neighbor=data.get("neighbor", ""),
                user=data.get("user", ""),
                since=data.get("from"),
                until=data.get("to"),
                break_glass=data.get("break_glass"),
            )
        except selectors.AccessLogFilterError as exc:
            raise serializers.ValidationError(exc.errors) from exc


class AccessLogEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    user_id = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_ids = serializers.ListField(child=serializers.IntegerField())
    case = serializers.IntegerField(allow_null=True)
    outcome = serializers.CharField()
    client_address = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()
    path = serializers.CharField()
    reason = serializers.CharField(
        allow_null=True, help_text="Why a navigator broke the glass; null for other reads."
    )


class AccessLogPagination(Pagination):
    ordering = ("-at", "-id")


class AccessLogApi(APIView):
    """Supervisors review who read neighbors' data: by case, neighbor, person and dates, and
    the break-the-glass reads."""

    permission_classes = [IsAuthenticated, require_perms("heart_cases.view_accesslog")]

    @page_schema(
        operation_id="access_log_list",
        name="AccessLogPage",
        item=AccessLogEntryOutput(many=True),
        query=AccessLogQuery,
    )
    def get(self, request: Request) -> Response:
        query = AccessLogQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = selectors.access_log_for_review(query.to_filters())
        paginator = AccessLogPagination()
        page: list[Any] = paginator.paginate_queryset(entries, request, view=self) or []
        return paginator.get_paginated_response([selectors.access_log_json(e) for e in page])


class _Line:
    """csv.writer's file: hands back each line instead of keeping it (a streamed export)."""

    def write(self, line: str) -> str:
        return line


# A spreadsheet runs a cell that starts so as a formula; reasons and names are typed by people.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def access_log_csv(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(selectors.ACCESS_LOG_CSV_COLUMNS)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


class AccessLogExportApi(APIView):
    """The same entries as CSV, for an auditor's spreadsheet (the access-log page links here
    with its filters). The export is itself an access-log entry (action `export`), which
    records the filters as ids and dates."""

    permission_classes = [IsAuthenticated, require_perms("heart_cases.view_accesslog")]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The CSV is the answer whatever Accept says; errors are JSON, as everywhere.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="access_log_export",
        parameters=[AccessLogQuery],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = AccessLogQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.to_filters()
        log_access(
            request,
            action="export",
            object_type="access_log",
            ids=[],
            path=f"{request.path}?{filters.as_query()}".rstrip("?"),
        )
        rows = selectors.access_log_rows(selectors.access_log_for_review(filters))
        response = StreamingHttpResponse(access_log_csv(rows), content_type="text/csv")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
        return response


# --- records requests ----------------------------------------------------------------------


class NeighborExportApi(APIView):
    """A records request (API.md, "Consent and privacy"): everything the system holds about one
    neighbor, as JSON, for a supervisor. The export is itself in the access log (action
    `export`), once for the person and once for each of their cases, so that a review of any
    of those cases finds it."""

    permission_classes = [IsAuthenticated, require_perms("heart_cases.view_accesslog")]

    @extend_schema(
        operation_id="neighbors_export",
        responses={
            200: inline_serializer(
                "NeighborExport",
                {
                    "exported_at": serializers.DateTimeField(),
                    "neighbor_id": serializers.IntegerField(),
                    "records": serializers.ListField(child=serializers.DictField()),
                    "record_history": serializers.ListField(child=serializers.DictField()),
                    "possible_duplicates": serializers.ListField(child=serializers.DictField()),
                    "cases": serializers.ListField(child=serializers.DictField()),
                    "access_log": serializers.ListField(child=serializers.DictField()),
                },
            ),
            401: DetailSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
        },
    )
    def get(self, request: Request, neighbor_id: int) -> Response:
        neighbor = Neighbor.objects.filter(pk=neighbor_id).first()
        if neighbor is None:
            raise exceptions.NotFound(_("Not found."))
        body = selectors.neighbor_export(neighbor)
        record_ids = [record["id"] for record in body["records"]]
        services.access_log_write_by_case(
            user=request.user,
            action=AccessLog.Action.EXPORT,
            object_type="neighbor",
            ids_by_case={
                None: record_ids,
                **{case["id"]: record_ids for case in body["cases"]},
            },
            client_address=client_address(request),
            request_id=getattr(request._request, "request_id", ""),
            path=request.path,
        )
        return Response(body)
