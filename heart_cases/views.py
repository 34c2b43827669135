"""Server-rendered pages of the core: the case page (and its break-the-glass form), the access
log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from . import api, selectors, services
from .actors import system_actor_name
from .hooks import registry
from .middleware import client_address
from .templatetags import words

# Reasons given on the case page stay in the person's session, by case: the page again in that
# session (a reload, the redirect after logging a call) is logged with the same reason without
# asking again; sessions end after 30 idle minutes. The form posts, so the reason stays out of
# the URL and the server's request log.
SESSION_ACCESS_REASONS = "case_access_reasons"
SESSION_ACCESS_REASONS_MAX = 50


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    def log(
        ids: list[int], *, case_id: int | None = None, denied: bool = False, reason: str = ""
    ) -> None:
        services.access_log_write(
            user=request.user,
            action="view",
            object_type="case",
            object_ids=ids,
            case_id=case_id,
            denied=denied,
            client_address=client_address(request),
            request_id=getattr(request, "request_id", ""),
            path=request.path,
            reason=reason,
        )

    try:
        case = selectors.case_get_for_user(user=request.user, case_id=case_id)
    except Http404:
        log([case_id], denied=True)
        raise
    reasons: dict[str, str] = request.session.get(SESSION_ACCESS_REASONS, {})
    if request.method == "POST":
        given: str | None = request.POST.get("access_reason", "")
    else:
        # ?access_reason= as on the API (then it is in the URL); else one given earlier.
        given = request.GET.get("access_reason", reasons.get(str(case.pk)))
    try:
        reason = selectors.case_access_check(user=request.user, case=case, reason=given)
    except (selectors.ReasonRequired, selectors.AccessReasonInvalid) as exc:
        log([case.pk], case_id=case.pk, denied=True)
        if given is None:
            error = ""
        elif isinstance(exc, selectors.AccessReasonInvalid):
            error = str(exc)
        else:
            error = _("A reason is needed: say why you need to open this case.")
        context = {"case_id": case.pk, "error": error, "reason": given or ""}
        return render(request, "heart_cases/case_reason.html", context, status=403)
    if request.method == "POST":
        if reason:
            reasons = {k: v for k, v in reasons.items() if k != str(case.pk)}
            reasons[str(case.pk)] = reason
            request.session[SESSION_ACCESS_REASONS] = dict(
                list(reasons.items())[-SESSION_ACCESS_REASONS_MAX:]
            )
        return redirect("case", case_id=case.pk)
    log([case.pk], case_id=case.pk, reason=reason)
    context = {
        "case": case,
        "detail": selectors.case_detail(case),
        "history": _history_shown(selectors.case_history(case)),
        "access_reason": reason,
    }
    for provider in registry.case_page_context:
        context.update(provider(case=case, user=request.user))
    return render(request, "heart_cases/case.html", context)


def _history_shown(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline as people read it: who by name (a system task by its plain name), the
    system's reasons in the reader's language, times in local time, pairs by their members."""
    texts = [e["object"] for e in history] + [c for e in history for c in e["changes_text"]]
    names = words.pair_names(words.pair_ids_in(texts))
    users = words.user_names(words.user_ids_in(texts))
    shown = []
    for entry in history:
        label = words.PAIR_IN_LABEL.sub(
            lambda m: f"({names.get(int(m.group(1)), m.group(1))})",
            words.phones_in_words(entry["object"]),
        )
        shown.append(
            {
                **entry,
                "actor_shown": system_actor_name(entry["actor"] or "")
                or entry["actor_name"]
                or "—",
                "object": label,
                "reason_shown": words.history_reason(entry["reason"]),
                "changes_shown": [
                    words.change_words(c, names, users) for c in entry["changes_text"]
                ],
            }
        )
    return shown


class AccessLogPagePagination(api.AccessLogPagination):
    page_size = 100


_FILTER_LABELS = {
    "case": gettext_lazy("Case"),
    "neighbor": gettext_lazy("Neighbor"),
    "user": gettext_lazy("Who"),
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "break_glass": gettext_lazy("Break-the-glass reads only"),
    "cursor": gettext_lazy("Page"),
    "page_size": gettext_lazy("Page size"),
}


@login_required
def access_log_page(request: HttpRequest) -> HttpResponse:
    """Who read this case or neighbor, what one person read between dates, the break-the-glass
    reads: the API's filters, 100 entries a page, and the same selection as CSV."""
    if not request.user.has_perm("heart_cases.view_accesslog"):
        raise PermissionDenied
    query = api.AccessLogQuery(data=request.GET)
    errors: dict[str, Any] = {}
    entries: list[Any] = []
    paginator = AccessLogPagePagination()
    links: dict[str, str | None] = {"next": None, "previous": None}
    try:
        query.is_valid(raise_exception=True)
        found = selectors.access_log_for_review(query.to_filters())
        entries = list(paginator.paginate_queryset(found, Request(request)) or [])
        links = {"next": paginator.get_next_link(), "previous": paginator.get_previous_link()}
    except ValidationError as exc:
        errors = exc.detail if isinstance(exc.detail, dict) else {"": exc.detail}
    numbers = selectors.case_numbers(e.case_id for e in entries)
    export = request.GET.copy()
    for name in ("cursor", "page_size"):
        export.pop(name, None)
    context = {
        "rows": [{"entry": e, "case_number": numbers.get(e.case_id, "")} for e in entries],
        "filters": request.GET,
        "errors": [
            (_FILTER_LABELS.get(str(name), str(name)), [str(m) for m in messages])
            for name, messages in errors.items()
        ],
        "links": links,
        "export_url": f"{reverse('api:access-log-export')}?{export.urlencode()}".rstrip("?"),
    }
    return render(request, "heart_cases/access_log.html", context, status=400 if errors else 200)
