"""API v1 for the task list, contact attempts and reassignment (API.md)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from heart_cases import selectors as case_selectors
from heart_cases.actors import acting_user
from heart_cases.api import CaseDetailOutput, log_access
from heart_cases.api_common import (
    AwareDateTimeField,
    Conflict,
    DetailSerializer,
    ErrorSerializer,
    Pagination,
    page_schema,
    require_perms,
)
from heart_cases.services import TransitionError

from . import selectors, services
from .models import ContactAttempt, FollowUpTask, Pair


class TaskPagination(Pagination):
    ordering = ("work_by", "id")


class TaskNeighborOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()


class TaskOutput(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.IntegerField()
    case_number = serializers.CharField()
    kind = serializers.ChoiceField(choices=FollowUpTask.Kind.choices)
    status = serializers.ChoiceField(choices=FollowUpTask.Status.choices)
    deadline = serializers.DateTimeField()
    work_by = serializers.DateTimeField()
    outside_service_hours = serializers.BooleanField(
        help_text="No service time lay between the encounter and the deadline: the work-by is "
        "the first moment of service after the encounter (DESIGN.md)."
    )
    due_at = serializers.DateTimeField(allow_null=True)
    pair = serializers.IntegerField(allow_null=True)
    neighbor = TaskNeighborOutput()


class TaskListQuery(serializers.Serializer):
    view = serializers.ChoiceField(choices=["today", "overdue", "upcoming"], required=False)
    mine = serializers.BooleanField(required=False, default=False)


class TaskListApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("navigation.view_followuptask")]

    @page_schema(
        operation_id="tasks_list",
        name="TaskPage",
        item=TaskOutput(many=True),
        query=TaskListQuery,
    )
    def get(self, request: Request) -> Response:
        query = TaskListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        tasks = selectors.task_list(
            user=acting_user(request),
            view=query.validated_data.get("view"),
            mine=query.validated_data["mine"],
        )
        paginator = TaskPagination()
        page = paginator.paginate_queryset(tasks, request, view=self) or []
        log_access(request, action="list", object_type="task", ids=[t.pk for t in page])
        return paginator.get_paginated_response([selectors.task_json(t) for t in page])


class AttemptInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=ContactAttempt.Method.choices)
    outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
    occurred_at = AwareDateTimeField()
    duration_minutes = serializers.IntegerField(
        min_value=0, max_value=600, required=False, allow_null=True
    )
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    contact = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="The neighbor's contact the attempt was to (one the pair may contact); "
        "left out or null: the neighbor.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        phone_only = {ContactAttempt.Outcome.LEFT_VOICEMAIL, ContactAttempt.Outcome.WRONG_NUMBER}
        if attrs["method"] == ContactAttempt.Method.IN_PERSON and attrs["outcome"] in phone_only:
            raise serializers.ValidationError(
                {
                    "outcome": [
                        gettext("'%(outcome)s' does not apply to a visit in person.")
                        % {"outcome": attrs["outcome"]}
                    ]
                }
            )
        return attrs


class AttemptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    task = inline_serializer(
        "AttemptTask", {"id": serializers.IntegerField(), "status": serializers.CharField()}
    )
    next_task = TaskOutput(allow_null=True)
    case_closed = serializers.BooleanField()


def attempt_json(result: services.AttemptResult) -> dict[str, Any]:
    return {
        "id": result.attempt.pk,
        "task": {"id": result.task.pk, "status": result.task.status},
        "next_task": selectors.task_json(result.next_task) if result.next_task else None,
        "case_closed": result.case_closed,
    }


def task_for_attempt(*, user: Any, task_id: int) -> FollowUpTask:
    task = FollowUpTask.objects.select_related("case__neighbor", "pair").filter(pk=task_id).first()
    if task is None or not case_selectors.can_view_cases(user):
        raise Http404
    return task


class AttemptCreateApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("navigation.add_contactattempt")]

    @extend_schema(
        operation_id="tasks_attempts_create",
        request=AttemptInput,
        responses={
            201: AttemptOutput,
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
    )
    def post(self, request: Request, task_id: int) -> Response:
        user = acting_user(request)
        task = task_for_attempt(user=user, task_id=task_id)
        if not services.can_work_task(user, task):
            return Response(
                {
                    "detail": gettext(
                        "Only the assigned pair or a supervisor can log attempts on this task."
                    )
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        data = AttemptInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = services.attempt_record(actor=user, task=task, **data.validated_data)
        except TransitionError as exc:
            raise Conflict(str(exc)) from exc
        except services.AttemptInvalid as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return Response(AttemptOutput(attempt_json(result)).data, status=status.HTTP_201_CREATED)


class CaseAssignInput(serializers.Serializer):
    pair = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class CaseAssignApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("heart_cases.assign_case")]

    @extend_schema(
        operation_id="cases_assign",
        request=CaseAssignInput,
        responses={
            200: CaseDetailOutput,
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        user = acting_user(request)
        case = case_selectors.case_get_for_user(user=user, case_id=case_id)
        data = CaseAssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = Pair.objects.filter(pk=data.validated_data["pair"]).first()
        if pair is None:
            raise serializers.ValidationError({"pair": [gettext("No such pair.")]})
        try:
            services.case_reassign(
                actor=user,
                case=case,
                pair=pair,
                reason=data.validated_data.get("reason") or "no reason given",
            )
        except TransitionError as exc:
            raise Conflict(str(exc)) from exc
        return Response(case_selectors.case_detail(case))
