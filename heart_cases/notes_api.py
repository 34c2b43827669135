"""API v1 for case notes (API.md, "Case notes and closing"): `GET` and `POST
/api/v1/cases/{id}/notes/`. Behind break the glass like `GET /api/v1/cases/{id}/`; every read
is in the access log. Nothing edits or deletes a note: the view has no PUT, PATCH or DELETE
(405)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import notes
from .actors import acting_user
from .api import _CASE_READ_ERRORS, ACCESS_REASON, _case_to_read, _log_case_read
from .api_common import AwareDateTimeField, DetailSerializer, ErrorSerializer, Pagination


class CaseNoteInput(serializers.Serializer):
    text = serializers.CharField(
        max_length=notes.NOTE_TEXT_MAX_LENGTH, trim_whitespace=False, allow_blank=False
    )
    occurred_at = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="When what the note tells of happened; now when left out. Not in the future, "
        "not before the case's first field response.",
    )
    amends = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="The id of the earlier note of this case that this one corrects.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # A number or a list is not a note (DRF's CharField would take 12 as "12").
        if hasattr(data, "get") and "text" in data and not isinstance(data.get("text"), str):
            raise serializers.ValidationError({"text": [_("Give the note as text.")]})
        return super().to_internal_value(data)

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError(_("Write the note; it cannot be blank."))
        if "\x00" in value:
            raise serializers.ValidationError(_("A note cannot hold a NUL character."))
        return value


class NoteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField()
    author_name = serializers.CharField()
    at = serializers.DateTimeField()
    occurred_at = serializers.DateTimeField()
    text = serializers.CharField()
    amends = serializers.IntegerField(allow_null=True)


class NotePagination(Pagination):
    ordering = ("at", "id")


class _WritesNotesOnPost(BasePermission):
    """Reading notes is for whoever may see the case (404 to others, as the case); writing one
    is for the roles that may close it (403 to others, as closing)."""

    message = "Your role may not do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method != "POST":
            return True
        return bool(request.user.has_perm(notes.WRITES_NOTES))


class CaseNotesApi(APIView):
    permission_classes = [IsAuthenticated, _WritesNotesOnPost]

    @extend_schema(
        operation_id="cases_notes_list",
        parameters=[
            ACCESS_REASON,
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("page_size", int, required=False, description="1 to 200"),
        ],
        responses={
            200: inline_serializer(
                "CaseNotePage",
                {
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": NoteOutput(many=True),
                },
            ),
            **_CASE_READ_ERRORS,
        },
    )
    def get(self, request: Request, case_id: int) -> Response:
        case, _reason = _case_to_read(request, case_id, object_type="case_note")
        paginator = NotePagination()
        page: list[Any] = paginator.paginate_queryset(notes.notes_of_case(case), request, view=self)
        return paginator.get_paginated_response([notes.note_json(n) for n in page or []])

    @extend_schema(
        operation_id="cases_notes_create",
        request=CaseNoteInput,
        parameters=[ACCESS_REASON],
        responses={
            201: NoteOutput,
            400: ErrorSerializer,
            401: DetailSerializer,
            403: inline_serializer(
                "CaseNoteRefused",
                {
                    "detail": serializers.CharField(),
                    "reason_required": serializers.BooleanField(required=False),
                },
            ),
            404: DetailSerializer,
        },
    )
    def post(self, request: Request, case_id: int) -> Response:
        # The answer shows the note only, but writing one is a use of the case like reading
        # it: another pair's case needs a reason first, and the write is in the access log.
        case, reason = _case_to_read(request, case_id, object_type="case_note", log_read=False)
        data = CaseNoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            note = notes.note_create(
                actor=acting_user(request),
                case=case,
                text=data.validated_data["text"],
                occurred_at=data.validated_data.get("occurred_at"),
                amends_id=data.validated_data.get("amends"),
            )
        except notes.NoteInvalid as exc:
            raise serializers.ValidationError(exc.errors) from exc
        _log_case_read(request, case, object_type="case_note", reason=reason)
        note = notes.notes_of_case(case).get(pk=note.pk)
        return Response(NoteOutput(notes.note_json(note)).data, status=status.HTTP_201_CREATED)
