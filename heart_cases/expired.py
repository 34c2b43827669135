"""Nothing typed is lost when the session ended while a form was open (issue 13, item 8).

The person presses a form's button after the idle limit has ended their session: the POST
reaches `login_required`, which sends them to the login page with `next` set to the URL the
form posted to. Most of those URLs take only POST, so after logging in the person would get a
405, or a blank form. This middleware points `next` at the page that held the form instead: the
Referer's path when it is this site's (SECURE_REFERRER_POLICY = "same-origin" sends it), else
the page each POST-only endpoint belongs to (FORM_PAGES), else the URL itself (its view takes GET
as well). `expired=1` lets the login page say why the person is there. session.js then puts back
what was typed from the tab's sessionStorage. An off-site Referer is never followed."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme

EXPIRED_FIELD_NAME = "expired"

# POST-only endpoints of the staff pages (url name) -> the page that holds their form, given
# the endpoint's URL arguments. Used when the browser sent no usable Referer.
_CASE_PAGE = ("case", ("case_id",))
FORM_PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "task-attempt": ("tasks", ()),
    "case-note-page": _CASE_PAGE,
    "case-assign-page": _CASE_PAGE,
    "case-referral-cancel": _CASE_PAGE,
    "case-consent-withdraw": _CASE_PAGE,
    "case-close-connected": _CASE_PAGE,
    "neighbor-unlink-page": ("neighbor", ("neighbor_id",)),
    "possible-duplicate-link-page": ("possible-duplicates-page", ()),
    "possible-duplicate-dismiss-page": ("possible-duplicates-page", ()),
    "debrief-done-page": ("debriefs-page", ()),
}


def _same_site_path(request: HttpRequest, url: str) -> str | None:
    """`url`'s path and query if it is on this site (and not the login page), else None."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(url)
    if not parts.path.startswith("/") or parts.path == resolve_url(settings.LOGIN_URL):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def form_page(request: HttpRequest) -> str:
    """The page that held the form this POST came from, as a local path: the Referer's, the
    endpoint's page from FORM_PAGES, or else the URL itself (its view takes GET too)."""
    referer = _same_site_path(request, request.headers.get("Referer", ""))
    if referer is not None:
        return referer
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return request.get_full_path()
    target = FORM_PAGES.get(match.url_name or "")
    if target is None:
        return request.get_full_path()
    name, arguments = target
    return reverse(name, kwargs={key: match.kwargs[key] for key in arguments})


class ExpiredFormMiddleware:
    """Rewrites the login redirect a POST from a logged-out person gets (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Who sent it, before the view runs: logging out makes the person anonymous too. (The
        # API answers 401 and never redirects: its token requests are not looked at.)
        logged_out = (
            request.method == "POST"
            and not request.path_info.startswith("/api/")
            and not request.user.is_authenticated
        )
        response = self.get_response(request)
        if not logged_out or response.status_code != 302:
            return response
        login = resolve_url(settings.LOGIN_URL)
        location = urlsplit(response.get("Location", ""))
        query = QueryDict(location.query, mutable=True)
        # login_required's redirect (it always names a next), not e.g. the logout's.
        if location.netloc or location.path != login or REDIRECT_FIELD_NAME not in query:
            return response
        query[REDIRECT_FIELD_NAME] = form_page(request)
        query[EXPIRED_FIELD_NAME] = "1"  # the login page says why, and that nothing is lost
        response["Location"] = f"{login}?{query.urlencode(safe='/')}"
        return response
