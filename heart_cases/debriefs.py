"""The supervisors' debrief list (API.md, "Field responses from other sources"): a responder's
post-response survey asked for a debrief (`debrief_requested: true`, recorded at intake by
services.debrief_request); a supervisor holds it and marks it done with a note.

`GET /api/v1/debriefs/?status=open|done` and `POST /api/v1/debriefs/{id}/done/`, and the
service and selectors the `/debriefs/` page shares with them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .actors import acting_user, stamp
from .api_common import (
    Conflict,
    DetailSerializer,
    ErrorSerializer,
    Pagination,
    page_schema,
    require_perms,
)
from .middleware import client_address
from .models import Debrief, Program

VIEW_DEBRIEFS = "heart_cases.view_debrief"
HOLD_DEBRIEFS = "heart_cases.change_debrief"
NOTE_MAX_LENGTH = 5000


def debriefs_for(*, user: User | AnonymousUser, status: str | None = None) -> QuerySet[Debrief]:
    """The debrief list, oldest request first (the list is worked from the top)."""
    if not user.has_perm(VIEW_DEBRIEFS):
        return Debrief.objects.none()
    found = Debrief.objects.select_related("field_response__recorded_by", "done_by")
    if status:
        found = found.filter(status=status)
    return found.order_by("requested_at", "id")


def debrief_get_for_user(*, user: User | AnonymousUser, debrief_id: int | str) -> Debrief:
    try:
        pk = int(debrief_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    found = debriefs_for(user=user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@transaction.atomic
def debrief_done(*, actor: User, debrief: Debrief, note: str = "") -> Debrief:
    """Mark the debrief held, with the supervisor's note; in its history by `actor`. A debrief
    already done is a services.TransitionError (409)."""
    debrief = Debrief.objects.select_for_update().get(pk=debrief.pk)
    if debrief.status == Debrief.Status.DONE:
        raise services.TransitionError("This debrief is already done.")
    debrief.status = Debrief.Status.DONE
    debrief.done_at = timezone.now()
    debrief.done_by = actor  # type: ignore[assignment]
    debrief.note = note
    stamp(debrief, actor=actor, reason=f"Debrief done. {note}".strip()).save()
    return debrief


def debrief_json(debrief: Debrief) -> dict[str, Any]:
    response = debrief.field_response
    return {
        "id": debrief.pk,
        "field_response": {
            "id": response.pk,
            "incident_number": response.incident_number,
            "unit": response.unit,
            "program": response.program,
            "responded_at": response.responded_at,
            "case": response.case_id,
            "source": response.source,
        },
        "requested_at": debrief.requested_at,
        "requested_by": response.recorded_by.get_username(),
        "status": debrief.status,
        "done_at": debrief.done_at,
        "done_by": debrief.done_by.get_username() if debrief.done_by else None,
        "note": debrief.note,
    }


def log_debriefs_shown(request: Any, debriefs: list[Debrief]) -> None:
    """The list names field responses of cases: one access-log entry per case shown."""
    by_case: dict[int | None, list[int]] = {}
    for debrief in debriefs:
        by_case.setdefault(debrief.field_response.case_id, []).append(debrief.pk)
    services.access_log_write_by_case(
        user=request.user,
        action="list",
        object_type="debrief",
        ids_by_case=by_case,
        client_address=client_address(request),
        request_id=getattr(getattr(request, "_request", request), "request_id", ""),
        path=request.path,
    )


# --- API -------------------------------------------------------------------------------------


class DebriefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    field_response = inline_serializer(
        "DebriefFieldResponse",
        {
            "id": serializers.IntegerField(),
            "incident_number": serializers.CharField(),
            "unit": serializers.CharField(),
            "program": serializers.ChoiceField(choices=Program.choices),
            "responded_at": serializers.DateTimeField(),
            "case": serializers.IntegerField(),
            "source": serializers.CharField(),
        },
    )
    requested_at = serializers.DateTimeField()
    requested_by = serializers.CharField()
    status = serializers.ChoiceField(choices=Debrief.Status.choices)
    done_at = serializers.DateTimeField(allow_null=True)
    done_by = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


class DebriefListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Debrief.Status.choices, required=False)


class DebriefDoneInput(serializers.Serializer):
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=True
    )

    def validate_note(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError("A note cannot hold a NUL character.")
        return value


class DebriefPagination(Pagination):
    ordering = ("requested_at", "id")


class DebriefListApi(APIView):
    permission_classes = [IsAuthenticated, require_perms(VIEW_DEBRIEFS)]

    @page_schema(
        operation_id="debriefs_list",
        name="DebriefPage",
        item=DebriefOutput(many=True),
        query=DebriefListQuery,
    )
    def get(self, request: Request) -> Response:
        query = DebriefListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = debriefs_for(user=request.user, status=query.validated_data.get("status"))
        paginator = DebriefPagination()
        page: list[Debrief] = list(paginator.paginate_queryset(found, request, view=self) or [])
        log_debriefs_shown(request, page)
        return paginator.get_paginated_response([debrief_json(d) for d in page])


class DebriefDoneApi(APIView):
    permission_classes = [IsAuthenticated, require_perms(HOLD_DEBRIEFS)]

    @extend_schema(
        operation_id="debriefs_done",
        request=DebriefDoneInput,
        responses={
            200: DebriefOutput,
            400: ErrorSerializer,
            401: DetailSerializer,
            403: DetailSerializer,
            404: DetailSerializer,
            409: DetailSerializer,
        },
    )
    def post(self, request: Request, debrief_id: int) -> Response:
        user = acting_user(request)
        debrief = debrief_get_for_user(user=user, debrief_id=debrief_id)
        data = DebriefDoneInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            debrief = debrief_done(
                actor=user, debrief=debrief, note=data.validated_data.get("note", "")
            )
        except services.TransitionError as exc:
            raise Conflict(str(exc)) from exc
        debrief = debriefs_for(user=user).get(pk=debrief.pk)
        return Response(DebriefOutput(debrief_json(debrief)).data)
