"""The endpoint the session warning's "Stay logged in" button calls (WCAG 2.2.1): a same-origin,
CSRF-checked POST whose only effect is that the session is saved again with a fresh idle limit."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST


@never_cache
@require_POST
def session_extend(request: HttpRequest) -> JsonResponse:
    # A JSON 401, not the login redirect: the page's script decides where the person goes.
    if not request.user.is_authenticated:
        return JsonResponse({"detail": gettext("The session has ended.")}, status=401)
    # SESSION_SAVE_EVERY_REQUEST saves it anyway; say so here too, so that this view keeps
    # working if that setting is ever turned off.
    request.session.modified = True
    return JsonResponse({"expires_in": request.session.get_expiry_age()})
