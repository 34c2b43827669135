"""The case page's close form (issue #13 item 6): the pair or a supervisor closes a case with any
outcome and a note, through the same validation and service as `POST /api/v1/cases/{id}/close/`
and behind the same break-the-glass check as the case page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import selectors, services
from .actors import acting_user
from .middleware import client_address

# Who may close a case: the API's permission (the pair's roles and supervisors).
CLOSES_CASES = "heart_cases.change_case"

_FIELD_LABELS = {"outcome": gettext_lazy("Outcome"), "note": gettext_lazy("Closing note")}


@login_required
@require_POST
def case_close_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """Close the case, then back to its page with what happened. A case not the person's
    pair's needs the reason they gave on the case page in this session, else the page asks."""
    from .api import CaseCloseInput  # the API's rules and messages
    from .views import SESSION_ACCESS_REASONS

    user = acting_user(request)
    try:
        case = selectors.case_get_for_user(user=user, case_id=case_id)
    except Http404:
        services.access_log_write(
            user=request.user,
            action="view",
            object_type="case",
            object_ids=[case_id],
            denied=True,
            client_address=client_address(request),
            request_id=getattr(request, "request_id", ""),
            path=request.path,
        )
        raise
    if not user.has_perm(CLOSES_CASES):
        raise PermissionDenied
    given = request.session.get(SESSION_ACCESS_REASONS, {}).get(str(case.pk))
    try:
        selectors.case_access_check(user=user, case=case, reason=given)
    except (selectors.ReasonRequired, selectors.AccessReasonInvalid):
        return redirect("case", case_id=case.pk)
    form = CaseCloseInput(data=request.POST.dict())
    if not form.is_valid():
        problems = "; ".join(
            f"{_FIELD_LABELS.get(name, name)}: {' '.join(map(str, found))}"
            for name, found in form.errors.items()
        )
        messages.error(request, _("The case was not closed. %(problems)s") % {"problems": problems})
        return redirect(f"{reverse('case', args=[case.pk])}#close")
    try:
        closed = services.case_close(
            actor=user,
            case=case,
            outcome=form.validated_data["outcome"],
            note=form.validated_data.get("note", ""),
        )
    except services.TransitionError as exc:
        messages.error(request, str(exc))
    else:
        # The case page the redirect shows logs the read, with the reason, as every view does.
        messages.success(
            request,
            _("Case %(number)s is closed: %(outcome)s.")
            % {"number": closed.number, "outcome": closed.get_outcome_display()},
        )
    return redirect("case", case_id=case.pk)
