"""API throttling per token, counted in Redis (DRF's DEFAULT_THROTTLE_CLASSES).

DRF's SimpleRateThrottle reads the request history, appends and writes it back: two requests at
once both read the same history, and under 1,300 concurrent requests about 6% more than the
limit got through. Here the whole check-and-count is one Lua script, which Redis runs atomically:
a sliding window of request times in a sorted set, with the time taken from Redis itself so that
every web process agrees on it.

Kept apart from api_common: DRF imports throttle classes while it defines APIView.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# KEYS[1]: the counter; ARGV: window (s), limit, a unique member for this request.
# Returns {1, 0} when the request is allowed, {0, seconds until a slot frees} when not.
_SLIDING_WINDOW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('EXPIRE', KEYS[1], math.ceil(window))
    return {1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per API token (per user for the session-authenticated web UI). When Redis is
    down the request goes through: intake must not fail for want of a counter."""

    scope = "token"
    _wait: float | None = None

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
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            client = _redis_client(key)
            if client is None:  # a cache that is not Redis: DRF's own (non-atomic) way
                return super().allow_request(request, view)
            allowed, wait = client.eval(
                _SLIDING_WINDOW,
                1,
                cache.make_and_validate_key(key),
                self.duration,  # type: ignore[attr-defined]  # set by DRF from the rate
                self.num_requests,  # type: ignore[attr-defined]
                uuid.uuid4().hex,
            )
        except Exception:  # the cache (Redis) is unreachable
            logger.warning("Throttle cache unavailable; letting the request through.")
            return True
        if int(allowed):
            return True
        self._wait = float(wait)
        return False

    def wait(self) -> float | None:
        if self._wait is not None:
            return max(1, math.ceil(self._wait))
        return super().wait()


def _redis_client(key: str) -> Any:
    """The redis-py client behind Django's Redis cache, or None for another backend."""
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    return get_client(key, write=True) if get_client else None
