"""The interface language: the header's menu, and each person's choice kept on their account.

Which language a request is answered in, first to last:

- an API request (under /api/) with an `Accept-Language` header: that header, as asked;
- a logged-in person who chose a language in the header's menu: that choice, kept on their
  StaffProfile and copied into the session when they log in (no query per page);
- an API token whose account chose a language (checked after the token is authenticated);
- else Django's LocaleMiddleware: the language cookie the menu sets, then the browser's
  `Accept-Language`, then English.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from hmac import compare_digest
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from .models import StaffProfile

SESSION_LANGUAGE = "heart_language"
_INVALID_TOKEN = gettext_lazy("Invalid token.")  # knox's words (its catalog has them)
LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def _asks_itself(request: HttpRequest) -> bool:
    """An API call that names its language: it gets that language, whoever makes it."""
    return request.path_info.startswith("/api/") and bool(request.META.get("HTTP_ACCEPT_LANGUAGE"))


def _activate(request: HttpRequest, language: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()  # type: ignore[attr-defined]


def account_language(user: Any) -> str:
    """The language the person chose in the menu, or "" (the browser's)."""
    language = (
        StaffProfile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    )
    return language if language in LANGUAGE_CODES else ""


class AccountLanguageMiddleware:
    """After AuthenticationMiddleware: a logged-in person's chosen language (from the session)
    wins over the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        # The session first: a request without the choice costs nothing more.
        language = session.get(SESSION_LANGUAGE, "") if session is not None else ""
        if language in LANGUAGE_CODES and not _asks_itself(request):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                _activate(request, language)
        return self.get_response(request)


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox's token check, then the account's language when the call did not name one. The
    profile comes with the token's user in knox's one query (no query more per API call)."""

    def authenticate_credentials(self, token: bytes) -> Any:
        # knox 5's own loop, with the staff profile joined to the user.
        text = token.decode("utf-8")
        tokens = (
            get_token_model()
            .objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user__staff_profile")
        )
        for auth_token in tokens:
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(text)
            except (TypeError, binascii.Error) as exc:
                raise exceptions.AuthenticationFailed(_INVALID_TOKEN) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(_INVALID_TOKEN)

    def authenticate(self, request: Any) -> Any:
        result = super().authenticate(request)
        if result is not None and not _asks_itself(request._request):
            profile = getattr(result[0], "staff_profile", None)
            language = profile.language if profile is not None else ""
            if language in LANGUAGE_CODES:
                _activate(request._request, language)
        return result


class TokenScheme(KnoxTokenScheme):
    """The API schema's word for it: knox's token, as before."""

    target_class = "heart_cases.language.TokenAuthentication"


@receiver(user_logged_in, dispatch_uid="heart_account_language")
def _remember_language(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    language = account_language(user)
    if language:
        request.session[SESSION_LANGUAGE] = language
        _activate(request, language)
    else:
        request.session.pop(SESSION_LANGUAGE, None)


@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    """The header's menu: Django's set_language (the cookie, the safe `next`), and for a
    logged-in person the choice kept on their account."""
    language = request.POST.get("language", "")
    response = set_language(request)
    if language not in LANGUAGE_CODES:
        return response
    user = request.user
    if user.is_authenticated:
        profile, _created = StaffProfile.objects.get_or_create(user=user)
        if profile.language != language:
            profile.language = language
            profile.save(update_fields=["language"])
        request.session[SESSION_LANGUAGE] = language
    return response
