"""Pages: the provider portal (inbox and one referral), the signed-link page for providers
without accounts, and the navigator's side of a case (find a provider, refer, cancel, withdraw
consent, close as connected to care)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from heart_cases import services as case_services
from heart_cases.actors import acting_user
from heart_cases.middleware import client_address
from heart_cases.models import Case
from heart_cases.selectors import case_get_for_user
from heart_cases.services import TransitionError

from . import disclosure, forms, links, selectors, services
from .models import Referral, ServiceLanguage


def _log(
    request: HttpRequest,
    *,
    action: str,
    ids: list[int],
    case_id: int | None = None,
    denied: bool = False,
    object_type: str = "referral",
    path: str | None = None,
) -> None:
    user: User | AnonymousUser = request.user
    case_services.access_log_write(
        user=user,
        action=action,
        object_type=object_type,
        object_ids=ids,
        case_id=case_id,
        denied=denied,
        client_address=client_address(request),
        request_id=getattr(request, "request_id", ""),
        path=request.path if path is None else path,
    )


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def _run_action(
    request: HttpRequest,
    referral: Referral,
    action: str,
    *,
    actor: User,
    via_link: bool = False,
) -> bool:
    """Parse the action's form and take the step; say what happened as a message."""
    form = forms.ACTION_FORMS[action](request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{_field(field)}: {' '.join(str(e) for e in errors)}")
        return False
    values: dict[str, Any] = form.cleaned_data
    try:
        referral = services.referral_transition(
            actor=actor,
            referral=referral,
            action=action,
            reason_code=values.get("reason", ""),
            note=values.get("note", ""),
            occurred_at=values.get("occurred_at"),
            via_link=via_link,
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
        return False
    except services.ReferralInvalid as exc:
        for field, problems in exc.errors.items():
            messages.error(request, f"{_field(field)}: {' '.join(problems)}")
        return False
    # Marking it viewed leaves the status as it was ("requested"): say what changed.
    status = _("viewed") if action == "acknowledge" else referral.get_status_display().lower()
    messages.success(
        request, _("Referral #%(id)s: %(status)s.") % {"id": referral.pk, "status": status}
    )
    return True


# The services' field names, as the pages show them in an error.
FIELD_LABELS = {
    "reason": gettext_lazy("Reason"),
    "note": gettext_lazy("Note"),
    "occurred_at": gettext_lazy("Neighbor arrived"),
    "consent": gettext_lazy("Consent"),
    "service": gettext_lazy("Service"),
    "provider": gettext_lazy("Provider"),
}


def _field(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


ACTION_LABELS = {
    "acknowledge": gettext_lazy("Mark viewed"),
    "accept": gettext_lazy("Accept"),
    "decline": gettext_lazy("Decline"),
    "start": gettext_lazy("Start: neighbor engaged"),
    "waitlist": gettext_lazy("Waitlist"),
    "confirm-handoff": gettext_lazy("Confirm handoff"),
    "no-show": gettext_lazy("No-show"),
    "cancel": gettext_lazy("Cancel referral"),
}


def _item(referral: Referral, *, by: str, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    names = services.allowed_actions(referral, by=by)
    if referral.acknowledged_at is not None:
        names = [name for name in names if name != "acknowledge"]  # already marked viewed
    if only is not None:
        names = [name for name in names if name in only]
    language = translation.get_language()
    shared = disclosure.provider_view(referral)
    return {
        "r": referral,
        "actions": [(name, ACTION_LABELS[name]) for name in names],
        # The neighbor as the consent lets the provider see them, and the §2.32 notice.
        "shared": shared,
        "withheld_message": shared.withheld_message(language),
        "part2_notice": disclosure.part2_notice(referral, language),
    }


def _with_actions(referrals: list[Referral], *, by: str) -> list[dict[str, Any]]:
    return [_item(r, by=by) for r in referrals]


# --- the provider portal -------------------------------------------------------------------


@login_required
@require_GET
def provider_inbox(request: HttpRequest) -> HttpResponse:
    _require(request, selectors.RESPOND_REFERRAL)
    membership = selectors.membership_of(request.user)
    inbox: dict[str, list[Referral]] = {"new": [], "accepted": [], "in_progress": [], "closed": []}
    if membership is not None:
        inbox = selectors.provider_inbox(membership.provider)
    ids = [r.pk for rows in inbox.values() for r in rows]
    if ids:
        _log(request, action="list", ids=ids)
    sections = [
        ("new", _("New"), inbox["new"]),
        ("accepted", _("Accepted or waitlisted"), inbox["accepted"]),
        ("in_progress", _("In progress"), inbox["in_progress"]),
        ("closed", pgettext("referral inbox", "Closed"), inbox["closed"]),
    ]
    return render(
        request,
        "referrals/inbox.html",
        {
            "provider": membership.provider if membership else None,
            "sections": [
                (key, title, _with_actions(rows, by="provider")) for key, title, rows in sections
            ],
            "reasons": forms.PERSON_REASONS,
            "now": forms.local_now(),
        },
    )


def _provider_referral(request: HttpRequest, referral_id: int) -> Referral:
    _require(request, selectors.RESPOND_REFERRAL)
    try:
        return selectors.referral_get_to_answer(user=request.user, referral_id=referral_id)
    except Http404:
        _log(request, action="view", ids=[referral_id], denied=True)
        raise


@login_required
@require_GET
def provider_referral(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = _provider_referral(request, referral_id)
    _log(request, action="view", ids=[referral.pk], case_id=referral.case_id)
    timeline = selectors.referral_timelines([referral]).get(referral.pk, [])
    return render(
        request,
        "referrals/provider_referral.html",
        {
            "item": _item(referral, by="provider"),
            "timeline": timeline,
            "reasons": forms.PERSON_REASONS,
            "now": forms.local_now(),
        },
    )


@login_required
@require_POST
def provider_referral_action(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    if action not in services.PROVIDER_ACTIONS:
        raise Http404
    referral = _provider_referral(request, referral_id)
    _run_action(request, referral, action, actor=acting_user(request))
    return _back(request, "provider-inbox")


# --- the signed link -----------------------------------------------------------------------


def _link_headers(response: HttpResponse) -> HttpResponse:
    # The token is a credential: keep it out of Referer headers, caches and search engines.
    # "same-origin", not "no-referrer": both send no Referer to another site, but under
    # "no-referrer" Chromium sends `Origin: null` on the page's own form posts, and Django's
    # CSRF check rightly refuses them.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _link_refused(request: HttpRequest, refusal: links.LinkRefused) -> HttpResponse:
    status = 410 if (refusal.expired or refusal.ended) else 404
    return _link_headers(
        render(
            request,
            "referrals/link_refused.html",
            {"message": str(refusal), "ended": refusal.ended},
            status=status,
        )
    )


@never_cache
@require_GET
def provider_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        referral = links.referral_for_link(token)
    except links.LinkRefused as refusal:
        return _link_refused(request, refusal)
    _log(request, action="view", ids=[referral.pk], case_id=referral.case_id, path="/r/(link)/")
    return _link_headers(
        render(
            request,
            "referrals/link.html",
            {
                "item": _item(referral, by="provider", only=services.LINK_ACTIONS),
                "token": token,
                "reasons": forms.PERSON_REASONS,
                "now": forms.local_now(),
            },
        )
    )


@never_cache
@require_POST
def provider_link_action(request: HttpRequest, token: str, action: str) -> HttpResponse:
    if action not in services.LINK_ACTIONS:
        raise Http404
    try:
        referral = links.referral_for_link(token)
    except links.LinkRefused as refusal:
        return _link_refused(request, refusal)
    actor = services.provider_link_actor(referral.provider)
    _run_action(request, referral, action, actor=actor, via_link=True)
    return _link_headers(redirect("provider-link", token=token))


# --- the navigator's side ------------------------------------------------------------------


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return case_get_for_user(user=request.user, case_id=case_id)
    except Http404:
        _log(request, action="view", ids=[case_id], denied=True, object_type="case")
        raise


@login_required
def case_refer(request: HttpRequest, case_id: int) -> HttpResponse:
    """Find a provider by need and language, and refer the neighbor with their consent."""
    case = _case(request, case_id)  # 404 first: never say a case exists to who may not see it
    _require(request, "referrals.add_referral")
    if case.status != Case.Status.OPEN:
        messages.error(request, _("This case is closed."))
        return redirect("case", case_id=case.pk)
    _log(request, action="view", ids=[case.pk], case_id=case.pk, object_type="case")
    languages = sorted(set(ServiceLanguage.objects.values_list("code", flat=True)))
    needs = list(
        dict.fromkeys(need for response in case.field_responses.all() for need in response.needs)
    )
    initial = {"need": needs[0] if needs else "", "language": case.neighbor.language}
    search = forms.DirectorySearchForm(request.GET or initial, languages=languages)
    search.is_valid()
    need = search.cleaned_data.get("need") or None
    language = search.cleaned_data.get("language") or None
    refer_form = forms.ReferForm(
        request.POST or None,
        initial={"consent_obtained_at": forms.local_now(), "consent_method": "verbal"},
    )
    if request.method == "POST" and refer_form.is_valid():
        values = refer_form.cleaned_data
        try:
            referral = services.referral_create(
                actor=acting_user(request),
                case=case,
                service=values["service"],
                reason=values["reason"],
                consent_method=values["consent_method"],
                consent_obtained_at=values["consent_obtained_at"],
                consent_scope=values["consent_scope"],
                consent_purpose=values["consent_purpose"] or None,
                consent_expires_at=values["consent_expires_at"],
            )
        except services.ReferralInvalid as exc:
            for field, errors in exc.errors.items():
                for error in errors:
                    refer_form.add_error(None, f"{_field(field)}: {error}")
        except TransitionError as exc:
            refer_form.add_error(None, str(exc))
        except IntegrityError:  # a concurrent identical referral committed first
            refer_form.add_error(None, _("This case already has an open referral to this service."))
        else:
            messages.success(
                request,
                _("Referred to %(provider)s (%(service)s). They have been told.")
                % {"provider": referral.provider.name, "service": referral.service.name},
            )
            return redirect("case", case_id=case.pk)
    chosen = refer_form["service"].value() if request.method == "POST" else None
    providers = list(selectors.provider_directory(need=need, language=language))
    return render(
        request,
        "referrals/refer.html",
        {
            "case": case,
            "search": search,
            "form": refer_form,
            "providers": providers,
            "chosen": str(chosen or ""),
            "need": need,
            "language": language,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def case_referral_cancel(request: HttpRequest, case_id: int, referral_id: int) -> HttpResponse:
    _require(request, "referrals.change_referral")
    case = _case(request, case_id)
    referral = Referral.objects.filter(pk=referral_id, case=case).first()
    if referral is None:
        raise Http404
    _run_action(request, referral, "cancel", actor=acting_user(request))
    return redirect("case", case_id=case.pk)


@login_required
@require_POST
def case_consent_withdraw(request: HttpRequest, case_id: int, consent_id: int) -> HttpResponse:
    _require(request, "referrals.change_referral")
    case = _case(request, case_id)
    consent = selectors.consent_get_for_user(user=request.user, consent_id=consent_id)
    if consent.case_id != case.pk:
        raise Http404
    form = forms.NoteForm(request.POST)
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    try:
        services.consent_withdraw(actor=acting_user(request), consent=consent, note=note)
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Consent withdrawn; the referrals under it were cancelled."))
    return redirect("case", case_id=case.pk)


@login_required
@require_POST
def case_close_connected(request: HttpRequest, case_id: int) -> HttpResponse:
    """The answer to the close prompt: a referral's handoff was confirmed, so the case closes
    as connected to care."""
    _require(request, "heart_cases.change_case")
    case = _case(request, case_id)
    completed = (
        Referral.objects.filter(case=case, status=Referral.Status.COMPLETED)
        .select_related("provider")
        .order_by("-handoff_at")
        .first()
    )
    if completed is None:
        messages.error(request, _("No referral of this case has a confirmed handoff."))
        return redirect("case", case_id=case.pk)
    try:
        case_services.case_close(
            actor=acting_user(request),
            case=case,
            outcome=Case.Outcome.CONNECTED_TO_CARE,
            note=f"Handoff to {completed.provider.name} confirmed (referral #{completed.pk}).",
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Case closed: connected to care."))
    return redirect("case", case_id=case.pk)
