"""API v1 for eligible calls (API.md "Eligible calls"): one call, as JSON or as an EIDO, and
batches of up to 1,000. Thin: parse, call the service, render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from heart_cases.actors import acting_user
from heart_cases.api import LocationInput
from heart_cases.api_common import (
    AwareDateTimeField,
    DetailSerializer,
    ErrorSerializer,
    FixedFieldsSerializer,
    TextField,
    call_type_eligible,
    require_perms,
    times_in_order,
)
from heart_cases.models import Program

from . import services
from .models import CallSource, EligibleCall, OtherResponder, Outcome

MAX_BATCH = 1000
# The CAD integration posts calls with the same permission it posts field responses with.
_CAD = require_perms("heart_cases.record_field_response")


def _time(**kwargs: Any) -> AwareDateTimeField:
    """The shared time field, reading into UTC: the offset given is refused if missing, so the
    zone only names the same instant, and asking for the request's current zone five times a
    call was a tenth of a batch's time."""
    return AwareDateTimeField(default_timezone=dt.UTC, **kwargs)


class EligibleCallBody(FixedFieldsSerializer):
    incident_number = TextField(max_length=64)
    program = serializers.ChoiceField(choices=Program.choices)
    call_type = TextField(max_length=100, help_text="Eligible for the program.")
    received_at = _time()
    location = LocationInput(required=False, allow_null=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    other_responder = serializers.ChoiceField(
        choices=OtherResponder.choices,
        required=False,
        allow_null=True,
        help_text="Who took the call: required when the outcome is other_responder, and only "
        "then (null or absent otherwise).",
    )
    dispatched_at = _time(required=False, allow_null=True)
    arrived_at = _time(required=False, allow_null=True)
    cleared_at = _time(required=False, allow_null=True)
    updated_at = _time(
        help_text="The CAD's time of this version: a newer one replaces the call, the same or "
        "an older one changes nothing."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        call_type_eligible(attrs, errors)
        other = attrs.get("other_responder")
        if attrs["outcome"] == Outcome.OTHER_RESPONDER and not other:
            errors["other_responder"] = [
                str(
                    _(
                        "Say who responded (police, ems or fire) when the outcome is "
                        "other_responder."
                    )
                )
            ]
        elif attrs["outcome"] != Outcome.OTHER_RESPONDER and other:
            errors["other_responder"] = [
                str(_("Only for the outcome other_responder; leave it out or null otherwise."))
            ]
        times_in_order(attrs, ("received_at", "dispatched_at", "arrived_at", "cleared_at"), errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def to_input(self) -> services.EligibleCallInput:
        return body_to_input(self.validated_data)


def body_to_input(data: Mapping[str, Any]) -> services.EligibleCallInput:
    """The service's input from a validated body."""
    location = data.get("location") or {}

    def rounded(value: float | None) -> Decimal | None:
        # As a field response stores its location: six decimals, about 10 cm.
        return None if value is None else round(Decimal(str(value)), 6)

    return services.EligibleCallInput(
        incident_number=data["incident_number"],
        program=data["program"],
        call_type=data["call_type"],
        received_at=data["received_at"],
        outcome=data["outcome"],
        updated_at=data["updated_at"],
        address=location.get("address", ""),
        latitude=rounded(location.get("latitude")),
        longitude=rounded(location.get("longitude")),
        other_responder=data.get("other_responder") or "",
        dispatched_at=data.get("dispatched_at"),
        arrived_at=data.get("arrived_at"),
        cleared_at=data.get("cleared_at"),
    )


class EligibleCallOutput(serializers.Serializer):
    id = serializers.IntegerField()
    incident_number = serializers.CharField()
    program = serializers.ChoiceField(choices=Program.choices)
    call_type = serializers.CharField()
    received_at = serializers.DateTimeField()
    location = inline_serializer(
        "EligibleCallLocation",
        {
            "address": serializers.CharField(),
            "latitude": serializers.FloatField(allow_null=True),
            "longitude": serializers.FloatField(allow_null=True),
        },
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    other_responder = serializers.ChoiceField(choices=OtherResponder.choices, allow_null=True)
    dispatched_at = serializers.DateTimeField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    cleared_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    in_service_area = serializers.BooleanField(allow_null=True)
    source = serializers.ChoiceField(choices=CallSource.choices)  # type: ignore[assignment]
    recorded_at = serializers.DateTimeField()
    applied = serializers.BooleanField(
        help_text="Whether this post changed the call (false: the call already had this or a "
        "newer version)."
    )


def call_json(call: EligibleCall, *, applied: bool) -> dict[str, Any]:
    def degrees(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return {
        "id": call.pk,
        "incident_number": call.incident_number,
        "program": call.program,
        "call_type": call.call_type,
        "received_at": call.received_at,
        "location": {
            "address": call.address,
            "latitude": degrees(call.latitude),
            "longitude": degrees(call.longitude),
        },
        "outcome": call.outcome,
        "other_responder": call.other_responder or None,
        "dispatched_at": call.dispatched_at,
        "arrived_at": call.arrived_at,
        "cleared_at": call.cleared_at,
        "updated_at": call.updated_at,
        "in_service_area": call.in_service_area,
        "source": call.source,
        "recorded_at": call.recorded_at,
        "applied": applied,
    }


_ERRORS = {400: ErrorSerializer, 401: DetailSerializer, 403: DetailSerializer}


class EligibleCallCreateApi(APIView):
    permission_classes = [IsAuthenticated, _CAD]

    @extend_schema(
        operation_id="eligible_calls_create",
        request=EligibleCallBody,
        description="One eligible call. A body with `eidoVersion` is read as a NENA-STA-021 "
        "EIDO (JSON) instead; what it cannot map is a 400 naming the component.",
        responses={
            201: EligibleCallOutput,
            200: EligibleCallOutput,
            **_ERRORS,
            413: DetailSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        body: Any = request.data
        source = CallSource.JSON
        if isinstance(body, Mapping) and "eidoVersion" in body:
            from .eido import EidoError, eido_to_body

            try:
                body = eido_to_body(dict(body))
            except EidoError as exc:
                raise serializers.ValidationError({exc.component: [exc.message]}) from exc
            source = CallSource.EIDO
        serializer = EligibleCallBody(data=body)
        serializer.is_valid(raise_exception=True)
        call, outcome = services.eligible_call_record(
            actor=acting_user(request), data=serializer.to_input(), source=source
        )
        code = status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK
        return Response(
            EligibleCallOutput(call_json(call, applied=outcome != "unchanged")).data, status=code
        )


class BatchResultOutput(serializers.Serializer):
    incident_number = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=[201, 200, 400])
    applied = serializers.BooleanField()
    errors = serializers.DictField(allow_null=True)  # type: ignore[assignment]  # the API's name


_STATUS_CODE = {"created": 201, "applied": 200, "unchanged": 200}


def validate_calls(
    bodies: Sequence[Any],
) -> list[services.EligibleCallInput | dict[str, Any]]:
    """Each body validated on its own: its input, or its errors by field.

    One serializer checks them all: a new one per body would deep-copy its fields each time,
    which was most of a 1,000-call batch's time. Its fields keep no state between bodies."""
    checker = EligibleCallBody()
    checked: list[services.EligibleCallInput | dict[str, Any]] = []
    for body in bodies:
        try:
            checked.append(body_to_input(checker.run_validation(body)))
        except serializers.ValidationError as exc:
            detail = exc.detail
            checked.append(
                dict(detail) if isinstance(detail, dict) else {"non_field_errors": detail}
            )
    return checked


def record_calls(*, actor: Any, bodies: Sequence[Any], source: str) -> list[dict[str, Any]]:
    """Validate and record a batch: a result per body, in order. Bad bodies are reported and
    left out; the good ones are recorded together."""
    checked = validate_calls(bodies)
    good = [item for item in checked if isinstance(item, services.EligibleCallInput)]
    statuses = iter(services.eligible_calls_record_batch(actor=actor, items=good, source=source))
    results = []
    for body, item in zip(bodies, checked, strict=True):
        if isinstance(item, services.EligibleCallInput):
            outcome = next(statuses)
            results.append(
                {
                    "incident_number": item.incident_number,
                    "status": _STATUS_CODE[outcome],
                    "applied": outcome != "unchanged",
                    "errors": None,
                }
            )
        else:
            given = body.get("incident_number") if isinstance(body, Mapping) else None
            results.append(
                {
                    "incident_number": given if isinstance(given, str) else None,
                    "status": 400,
                    "applied": False,
                    "errors": item,
                }
            )
    return results


class EligibleCallBatchApi(APIView):
    permission_classes = [IsAuthenticated, _CAD]

    @extend_schema(
        operation_id="eligible_calls_batch",
        request=inline_serializer(
            "EligibleCallBatch",
            {"calls": EligibleCallBody(many=True, help_text=f"At most {MAX_BATCH:,}.")},
        ),
        description="Up to 1,000 eligible calls, each validated and recorded on its own: one "
        "bad call never blocks the others. Results in the order of the calls.",
        responses={
            200: inline_serializer(
                "EligibleCallBatchResults", {"results": BatchResultOutput(many=True)}
            ),
            **_ERRORS,
            413: DetailSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        body: Any = request.data
        calls = body.get("calls") if isinstance(body, Mapping) else None
        if not isinstance(calls, list):
            raise serializers.ValidationError({"calls": [_("Give the calls as a list.")]})
        if len(calls) > MAX_BATCH:
            raise serializers.ValidationError(
                {
                    "calls": [
                        _("At most %(most)s calls in one batch; this one has %(count)s.")
                        % {"most": MAX_BATCH, "count": len(calls)}
                    ]
                }
            )
        results = record_calls(actor=acting_user(request), bodies=calls, source=CallSource.JSON)
        return Response({"results": results}, status=status.HTTP_200_OK)
