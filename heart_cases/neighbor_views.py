"""Server-rendered pages of the navigator's workspace around a person (issue 13): the search
results behind the header's search box, the neighbor page (behind the same break-the-glass form
as the case page), and the supervisor's review queue of possible duplicates."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import neighbors, selectors, services
from .actors import acting_user, actor_display_name
from .middleware import client_address
from .models import Case, Neighbor, PossibleDuplicate
from .neighbors_api import VIEW_NEIGHBOR, NeighborContactInput
from .templatetags.words import language_name, phone_national

__all__ = ["language_name", "phone_national"]  # the page's words, kept importable from here

# Reasons given on a neighbor page stay in the session, by neighbor, as on the case page.
SESSION_NEIGHBOR_REASONS = "neighbor_access_reasons"
SESSION_NEIGHBOR_REASONS_MAX = 50
REVIEW_DUPLICATES = "heart_cases.change_possibleduplicate"
# The search page shows this many people; more asks for more of the name.
SEARCH_PAGE_SIZE = 50


def _where(request: HttpRequest) -> dict[str, Any]:
    return {
        "client_address": client_address(request),
        "request_id": getattr(request, "request_id", ""),
        "path": request.path,
    }


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


# --- search -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def neighbor_search_page(request: HttpRequest) -> HttpResponse:
    _require(request, VIEW_NEIGHBOR)
    text = request.GET.get("q")
    context: dict[str, Any] = {"q": text or "", "searched": False, "rows": [], "error": ""}
    if text is None or not text.strip():
        return render(request, "heart_cases/neighbor_search.html", context)
    try:
        query = neighbors.search_query(text)
    except neighbors.SearchError as exc:
        context["error"] = str(exc)
        return render(request, "heart_cases/neighbor_search.html", context, status=400)
    ids = neighbors.search_neighbor_ids(query)
    shown = ids[:SEARCH_PAGE_SIZE]
    neighbors.search_log(user=request.user, query=query, ids=shown, **_where(request))
    context.update(
        searched=True,
        more=len(ids) > len(shown),
        rows=[
            {
                **row,
                "phone_shown": phone_national(row["phone"]),
                "language_name": language_name(row["language"]),
            }
            for row in neighbors.neighbor_summaries(shown)
        ],
    )
    return render(request, "heart_cases/neighbor_search.html", context)


# --- the neighbor page ------------------------------------------------------------------------


def _neighbor_for_page(request: HttpRequest, neighbor_id: int) -> Neighbor:
    neighbor = neighbors.neighbor_get(neighbor_id)
    if neighbor is None or not request.user.has_perm(VIEW_NEIGHBOR):
        neighbors.neighbor_read_log(
            user=request.user,
            neighbor_ids=[neighbor_id],
            case_ids=[],
            denied=True,
            **_where(request),
        )
        raise Http404
    return neighbor


def _reason_for(
    request: HttpRequest, neighbor: Neighbor, *, given: str | None
) -> tuple[str | None, HttpResponse | None]:
    """The break-the-glass check: (reason, None) to go on, or (None, the reason form)."""
    try:
        return selectors.neighbor_access_check(
            user=request.user, neighbor=neighbor, reason=given
        ), None
    except (selectors.ReasonRequired, selectors.AccessReasonInvalid) as exc:
        neighbors.neighbor_read_log(
            user=request.user,
            neighbor_ids=[neighbor.pk],
            case_ids=neighbors.person_case_ids(neighbor),
            denied=True,
            **_where(request),
        )
        if given is None:
            error = ""
        elif isinstance(exc, selectors.AccessReasonInvalid):
            error = str(exc)
        else:
            error = _("A reason is needed: say why you need to open this neighbor's record.")
        context = {"neighbor_id": neighbor.pk, "error": error, "reason": given or ""}
        return None, render(request, "heart_cases/neighbor_reason.html", context, status=403)


def _session_reason(request: HttpRequest, neighbor_id: int) -> str | None:
    reasons: dict[str, str] = request.session.get(SESSION_NEIGHBOR_REASONS, {})
    return request.GET.get("access_reason", reasons.get(str(neighbor_id)))


def _keep_reason(request: HttpRequest, neighbor_id: int, reason: str) -> None:
    reasons: dict[str, str] = request.session.get(SESSION_NEIGHBOR_REASONS, {})
    reasons = {k: v for k, v in reasons.items() if k != str(neighbor_id)}
    reasons[str(neighbor_id)] = reason
    request.session[SESSION_NEIGHBOR_REASONS] = dict(
        list(reasons.items())[-SESSION_NEIGHBOR_REASONS_MAX:]
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def neighbor_page(request: HttpRequest, neighbor_id: int) -> HttpResponse:
    neighbor = _neighbor_for_page(request, neighbor_id)
    if request.method == "POST":
        reason, refused = _reason_for(
            request, neighbor, given=request.POST.get("access_reason", "")
        )
        if refused is not None:
            return refused
        if reason:
            _keep_reason(request, neighbor.pk, reason)
        return redirect("neighbor", neighbor_id=neighbor.pk)
    reason, refused = _reason_for(request, neighbor, given=_session_reason(request, neighbor.pk))
    if refused is not None:
        return refused
    return _render_neighbor(request, neighbor, reason=reason or "")


def _render_neighbor(
    request: HttpRequest,
    neighbor: Neighbor,
    *,
    reason: str,
    contact_errors: dict[str, list[str]] | None = None,
    contact_form: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    detail = neighbors.neighbor_detail(neighbor)
    cases = list(
        Case.objects.filter(pk__in=[c["id"] for c in detail["cases"]])
        .select_related("neighbor", "previous_case")
        .order_by("-opened_at", "-id")
    )
    record_ids = [neighbor.pk, *(r["id"] for r in detail["linked_records"])]
    neighbors.neighbor_read_log(
        user=request.user,
        neighbor_ids=record_ids,
        case_ids=[case.pk for case in cases],
        reason=reason,
        **_where(request),
    )
    linkers = _names_of([record["linked_by"] for record in detail["linked_records"]])
    for record in detail["linked_records"]:
        record["linked_by_name"] = linkers.get(record["linked_by"], record["linked_by"] or "")
    context = {
        "neighbor": neighbor,
        "detail": detail,
        "phones": [{"e164": p, "shown": phone_national(p)} for p in detail["phones"]],
        "language_name": language_name(detail["language"]),
        "contacts": [
            {
                **c,
                "phone_shown": phone_national(c["phone"]),
                "language_name": language_name(c["language"]) if c["language"] else "",
            }
            for c in detail["contacts"]
        ],
        "cases": [{"case": case, "detail": selectors.case_detail(case)} for case in cases],
        "access_reason": reason,
        "contact_errors": contact_errors or {},
        "contact_form": contact_form or {"may_contact": True},
        "may_review_duplicates": request.user.has_perm(REVIEW_DUPLICATES),
        "may_add_contacts": request.user.has_perm("heart_cases.add_contact"),
    }
    return render(request, "heart_cases/neighbor.html", context, status=status)


def _names_of(usernames: list[str | None]) -> dict[str | None, str]:
    """Usernames (as the API gives them) → the names people read; one query."""
    wanted = {u for u in usernames if u}
    users = User.objects.filter(username__in=wanted) if wanted else User.objects.none()
    return {user.get_username(): actor_display_name(user) for user in users}


_CONTACT_LABELS = {
    "name": "Name",
    "relationship": "Relationship",
    "phone": "Phone",
    "language": "Language",
    "may_contact": "May contact",
    "note": "Note",
}


@login_required
@require_POST
def neighbor_contact_add_page(request: HttpRequest, neighbor_id: int) -> HttpResponse:
    _require(request, "heart_cases.add_contact")
    neighbor = _neighbor_for_page(request, neighbor_id)
    reason, refused = _reason_for(request, neighbor, given=_session_reason(request, neighbor.pk))
    if refused is not None:
        return refused
    form: dict[str, Any] = {
        name: request.POST.get(name, "")
        for name in ("name", "relationship", "phone", "language", "note")
    }
    form["may_contact"] = request.POST.get("may_contact") == "on"
    data = NeighborContactInput(data=form)
    if not data.is_valid():
        errors = {
            _(_CONTACT_LABELS.get(name, name)): [str(m) for m in messages]
            for name, messages in data.errors.items()
        }
        return _render_neighbor(
            request,
            neighbor,
            reason=reason or "",
            contact_errors=errors,
            contact_form=form,
            status=400,
        )
    neighbors.contact_add(actor=acting_user(request), neighbor=neighbor, data=data.to_input())
    return redirect(f"/neighbors/{neighbor.pk}/#contacts")


@login_required
@require_POST
def neighbor_unlink_page(request: HttpRequest, neighbor_id: int) -> HttpResponse:
    _require(request, REVIEW_DUPLICATES)
    neighbor = neighbors.neighbor_get(neighbor_id)
    if neighbor is None:
        raise Http404
    root = neighbor.linked_to_id or neighbor.pk
    reason = request.POST.get("reason", "").strip()
    if not reason or len(reason) > 1000 or "\x00" in reason:
        return render(
            request,
            "heart_cases/neighbor_unlink_error.html",
            {"neighbor_id": root, "error": _("Say why the records are not the same person.")},
            status=400,
        )
    try:
        neighbors.neighbor_unlink(actor=acting_user(request), neighbor=neighbor, reason=reason)
    except neighbors.TransitionError as exc:
        return render(
            request,
            "heart_cases/neighbor_unlink_error.html",
            {"neighbor_id": root, "error": str(exc)},
            status=409,
        )
    return redirect("neighbor", neighbor_id=root)


# --- possible duplicates ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def possible_duplicates_page(request: HttpRequest) -> HttpResponse:
    return _render_duplicates(request)


def _render_duplicates(
    request: HttpRequest, *, errors: dict[int, str] | None = None, status: int = 200
) -> HttpResponse:
    _require(request, REVIEW_DUPLICATES)
    shown = request.GET.get("status", PossibleDuplicate.Status.OPEN)
    if shown not in PossibleDuplicate.Status.values:
        shown = PossibleDuplicate.Status.OPEN
    page = list(neighbors.possible_duplicates(shown).order_by("-id")[:100])
    rows = neighbors.duplicates_json(page)
    for row in rows:
        for side in ("neighbor", "other"):
            row[side]["phones_shown"] = [phone_national(p) for p in row[side]["phones"]]
            row[side]["language_name"] = language_name(row[side]["language"])
        row["error"] = (errors or {}).get(row["id"], "")
    names = _names_of([row["resolved_by"] for row in rows])
    for row in rows:
        row["resolved_by_name"] = names.get(row["resolved_by"], row["resolved_by"] or "")
    ids = sorted({d.neighbor_id for d in page} | {d.other_id for d in page})
    services.access_log_write(
        user=request.user, action="list", object_type="neighbor", object_ids=ids, **_where(request)
    )
    context = {"rows": rows, "status": shown, "statuses": PossibleDuplicate.Status.choices}
    return render(request, "heart_cases/possible_duplicates.html", context, status=status)


def _decision(request: HttpRequest, duplicate_id: int) -> tuple[PossibleDuplicate, str]:
    _require(request, REVIEW_DUPLICATES)
    duplicate = neighbors.duplicate_get(duplicate_id)
    if duplicate is None:
        raise Http404
    return duplicate, request.POST.get("reason", "").strip()


def _reason_problem(reason: str) -> str:
    if not reason:
        return _("Give a reason: the history keeps it with your decision.")
    if len(reason) > 1000 or "\x00" in reason:
        return _("At most 1000 characters, and no NUL character.")
    return ""


@login_required
@require_POST
def possible_duplicate_link_page(request: HttpRequest, duplicate_id: int) -> HttpResponse:
    duplicate, reason = _decision(request, duplicate_id)
    into = request.POST.get("into", "")
    problem = _reason_problem(reason)
    if not problem and into not in (str(duplicate.neighbor_id), str(duplicate.other_id)):
        problem = _("Choose which record stays.")
    if problem:
        return _render_duplicates(request, errors={duplicate.pk: problem}, status=400)
    try:
        neighbors.duplicate_link(
            actor=acting_user(request), duplicate=duplicate, into_id=int(into), reason=reason
        )
    except neighbors.TransitionError as exc:
        return _render_duplicates(request, errors={duplicate.pk: str(exc)}, status=409)
    return redirect("neighbor", neighbor_id=int(into))


@login_required
@require_POST
def possible_duplicate_dismiss_page(request: HttpRequest, duplicate_id: int) -> HttpResponse:
    duplicate, reason = _decision(request, duplicate_id)
    problem = _reason_problem(reason)
    if problem:
        return _render_duplicates(request, errors={duplicate.pk: problem}, status=400)
    try:
        neighbors.duplicate_dismiss(actor=acting_user(request), duplicate=duplicate, reason=reason)
    except neighbors.TransitionError as exc:
        return _render_duplicates(request, errors={duplicate.pk: str(exc)}, status=409)
    return redirect("possible-duplicates-page")
