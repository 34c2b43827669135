"""`GET /api/v1/metrics/` (API.md): aggregate, de-identified program metrics for a period."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from heart_cases.api_common import DetailSerializer, ErrorSerializer, require_perms
from referrals.models import ReasonCode

from . import facts, selectors


class MetricsQuery(serializers.Serializer):
    start = serializers.DateField(help_text="First local date of the period, YYYY-MM-DD.")
    end = serializers.DateField(help_text="Last local date of the period (included), YYYY-MM-DD.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            attrs["period"] = selectors.period_check(attrs["start"], attrs["end"])
        except selectors.PeriodInvalid as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return attrs


def _per_program(name: str) -> type[serializers.Serializer]:
    fields = {code: serializers.IntegerField() for code in selectors.PROGRAMS}
    return type(name, (serializers.Serializer,), fields)


def _per_reason(name: str) -> type[serializers.Serializer]:
    fields = {code: serializers.IntegerField() for code in ReasonCode.values}
    return type(name, (serializers.Serializer,), fields)


ProgramCountsOutput = _per_program("ProgramCountsOutput")
DeclineReasonsOutput = _per_reason("DeclineReasonsOutput")
CancellationReasonsOutput = _per_reason("CancellationReasonsOutput")


def _rate(**kwargs: Any) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, min_value=0, max_value=1, **kwargs)


class PeriodOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    time_zone = serializers.CharField()
    computed_at = serializers.DateTimeField()


class ResponsesWeekOutput(serializers.Serializer):
    week_start = serializers.DateField(help_text="The Monday of the week (local).")
    total = serializers.IntegerField()
    by_program = ProgramCountsOutput()


class FieldResponsesOutput(serializers.Serializer):
    total = serializers.IntegerField()
    by_program = ProgramCountsOutput()
    by_week = ResponsesWeekOutput(many=True)


class NotRespondedOutput(serializers.Serializer):
    heart_unavailable = serializers.IntegerField()
    outside_hours = serializers.IntegerField()
    outside_service_area = serializers.IntegerField()
    other_responder = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class HourOfWeekOutput(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday.")
    hour = serializers.IntegerField(min_value=0, max_value=23, help_text="Local hour received.")
    total = serializers.IntegerField()
    responded_to = serializers.IntegerField()


class IncidentsWithResponsesOutput(serializers.Serializer):
    total = serializers.IntegerField()
    by_program = ProgramCountsOutput()


class EligibleCallsOutput(serializers.Serializer):
    total = serializers.IntegerField(help_text="Eligible calls the CAD reported (METRICS.md).")
    responded_to = serializers.IntegerField()
    response_rate = _rate()
    not_responded = NotRespondedOutput()
    by_program = ProgramCountsOutput(help_text="Responded to, by program.")
    total_by_program = ProgramCountsOutput()
    by_hour_of_week = HourOfWeekOutput(many=True)
    incidents_with_field_responses = IncidentsWithResponsesOutput(
        help_text="Incidents with an eligible field response, whether or not the CAD "
        "reported the call: a check of the CAD feed."
    )


class ResponseTimeCellOutput(serializers.Serializer):
    median_minutes = serializers.FloatField(allow_null=True)
    p90_minutes = serializers.FloatField(allow_null=True)
    calls = serializers.IntegerField(help_text="Responded calls with an arrival time.")


ResponseTimeByProgramOutput = type(
    "ResponseTimeByProgramOutput",
    (serializers.Serializer,),
    {code: ResponseTimeCellOutput() for code in selectors.PROGRAMS},
)


class ResponseTimeOutput(ResponseTimeCellOutput):
    by_program = ResponseTimeByProgramOutput()


class DivertedOutput(serializers.Serializer):
    calls = serializers.IntegerField()
    responder_hours = serializers.FloatField()
    programs = serializers.ListField(child=serializers.CharField())


class FollowUpsWeekOutput(serializers.Serializer):
    week_start = serializers.DateField()
    due = serializers.IntegerField()
    first_attempt_within_48h = serializers.IntegerField()
    met_within_48h = serializers.IntegerField()
    rate = _rate()


class FollowUpsOutput(serializers.Serializer):
    due = serializers.IntegerField()
    met_within_48h = serializers.IntegerField()
    rate = _rate()
    first_attempt_within_48h = serializers.IntegerField()
    first_attempt_rate = _rate()
    not_yet_due = serializers.IntegerField()
    outside_service_hours = serializers.IntegerField(
        help_text="Of due: follow-ups whose 48 hours held no service time (METRICS.md)."
    )
    met_by_first_service_window = serializers.IntegerField()
    first_service_window_rate = _rate()
    by_week = FollowUpsWeekOutput(many=True)


class ReferralsWeekOutput(serializers.Serializer):
    week_start = serializers.DateField()
    made = serializers.IntegerField()
    accepted = serializers.IntegerField()
    completed = serializers.IntegerField()


class ReferralsOutput(serializers.Serializer):
    made = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    accepted = serializers.IntegerField()
    completed = serializers.IntegerField()
    completion_rate = _rate()
    declined = serializers.IntegerField()
    decline_reasons = DeclineReasonsOutput()
    cancelled = serializers.IntegerField()
    cancellation_reasons = CancellationReasonsOutput()
    open = serializers.IntegerField()
    by_week = ReferralsWeekOutput(many=True)


class SafetyOutput(serializers.Serializer):
    felt_safe = serializers.IntegerField()
    answered = serializers.IntegerField()


class ResponseCountsOutput(serializers.Serializer):
    one = serializers.IntegerField()
    two = serializers.IntegerField()
    three_to_four = serializers.IntegerField()
    five_plus = serializers.IntegerField()


class DemographicCellOutput(serializers.Serializer):
    value = serializers.CharField()
    neighbors = serializers.IntegerField(
        allow_null=True, help_text="null: suppressed (under 5, or would reveal one that is)."
    )
    suppressed = serializers.ChoiceField(
        choices=["under_5", "complementary"], allow_null=True, help_text="Why it is null."
    )


class DemographicsOutput(serializers.Serializer):
    suppressed_below = serializers.IntegerField()
    gender = DemographicCellOutput(many=True)
    race = DemographicCellOutput(many=True)
    ethnicity = DemographicCellOutput(many=True)
    language = DemographicCellOutput(many=True)
    housing = DemographicCellOutput(many=True)
    age_band = DemographicCellOutput(many=True)


class MetricsOutput(serializers.Serializer):
    period = PeriodOutput()
    facts_as_of = serializers.DateTimeField(
        allow_null=True,
        help_text="When the changes were last folded into the metrics facts (or the facts "
        "rebuilt): the numbers count every change committed before it. null: never built yet.",
    )
    pending_changes = serializers.IntegerField(
        min_value=0,
        help_text="Changes committed since facts_as_of and not counted yet (0: the numbers are "
        f"current), counted up to {facts.PENDING_COUNTED_UP_TO:,}, which means more than "
        f"{facts.PENDING_COUNTED_UP_TO - 1:,}.",
    )
    field_responses = FieldResponsesOutput()
    eligible_calls = EligibleCallsOutput()
    response_time = ResponseTimeOutput(help_text="Call received to the first HEART arrival.")
    diverted_from_police = DivertedOutput()
    debriefs_requested = serializers.IntegerField()
    transported = serializers.IntegerField()
    transport_rate = _rate()
    cases_opened = serializers.IntegerField()
    follow_ups = FollowUpsOutput()
    referrals = ReferralsOutput()
    responder_felt_safe_rate = _rate()
    responder_safety = SafetyOutput()
    neighbors_served = serializers.IntegerField()
    repeat_neighbors = serializers.IntegerField(help_text="Neighbors with 2 or more responses.")
    repeat_neighbors_5_plus = serializers.IntegerField()
    neighbors_by_response_count = ResponseCountsOutput()
    median_hours_to_first_contact = serializers.FloatField(
        allow_null=True, help_text="From the field response to the first contact attempt."
    )
    follow_ups_with_an_attempt = serializers.IntegerField()
    demographics = DemographicsOutput()


class MetricsApi(APIView):
    """Program metrics for a period of local dates; METRICS.md defines every number."""

    permission_classes = [IsAuthenticated, require_perms("heart_cases.view_metrics")]

    @extend_schema(
        operation_id="metrics_retrieve",
        parameters=[MetricsQuery],
        responses={
            200: MetricsOutput,
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        query = MetricsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        metrics = selectors.program_metrics(period=query.validated_data["period"])
        return Response(MetricsOutput(metrics).data)
