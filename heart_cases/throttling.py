"""API throttling per token, counted in the Redis cache (DRF's DEFAULT_THROTTLE_CLASSES).

Kept apart from api_common: DRF imports throttle classes while it defines APIView.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per API token (per user for the session-authenticated web UI). When Redis is
    down the request goes through: intake must not fail for want of a counter."""

    scope = "token"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = getattr(request.auth, "token_key", None)
        if token:
            ident = f"token:{token}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache (Redis) is unreachable
            logger.warning("Throttle cache unavailable; letting the request through.")
            return True
