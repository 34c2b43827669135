"""API v1 for the provider directory and referrals (API.md). Thin: parse, call one service or
selector, render. Who sees what lives in selectors; 404 for what a caller may not see."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django.db import IntegrityError
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from heart_cases.actors import acting_user
from heart_cases.api import log_access
from heart_cases.api_common import (
    AwareDateTimeField,
    Conflict,
    DetailSerializer,
    ErrorSerializer,
    Pagination,
    require_perms,
)
from heart_cases.models import Case, Need
from heart_cases.selectors import case_get_for_user
from heart_cases.services import TransitionError

from . import fhir, selectors, services
from .models import CONSENT_REASONS, Consent, ReasonCode, Referral, Service

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class CanSeeReferrals(BasePermission):
    """Staff (view_referral) and provider staff (respond_referral); other roles are 403."""

    message = gettext_lazy("Your role may not see referrals.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (
                user.has_perm(selectors.VIEW_REFERRAL) or user.has_perm(selectors.RESPOND_REFERRAL)
            )
        )


_ERRORS: dict[int | str, Any] = {
    400: ErrorSerializer,
    401: DetailSerializer,
    403: DetailSerializer,
    404: DetailSerializer,
}


def _page_of(name: str, item: Any) -> Any:
    return inline_serializer(
        name,
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item,
        },
    )


# --- the directory -------------------------------------------------------------------------


class ServiceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    category = serializers.ChoiceField(choices=Need.choices)
    languages = serializers.ListField(child=serializers.CharField())
    accepting_referrals = serializers.BooleanField()
    description = serializers.CharField()
    hours = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class LocationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    phone = serializers.CharField()


class ProviderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    accepting_referrals = serializers.BooleanField()
    description = serializers.CharField()
    phone = serializers.CharField()
    website = serializers.CharField()
    services = ServiceOutput(many=True)
    locations = LocationOutput(many=True)


class ProviderListQuery(serializers.Serializer):
    service = serializers.ChoiceField(choices=Need.choices, required=False)
    language = serializers.CharField(max_length=16, required=False)
    accepting = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_language(self, value: str) -> str:
        if not _LANGUAGE.match(value):
            raise serializers.ValidationError(gettext("Use a language code such as 'en' or 'es'."))
        return value


class DirectoryPagination(Pagination):
    ordering = ("name", "id")  # type: ignore[assignment]


class ProviderListApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("referrals.view_provider")]

    @extend_schema(
        operation_id="providers_list",
        parameters=[
            ProviderListQuery,
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: _page_of("ProviderPage", ProviderOutput(many=True)), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The directory. With `service` and/or `language`, only providers with a service that
        meets both, and of each provider only the services that do."""
        query = ProviderListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        providers = selectors.provider_directory(
            need=query.validated_data.get("service"),
            language=query.validated_data.get("language"),
            accepting=query.validated_data.get("accepting"),
        )
        paginator = DirectoryPagination()
        page = paginator.paginate_queryset(providers, request, view=self) or []
        return paginator.get_paginated_response([selectors.provider_json(p) for p in page])


# --- referrals -----------------------------------------------------------------------------


class PersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class ContactOutput(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()


class TimelineOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Referral.Status.choices)
    business_status = serializers.ChoiceField(choices=Referral.BusinessStatus.choices)
    actor = serializers.CharField(allow_null=True, required=False)
    reason = serializers.CharField(required=False)


class ReferralOutput(serializers.Serializer):
    """Staff see every field; provider staff only id, status, business_status, status_reason,
    provider, service, reason, neighbor {name, phone, language}, navigator and the times."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Referral.Status.choices)
    business_status = serializers.ChoiceField(choices=Referral.BusinessStatus.choices)
    status_reason = serializers.ChoiceField(choices=ReasonCode.choices, allow_null=True)
    status_note = serializers.CharField(required=False)
    case = inline_serializer(
        "ReferralCase",
        {"id": serializers.IntegerField(), "number": serializers.CharField()},
        required=False,
    )
    neighbor = inline_serializer(
        "ReferralNeighbor",
        {
            "id": serializers.IntegerField(required=False),
            "display_name": serializers.CharField(required=False),
            "name": serializers.CharField(required=False),
            "phone": serializers.CharField(),
            "language": serializers.CharField(),
            "withheld": serializers.ChoiceField(
                choices=["consent-withdrawn", "consent-expired"],
                allow_null=True,
                required=False,
                help_text="Provider staff: why the name and phone are no longer shown.",
            ),
        },
    )
    provider = inline_serializer(
        "ReferralProvider",
        {
            "id": serializers.IntegerField(),
            "slug": serializers.CharField(),
            "name": serializers.CharField(),
        },
    )
    service = inline_serializer(
        "ReferralService",
        {
            "id": serializers.IntegerField(),
            "name": serializers.CharField(),
            "category": serializers.ChoiceField(choices=Need.choices),
        },
    )
    reason = serializers.CharField()
    consent = inline_serializer(
        "ReferralConsent",
        {
            "id": serializers.IntegerField(),
            "obtained": serializers.BooleanField(),
            "method": serializers.ChoiceField(choices=Consent.Method.choices),
            "obtained_at": serializers.DateTimeField(),
            "obtained_by": PersonOutput(),
            "withdrawn_at": serializers.DateTimeField(allow_null=True),
            "purpose": serializers.CharField(),
            "scope": serializers.ListField(
                child=serializers.ChoiceField(choices=Consent.Scope.choices)
            ),
            "expires_at": serializers.DateTimeField(),
            "active": serializers.BooleanField(),
        },
        required=False,
    )
    part2 = serializers.BooleanField(
        required=False, help_text="Staff: the referral is under 42 CFR Part 2."
    )
    part2_notice = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="Provider staff: the 42 CFR § 2.32 notice that goes with this disclosure.",
    )
    navigator = ContactOutput()
    requested_at = serializers.DateTimeField()
    requested_by = PersonOutput(required=False)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    status_changed_at = serializers.DateTimeField()
    status_changed_by = PersonOutput(required=False)
    handoff_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    chase_at = serializers.DateTimeField(required=False)
    expire_at = serializers.DateTimeField(required=False)
    chased_at = serializers.DateTimeField(allow_null=True, required=False)
    timeline = TimelineOutput(many=True, required=False)


class ConsentInput(serializers.Serializer):
    obtained = serializers.BooleanField()
    method = serializers.ChoiceField(choices=Consent.Method.choices)
    obtained_at = AwareDateTimeField()
    purpose = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=f"What the neighbor consented to; default {Consent.DEFAULT_PURPOSE!r}. "
        "Required under 42 CFR Part 2.",
    )
    scope = serializers.ListField(
        child=serializers.ChoiceField(choices=Consent.Scope.choices),
        required=False,
        max_length=len(Consent.Scope.values),
        help_text=f"What may be shared; default {' '.join(Consent.DEFAULT_SCOPE)}. Under 42 "
        "CFR Part 2 it holds substance_use.",
    )
    expires_at = AwareDateTimeField(
        happened=False,
        required=False,
        help_text="Until when; default a year after obtained_at. In the past is a 400.",
    )

    def validate_obtained(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(
                gettext("A referral is sent only with the neighbor's consent to share.")
            )
        return value


_INT_MAX = 2**63 - 1  # bigint: an id past it names nothing


class ReferralCreateInput(serializers.Serializer):
    case = serializers.IntegerField(min_value=1, max_value=_INT_MAX)
    provider = serializers.IntegerField(min_value=1, max_value=_INT_MAX)
    service = serializers.IntegerField(min_value=1, max_value=_INT_MAX)
    reason = serializers.CharField(max_length=5000)
    consent = ConsentInput()


class ReferralListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Referral.Status.choices, required=False)
    case = serializers.IntegerField(min_value=1, max_value=_INT_MAX, required=False)
    provider = serializers.IntegerField(min_value=1, max_value=_INT_MAX, required=False)


class ReferralListCreateApi(APIView):
    def get_permissions(self) -> list[BasePermission]:
        if self.request.method == "POST":
            return [IsAuthenticated(), require_perms("referrals.add_referral")()]
        return [IsAuthenticated(), CanSeeReferrals()]

    @extend_schema(
        operation_id="referrals_list",
        parameters=[
            ReferralListQuery,
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: _page_of("ReferralPage", ReferralOutput(many=True)), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = ReferralListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        referrals = selectors.referral_list(
            user=request.user,
            status=query.validated_data.get("status"),
            case_id=query.validated_data.get("case"),
            provider_id=query.validated_data.get("provider"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(referrals, request, view=self) or []
        log_access(request, action="list", object_type="referral", ids=[r.pk for r in page])
        return paginator.get_paginated_response(
            [selectors.referral_json_for(request.user, r) for r in page]
        )

    @extend_schema(
        operation_id="referrals_create",
        request=ReferralCreateInput,
        responses={201: ReferralOutput, **_ERRORS, 409: DetailSerializer},
    )
    def post(self, request: Request) -> Response:
        data = ReferralCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        errors: dict[str, list[str]] = {}
        case = _visible_case(request, values["case"])
        if case is None:
            errors["case"] = [gettext("No such case.")]
        service = Service.objects.select_related("provider").filter(pk=values["service"]).first()
        if service is None:
            errors["service"] = [gettext("No such service.")]
        elif service.provider_id != values["provider"]:
            errors["service"] = [
                gettext("%(service)s is not a service of provider %(provider)s.")
                % {"service": service.name, "provider": values["provider"]}
            ]
        if errors or case is None or service is None:
            raise serializers.ValidationError(errors)
        try:
            referral = services.referral_create(
                actor=acting_user(request),
                case=case,
                service=service,
                provider=service.provider,
                reason=values["reason"],
                consent_method=values["consent"]["method"],
                consent_obtained_at=values["consent"]["obtained_at"],
                consent_purpose=values["consent"].get("purpose"),
                consent_scope=values["consent"].get("scope"),
                consent_expires_at=values["consent"].get("expires_at"),
            )
        except services.ReferralInvalid as exc:
            raise serializers.ValidationError(exc.errors) from exc
        except TransitionError as exc:
            raise Conflict(str(exc)) from exc
        except IntegrityError as exc:  # a concurrent identical referral committed first
            raise Conflict(
                gettext("This case already has an open referral to this service.")
            ) from exc
        referral = selectors.referral_get_for_user(user=request.user, referral_id=referral.pk)
        return Response(
            selectors.referral_json_for(request.user, referral, with_timeline=True),
            status=status.HTTP_201_CREATED,
        )


def _visible_case(request: Request, case_id: int) -> Case | None:
    try:
        return case_get_for_user(user=request.user, case_id=case_id)
    except Http404:
        return None


def _referral_for(request: Request, referral_id: int, *, to_answer: bool = False) -> Referral:
    finder = selectors.referral_get_to_answer if to_answer else selectors.referral_get_for_user
    try:
        return finder(user=request.user, referral_id=referral_id)
    except Http404:
        log_access(request, action="view", object_type="referral", ids=[referral_id], denied=True)
        raise


class ReferralDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanSeeReferrals]

    @extend_schema(operation_id="referrals_retrieve", responses={200: ReferralOutput, **_ERRORS})
    def get(self, request: Request, referral_id: int) -> Response:
        referral = _referral_for(request, referral_id)
        log_access(
            request,
            action="view",
            object_type="referral",
            ids=[referral.pk],
            case_id=referral.case_id,
        )
        return Response(selectors.referral_json_for(request.user, referral, with_timeline=True))


class ReferralFhirApi(APIView):
    permission_classes = [IsAuthenticated, CanSeeReferrals]

    @extend_schema(
        operation_id="referrals_fhir",
        description="The referral as a FHIR R4 Bundle conforming to the Gravity SDOH Clinical Care "
        "profiles: its Task, ServiceRequest, Consent, Patient, PractitionerRole, Practitioner "
        "and Organizations.",
        responses={
            200: inline_serializer(
                "FhirBundle",
                {
                    "resourceType": serializers.CharField(),
                    "type": serializers.CharField(),
                    "entry": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **_ERRORS,
        },
    )
    def get(self, request: Request, referral_id: int) -> Response:
        referral = _referral_for(request, referral_id)
        log_access(
            request,
            action="export",
            object_type="referral",
            ids=[referral.pk],
            case_id=referral.case_id,
        )
        staff = selectors.sees_all_referrals(request.user)
        timeline = selectors.referral_timelines([referral]).get(referral.pk, []) if staff else None
        return Response(
            fhir.referral_bundle(referral, timeline=timeline, notes=staff),
            content_type="application/fhir+json",
        )


# --- transitions ---------------------------------------------------------------------------


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ReasonInput(serializers.Serializer):
    # The consent reasons are the system's: a withdrawal or an expiry gives them, not a person.
    reason = serializers.ChoiceField(
        choices=[(c, label) for c, label in ReasonCode.choices if c not in CONSENT_REASONS]
    )
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class HandoffInput(serializers.Serializer):
    occurred_at = AwareDateTimeField(required=False, allow_null=True)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ReferralActionApi(APIView):
    """POST /referrals/{id}/ACTION/: one arrow of the referral machine. 200 with the referral;
    409 when its status does not allow the action."""

    action: ClassVar[str]
    input_class: ClassVar[type[serializers.Serializer]] = NoteInput

    def get_permissions(self) -> list[BasePermission]:
        perm = (
            "referrals.respond_referral"
            if services.ACTIONS[self.action].by == "provider"
            else "referrals.change_referral"
        )
        return [IsAuthenticated(), require_perms(perm)()]

    def post(self, request: Request, referral_id: int) -> Response:
        by_provider = services.ACTIONS[self.action].by == "provider"
        referral = _referral_for(request, referral_id, to_answer=by_provider)
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(data.validated_data)
        try:
            referral = services.referral_transition(
                actor=acting_user(request),
                referral=referral,
                action=self.action,
                reason_code=values.get("reason", ""),
                note=values.get("note", ""),
                occurred_at=values.get("occurred_at"),
            )
        except services.ReferralInvalid as exc:
            raise serializers.ValidationError(exc.errors) from exc
        except TransitionError as exc:
            raise Conflict(str(exc)) from exc
        referral = selectors.referral_get_for_user(user=request.user, referral_id=referral.pk)
        return Response(selectors.referral_json_for(request.user, referral, with_timeline=True))


def _action_api(action: str, input_class: type[serializers.Serializer]) -> type[APIView]:
    name = "".join(part.title() for part in action.split("-"))
    view = type(
        f"Referral{name}Api", (ReferralActionApi,), {"action": action, "input_class": input_class}
    )
    return extend_schema_view(
        post=extend_schema(
            operation_id=f"referrals_{action.replace('-', '_')}",
            request=input_class,
            responses={200: ReferralOutput, **_ERRORS, 409: DetailSerializer},
        )
    )(view)


ACTION_INPUTS: dict[str, type[serializers.Serializer]] = {
    "acknowledge": NoteInput,
    "accept": NoteInput,
    "decline": ReasonInput,
    "start": NoteInput,
    "waitlist": NoteInput,
    "confirm-handoff": HandoffInput,
    "no-show": NoteInput,
    "cancel": ReasonInput,
}
ACTION_APIS = {action: _action_api(action, inputs) for action, inputs in ACTION_INPUTS.items()}


# --- consent -------------------------------------------------------------------------------


class ConsentWithdrawApi(APIView):
    permission_classes = [IsAuthenticated, require_perms("referrals.change_referral")]

    @extend_schema(
        operation_id="consents_withdraw",
        description="The neighbor withdraws consent to share: open referrals under it are "
        "cancelled.",
        request=NoteInput,
        responses={
            200: inline_serializer(
                "ConsentWithdrawn",
                {
                    "id": serializers.IntegerField(),
                    "withdrawn_at": serializers.DateTimeField(),
                    "cancelled_referrals": serializers.ListField(child=serializers.IntegerField()),
                },
            ),
            **_ERRORS,
            409: DetailSerializer,
        },
    )
    def post(self, request: Request, consent_id: int) -> Response:
        consent = selectors.consent_get_for_user(user=request.user, consent_id=consent_id)
        data = NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        before = set(
            consent.referrals.filter(status__in=Referral.OPEN_STATUSES).values_list("pk", flat=True)
        )
        try:
            consent = services.consent_withdraw(
                actor=acting_user(request),
                consent=consent,
                note=data.validated_data.get("note", ""),
            )
        except TransitionError as exc:
            raise Conflict(str(exc)) from exc
        return Response(
            {
                "id": consent.pk,
                "withdrawn_at": consent.withdrawn_at or timezone.now(),
                "cancelled_referrals": sorted(before),
            }
        )
