"""FHIR R4 REST for providers' own systems (API.md, "Interoperability"): `/fhir/Task`.

A provider whose system speaks FHIR finds its referrals as SDOHCC Tasks (a `searchset` Bundle),
reads one, and answers by `PUT`ting the Task back with its `status` (and `statusReason`,
`output`) changed. A change is one arrow of the referral machine, taken through the same service
(`referrals.services.referral_transition`) as `POST /api/v1/referrals/{id}/ACTION/` and the
portal: the same rules, history in the provider's name, the same notices. Nothing here decides
what a transition may do; it only reads which one the Task asks for.

FHIR's conventions, not /api/'s: every answer is `application/fhir+json`, every refusal an
`OperationOutcome`. Only provider staff, and only for their own organization: another
organization's Task is a 404, as a Task that does not exist. A Task's version is the latest of
its referral's history rows (`meta.versionId`, `ETag: W/"…"`), so `If-Match` can refuse a change
made against a version that is no longer current (412) without a column of its own.

Status changes a provider can ask for (Task.status now → asked → the machine's action):

    requested → requested, businessStatus "viewed"   acknowledge
    requested → accepted                             accept
    requested → rejected (statusReason code)         decline
    accepted | on-hold → in-progress                 start
    accepted → on-hold                               waitlist (statusReason optional: waitlist)
    accepted | in-progress | on-hold → completed     confirm-handoff (the resulting-activity
                                                     output required; handoff-confirmed
                                                     valueDateTime optional: when they arrived)
    accepted | in-progress | on-hold → failed        no-show

`cancelled` is the program's to give (a provider declines instead) and nothing goes back to
`requested`: both are 409, as every arrow the machine does not have. A note for the history
comes from `statusReason.text` and from `note` entries the Task did not have before.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from fhir.resources.R4B.task import Task
from pydantic import ValidationError as PydanticValidationError
from rest_framework import exceptions
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from heart_cases.actors import acting_user
from heart_cases.api import log_access
from heart_cases.parsers import JSONParser
from heart_cases.services import TransitionError

from . import disclosure, fhir, selectors, services
from .models import CONSENT_REASONS, ReasonCode, Referral

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
ACCEPTED_BODIES = (FHIR_JSON, "application/json")
# FHIR R4 TaskStatus, and the part of it the SDOHCC referral Task allows (no ready, received).
FHIR_TASK_STATUSES = frozenset(
    [
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    ]
)
REFERRAL_TASK_STATUSES = FHIR_TASK_STATUSES - {"ready", "received"}
# The action that takes a referral to each status; `requested` is where it starts, not an arrow.
ACTION_TO: dict[str, str] = {
    Referral.Status.ACCEPTED: "accept",
    Referral.Status.REJECTED: "decline",
    Referral.Status.IN_PROGRESS: "start",
    Referral.Status.ON_HOLD: "waitlist",
    Referral.Status.COMPLETED: "confirm-handoff",
    Referral.Status.FAILED: "no-show",
    Referral.Status.CANCELLED: "cancel",
}
# What a PUT may change; every other element it carries must be what the Task holds now.
MUTABLE = frozenset(
    [
        "resourceType",
        "id",
        "meta",
        "text",
        "status",
        "statusReason",
        "businessStatus",
        "output",
        "lastModified",
        "note",
        "executionPeriod",
    ]
)
REFERENCES = frozenset({"focus", "for", "owner", "requester"})
MOMENTS = frozenset({"authoredOn"})
NOTE_MAX = 5000
PAGE_DEFAULT = 50
PAGE_MAX = 200
_BIGINT = 2**63 - 1
SEARCH_PARAMETERS = ("owner", "status", "_count", "_cursor", "_format", "_pretty")
_ID = re.compile(r"^[0-9]{1,19}$")


# --- answers -------------------------------------------------------------------------------


class FhirRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


class FhirJSONParser(JSONParser):
    media_type = FHIR_JSON


def operation_outcome(
    diagnostics: str,
    *,
    code: str,
    expression: list[str] | None = None,
    severity: str = "error",
) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": str(diagnostics)}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class FhirError(exceptions.APIException):
    """A refusal as an OperationOutcome: `status_code`, its issue `code` and the elements."""

    def __init__(
        self, status: int, diagnostics: Any, *, code: str, expression: list[str] | None = None
    ) -> None:
        super().__init__(str(diagnostics))
        self.status_code = status
        self.issue_code = code
        self.expression = expression
        self.diagnostics = str(diagnostics)


def _bad(diagnostics: Any, *expression: str, code: str = "invalid") -> NoReturn:
    raise FhirError(400, diagnostics, code=code, expression=list(expression) or None)


def _fhir_response(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(body, status=status, headers=headers, content_type=FHIR_JSON)


# DRF's exceptions as FHIR's issue codes.
_ISSUE_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "structure",
    exceptions.NotAuthenticated: "login",
    exceptions.AuthenticationFailed: "login",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "not-supported",
    exceptions.NotAcceptable: "not-supported",
    exceptions.UnsupportedMediaType: "not-supported",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid",
}


def fhir_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """Every refusal under /fhir/ as an OperationOutcome (never /api/'s `{"detail"}`)."""
    headers: dict[str, str] = {}
    if isinstance(exc, FhirError):
        return _fhir_response(
            operation_outcome(exc.diagnostics, code=exc.issue_code, expression=exc.expression),
            status=exc.status_code,
        )
    if isinstance(exc, RequestDataTooBig):
        return _fhir_response(
            operation_outcome(str(_("The body is over 1 MiB.")), code="too-large"), status=413
        )
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("Database unavailable during %s: %s", context.get("request"), exc)
        return _fhir_response(
            operation_outcome(
                str(_("The database is unavailable; nothing was recorded. Try again shortly.")),
                code="transient",
            ),
            status=503,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("No such Task."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        logger.exception("FHIR request failed", exc_info=exc)
        return _fhir_response(
            operation_outcome(str(_("Internal server error.")), code="exception"), status=500
        )
    code = next((c for kind, c in _ISSUE_CODES.items() if isinstance(exc, kind)), "processing")
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    detail: Any = exc.detail
    if isinstance(exc, exceptions.ParseError):
        detail = _("Malformed JSON: %(detail)s") % {"detail": detail}
    elif isinstance(detail, dict):
        detail = "; ".join(f"{key}: {value}" for key, value in detail.items())
    elif isinstance(detail, list):
        detail = "; ".join(map(str, detail))
    return _fhir_response(
        operation_outcome(str(detail), code=code), status=exc.status_code, headers=headers
    )


class IsProviderStaff(BasePermission):
    message = _("Only provider staff may use the FHIR Task API, for their organization's Tasks.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(selectors.RESPOND_REFERRAL))


class FhirApi(APIView):
    """What every /fhir/ view shares: provider staff, FHIR JSON in and out, OperationOutcome."""

    permission_classes = [IsAuthenticated, IsProviderStaff]
    renderer_classes = [FhirRenderer]
    parser_classes = [FhirJSONParser, JSONParser]
    metadata_class = None  # OPTIONS: a 405 OperationOutcome, not DRF's own description

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # FHIR JSON whatever the Accept header says: there is no other format to offer.
        return FhirRenderer(), FHIR_JSON

    def get_exception_handler(self) -> Any:
        return fhir_exception_handler


def fhir_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every /fhir/ path that names nothing: an OperationOutcome, not a page."""
    body = operation_outcome(
        str(_("No FHIR endpoint at %(path)s: this server has Task only.") % {"path": request.path}),
        code="not-found",
    )
    return HttpResponse(FhirRenderer().render(body), status=404, content_type=FHIR_JSON)


# --- reading -------------------------------------------------------------------------------


def _with_versions(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    """Each referral's version: its latest history row (id and time), in the same query."""
    rows = Referral.history.filter(id=OuterRef("pk")).order_by("-history_id")
    return referrals.annotate(
        fhir_version=Subquery(rows.values("history_id")[:1]),
        fhir_updated=Subquery(rows.values("history_date")[:1]),
    )


def _version(referral: Referral) -> str:
    return str(getattr(referral, "fhir_version", None) or 0)


def task_json(referral: Referral) -> dict[str, Any]:
    return fhir.provider_task(
        referral,
        version_id=_version(referral),
        last_updated=getattr(referral, "fhir_updated", None),
    )


def _etag(referral: Referral) -> dict[str, str]:
    return {"ETag": f'W/"{_version(referral)}"'}


def _task_pk(task_id: str) -> int:
    if not _ID.match(task_id) or int(task_id) > _BIGINT:
        raise Http404
    return int(task_id)


def _task_for(request: Request, task_id: str) -> Referral:
    """The caller's organization's referral, with its version; 404 (logged) otherwise."""
    pk = _task_pk(task_id)  # not an id at all: no Task's, nothing to log
    referral = _with_versions(selectors.referrals_answerable_by(request.user)).filter(pk=pk).first()
    if referral is None:
        log_access(request, action="view", object_type="referral", ids=[pk], denied=True)
        raise Http404
    return referral


_OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="An OperationOutcome.")
_REFUSALS: dict[Any, Any] = {
    (status, FHIR_JSON): _OUTCOME for status in (400, 401, 403, 404, 405, 413, 415, 429)
}


class TaskSearchApi(FhirApi):
    @extend_schema(
        operation_id="fhir_task_search",
        summary="Search the organization's referral Tasks",
        description="A `searchset` Bundle of the caller's organization's referral Tasks (SDOHCC "
        "TaskForReferralManagement), oldest first. `owner` is the organization's slug (or its "
        "`Organization/` reference); another organization's gives an empty Bundle. `status` takes "
        "Task.status codes, comma-separated. `_count` is the page size (0 for the total alone), "
        "`_cursor` comes from the `next` link.",
        parameters=[
            OpenApiParameter("owner", str, required=False),
            OpenApiParameter("status", str, required=False),
            OpenApiParameter("_count", int, required=False),
            OpenApiParameter("_cursor", str, required=False),
        ],
        responses={(200, FHIR_JSON): OpenApiResponse(OpenApiTypes.OBJECT), **_REFUSALS},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - set(SEARCH_PARAMETERS))
        if unknown:
            _bad(
                _("Unknown search parameter(s) %(names)s; this server knows %(known)s.")
                % {"names": ", ".join(unknown), "known": ", ".join(SEARCH_PARAMETERS[:4])},
                code="not-supported",
            )
        statuses = _statuses(params.getlist("status"))
        count = _count(params.getlist("_count"))
        after = _cursor(params.getlist("_cursor"))
        membership = selectors.membership_of(request.user)
        referrals = selectors.referrals_answerable_by(request.user)
        if membership is None or not _owner_matches(params.getlist("owner"), membership.provider):
            referrals = referrals.none()
        if statuses is not None:
            referrals = referrals.filter(status__in=statuses)
        total = referrals.count()
        page: list[Referral] = []
        more = False
        if count and total:
            rows = list(_with_versions(referrals.filter(pk__gt=after)).order_by("pk")[: count + 1])
            page, more = rows[:count], len(rows) > count
        log_access(request, action="list", object_type="referral", ids=[r.pk for r in page])
        return _fhir_response(_searchset(request, page, total=total, count=count, more=more))


def _statuses(values: list[str]) -> set[str] | None:
    """`status` values: each a comma-separated OR, repeated parameters an AND."""
    chosen: set[str] | None = None
    for value in values:
        codes = {code.strip() for code in value.split(",")}
        wrong = sorted(code for code in codes if code not in FHIR_TASK_STATUSES)
        if wrong:
            _bad(
                _("status: %(codes)s is not a FHIR Task.status code.")
                % {"codes": ", ".join(map(repr, wrong))[:200]},
                "status",
                code="value",
            )
        chosen = codes if chosen is None else chosen & codes
    return chosen


def _count(values: list[str]) -> int:
    if not values:
        return PAGE_DEFAULT
    raw = values[-1].strip()
    if not raw.isdigit() or len(raw) > 6:
        _bad(_("_count: a whole number from 0 to %(max)s.") % {"max": PAGE_MAX}, "_count")
    return min(int(raw), PAGE_MAX)


def _cursor(values: list[str]) -> int:
    if not values:
        return 0
    raw = values[-1]
    if not _ID.match(raw) or int(raw) > _BIGINT:
        _bad(_("_cursor: not a cursor this server gave out; follow the next link."), "_cursor")
    return int(raw)


def _owner_matches(values: list[str], provider: Any) -> bool:
    """Each `owner` names the caller's organization: its slug, `Organization/slug`, or the
    Organization reference its Tasks carry."""
    names = {provider.slug, f"Organization/{provider.slug}", fhir.organization_urn(provider)}
    return all(value.strip() in names for value in values)


def _searchset(
    request: Request, page: list[Referral], *, total: int, count: int, more: bool
) -> dict[str, Any]:
    base = request.build_absolute_uri("/fhir/Task")
    given = [(k, v) for k, values in request.query_params.lists() for v in values]
    kept = [(k, v) for k, v in given if k != "_cursor"]
    self_query = urlencode(given)
    links = [{"relation": "self", "url": f"{base}?{self_query}" if self_query else base}]
    if more and page:
        next_query = urlencode([*kept, ("_cursor", str(page[-1].pk))])
        links.append({"relation": "next", "url": f"{base}?{next_query}"})
    entries = [
        {
            "fullUrl": f"{base}/{referral.pk}",
            "resource": task_json(referral),
            "search": {"mode": "match"},
        }
        for referral in page
    ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": timezone.localtime().isoformat(timespec="seconds")},
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    }
    if any(referral.is_part2 for referral in page):
        bundle["meta"]["security"] = [dict(disclosure.PART2_SECURITY)]
    if not entries:
        del bundle["entry"]
    return bundle


# --- one Task: read and update -------------------------------------------------------------

_TASK_ID = OpenApiParameter("task_id", str, OpenApiParameter.PATH, description="The referral's id.")


class TaskApi(FhirApi):
    @extend_schema(
        operation_id="fhir_task_read",
        summary="Read a referral Task",
        parameters=[_TASK_ID],
        responses={(200, FHIR_JSON): OpenApiResponse(OpenApiTypes.OBJECT), **_REFUSALS},
    )
    def get(self, request: Request, task_id: str) -> Response:
        referral = _task_for(request, task_id)
        log_access(
            request,
            action="view",
            object_type="referral",
            ids=[referral.pk],
            case_id=referral.case_id,
        )
        return _fhir_response(task_json(referral), headers=_etag(referral))

    @extend_schema(
        operation_id="fhir_task_update",
        summary="Answer a referral: PUT the Task with its status changed",
        description="The Task as read, with `status` (and `statusReason`, `output`) changed; the "
        'change is one arrow of the referral machine (API.md). `If-Match: W/"versionId"` is '
        "optional; a version no longer current is a 412 and changes nothing.",
        parameters=[
            _TASK_ID,
            OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False),
        ],
        request={FHIR_JSON: OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
        responses={
            (200, FHIR_JSON): OpenApiResponse(OpenApiTypes.OBJECT),
            **_REFUSALS,
            (409, FHIR_JSON): _OUTCOME,
            (412, FHIR_JSON): _OUTCOME,
        },
    )
    def put(self, request: Request, task_id: str) -> Response:
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_BODIES:
            raise FhirError(
                415,
                _("Send the Task as %(types)s.") % {"types": " or ".join(ACCEPTED_BODIES)},
                code="not-supported",
            )
        referral = _task_for(request, task_id)
        body: Any = request.data
        submitted = _parsed_task(body, referral.pk)
        actor = acting_user(request)
        with transaction.atomic():
            # Held until the change commits: a second system's PUT waits, then sees the version.
            locked = (
                _with_versions(Referral.objects.select_for_update(of=("self",)))
                .select_related("case__neighbor", "provider", "service", "consent", "requested_by")
                .get(pk=referral.pk)
            )
            _check_version(request.headers.get("If-Match"), locked)
            current = task_json(locked)
            _check_unchanged(body, current)
            step = _step_asked(body, submitted, locked, current)
            if step is not None:
                try:
                    services.referral_transition(actor=actor, referral=locked, **step)
                except TransitionError as exc:
                    raise FhirError(
                        409, exc, code="business-rule", expression=["Task.status"]
                    ) from exc
                except services.ReferralInvalid as exc:
                    raise FhirError(
                        400,
                        "; ".join(" ".join(v) for v in exc.errors.values()),
                        code="value",
                        expression=[_ELEMENT_OF.get(k, "Task") for k in exc.errors],
                    ) from exc
        referral = _task_for(request, task_id)
        return _fhir_response(task_json(referral), headers=_etag(referral))


_ELEMENT_OF = {
    "reason": "Task.statusReason",
    "occurred_at": "Task.output.valueDateTime",
    "note": "Task.note",
}


def _parsed_task(body: Any, pk: int) -> Task:
    if not isinstance(body, dict):
        _bad(_("The body must be a FHIR Task resource (a JSON object)."), code="structure")
    if body.get("resourceType") != "Task":
        _bad(
            _("resourceType must be Task, not %(kind)r.")
            % {"kind": str(body.get("resourceType"))[:60]},
            "resourceType",
        )
    if "id" not in body:
        _bad(_("A PUT names the Task it updates: give its id."), "Task.id", code="required")
    if body.get("id") != str(pk):
        _bad(
            _("Task.id %(given)r is not the id in the URL (%(pk)s).")
            % {"given": str(body.get("id"))[:40], "pk": pk},
            "Task.id",
        )
    try:
        return Task.model_validate(body)
    except PydanticValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)[:5]
        _bad(
            "; ".join(f"{_path(p['loc'])}: {p['msg']}" for p in problems) or str(exc)[:500],
            *[_path(p["loc"]) for p in problems],
            code="structure",
        )
    except (ValueError, TypeError) as exc:
        _bad(_("Not a valid FHIR Task: %(why)s") % {"why": str(exc)[:500]}, code="structure")


def _path(loc: tuple[Any, ...]) -> str:
    parts = ["Task"]
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part).removesuffix("__ext"))
    return ".".join(parts)


def _check_version(if_match: str | None, referral: Referral) -> None:
    if if_match is None:
        return
    current = _version(referral)
    tags = [tag.strip() for tag in if_match.split(",")]
    for tag in tags:
        if tag == "*" or tag.removeprefix("W/").strip('"') == current:
            return
    raise FhirError(
        412,
        _(
            'If-Match %(given)s is not the Task\'s current version (W/"%(current)s"): it changed '
            "since it was read. Read it again, then send the change."
        )
        % {"given": if_match[:80], "current": current},
        code="conflict",
        expression=["Task.meta.versionId"],
    )


def _same(key: str, given: Any, now: Any) -> bool:
    if key in REFERENCES:
        return isinstance(given, dict) and given.get("reference") == (now or {}).get("reference")
    if key in MOMENTS:
        moment = parse_datetime(given) if isinstance(given, str) else None
        return moment is not None and moment == parse_datetime(now or "")
    return bool(given == now)


def _check_unchanged(body: dict[str, Any], current: dict[str, Any]) -> None:
    """Elements a provider may not change (who the Task is for, whose it is, what it fulfils):
    present in the PUT, each must be what the Task holds now. Left out, it stays."""
    changed = sorted(
        key for key in body if key not in MUTABLE and not _same(key, body[key], current.get(key))
    )
    if changed:
        _bad(
            _(
                "Only status, statusReason, businessStatus, output and note may change; %(names)s "
                "may not."
            )
            % {"names": ", ".join(f"Task.{key}" for key in changed)},
            *[f"Task.{key}" for key in changed],
            code="business-rule",
        )


def _codes(concept: Any) -> list[tuple[str | None, str | None]]:
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding") or []
    return [(c.get("system"), c.get("code")) for c in codings if isinstance(c, dict)]


def _step_asked(
    body: dict[str, Any], submitted: Task, referral: Referral, current: dict[str, Any]
) -> dict[str, Any] | None:
    """The machine's action the Task asks for, with its reason, note and time; None when it
    asks for nothing new."""
    status = submitted.status
    if status not in REFERRAL_TASK_STATUSES:
        _bad(
            _("Task.status %(status)r is not one the SDOHCC referral Task allows.")
            % {"status": str(status)[:40]},
            "Task.status",
            code="value",
        )
    note = _note(body, current)
    if status == referral.status:
        viewed = (BUSINESS_SYSTEM_VIEWED in _codes(body.get("businessStatus"))) and (
            referral.business_status != Referral.BusinessStatus.VIEWED
        )
        if status == Referral.Status.REQUESTED and viewed:
            return {"action": "acknowledge"}
        return None
    action = ACTION_TO.get(status)
    if action is None or services.ACTIONS[action].by != "provider":
        raise FhirError(
            409,
            _("A provider cannot move a Task to %(status)s: %(why)s")
            % {
                "status": status,
                "why": _("decline it (rejected) instead; cancelling is the program's.")
                if status == Referral.Status.CANCELLED
                else _("the referral machine has no such arrow."),
            },
            code="business-rule",
            expression=["Task.status"],
        )
    step: dict[str, Any] = {"action": action, "note": note}
    if status == Referral.Status.REJECTED:
        step["reason_code"] = _decline_reason(body)
    elif status == Referral.Status.ON_HOLD:
        codes = [code for _system, code in _codes(body.get("statusReason"))]
        if any(code != ReasonCode.WAITLIST for code in codes):
            _bad(
                _("An on-hold Task is waitlisted: statusReason's code is waitlist, if any."),
                "Task.statusReason.coding",
                code="value",
            )
    elif status == Referral.Status.COMPLETED:
        step["occurred_at"] = _handoff_time(body)
    return step


BUSINESS_SYSTEM_VIEWED = (fhir.BUSINESS_STATUS_SYSTEM, Referral.BusinessStatus.VIEWED.value)


def _decline_reason(body: dict[str, Any]) -> str:
    allowed = [code for code in ReasonCode.values if code not in CONSENT_REASONS]
    for system, code in _codes(body.get("statusReason")):
        if system in (None, fhir.REASON_SYSTEM) and code in allowed:
            return str(code)
    _bad(
        _(
            "A rejected Task says why: statusReason.coding with a code of %(system)s, one of: "
            "%(codes)s."
        )
        % {"system": fhir.REASON_SYSTEM, "codes": " ".join(allowed)},
        "Task.statusReason",
        code="required",
    )


def _handoff_time(body: dict[str, Any]) -> datetime | None:
    outputs = [o for o in body.get("output") or [] if isinstance(o, dict)]
    resulting = [
        o
        for o in outputs
        if (fhir.SDOHCC_CODES, "resulting-activity") in _codes(o.get("type"))
        and isinstance(o.get("valueCodeableConcept"), dict)
    ]
    if not resulting:
        _bad(
            _(
                "A completed Task carries its resulting-activity output (type %(system)s#"
                "resulting-activity, valueCodeableConcept: what was done)."
            )
            % {"system": fhir.SDOHCC_CODES},
            "Task.output",
            code="required",
        )
    for output in outputs:
        if (fhir.OUTPUT_SYSTEM, "handoff-confirmed") not in _codes(output.get("type")):
            continue
        raw = output.get("valueDateTime")
        moment = parse_datetime(raw) if isinstance(raw, str) else None
        if moment is None or moment.tzinfo is None:
            _bad(
                _("The handoff-confirmed output's valueDateTime is a time with its UTC offset."),
                "Task.output.valueDateTime",
                code="value",
            )
        return moment
    return None


def _note(body: dict[str, Any], current: dict[str, Any]) -> str:
    """The history's note: statusReason.text (unless it is only the code's label) and the
    notes the Task did not carry before."""
    parts: list[str] = []
    reason = body.get("statusReason")
    if isinstance(reason, dict) and isinstance(reason.get("text"), str):
        labels = {str(label) for label in ReasonCode.labels}
        labels.add(str((current.get("statusReason") or {}).get("text", "")))
        if reason["text"].strip() and reason["text"].strip() not in labels:
            parts.append(reason["text"].strip())
    known = {n.get("text") for n in current.get("note") or [] if isinstance(n, dict)}
    for entry in body.get("note") or []:
        text = entry.get("text") if isinstance(entry, dict) else None
        if isinstance(text, str) and text.strip() and text not in known:
            parts.append(text.strip())
    note = "\n".join(parts)
    if len(note) > NOTE_MAX:
        _bad(
            _("The note (statusReason.text and new notes) is at most %(max)s characters.")
            % {"max": NOTE_MAX},
            "Task.note",
        )
    return note
