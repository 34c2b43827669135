"""API tokens: a device revokes the token it holds (API.md, "Tokens")."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from knox.views import LogoutView
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from .api_common import DetailSerializer
from .language import TokenAuthentication


class LogoutApi(LogoutView):
    """knox's logout (token authentication only, any role): deletes the token the request was
    sent with; the account's other tokens stay valid."""

    # Knox's token check, answering in the account's language (heart_cases/language.py).
    authentication_classes = (TokenAuthentication,)

    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: None, 401: DetailSerializer},
    )
    def post(self, request: Request, format: str | None = None) -> Response:
        if not isinstance(request.auth, AuthToken):
            # Authenticated some other way (a test's forced login): there is no token to revoke.
            raise exceptions.NotAuthenticated(
                gettext("Send the token to revoke: Authorization: Token …")
            )
        response: Response = super().post(request, format)
        return response
