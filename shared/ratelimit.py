"""Budgets per key per minute (API keys, sign-in failures, webhook tests) and cooldowns.

A budget is ``limits``' moving window: at most N hits in any 60 s, kept as each key's last N hit
times. Unlike a fixed clock minute, a client cannot spend two budgets across a minute boundary
(a password guesser least of all). Redis in distributed mode (one script call per hit),
in-process memory when embedded. Good enough to stop a runaway client or a
password guesser; not a billing meter.

A cooldown is the other shape: one action per key every few seconds (a webhook's test delivery),
a ``SET NX`` with an expiry in Redis.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from shared.redis_client import quick_client

log = logging.getLogger(__name__)


class RateLimiter:
    """``limit_per_minute`` hits per key in any 60 s; ``redis_url`` shares the
    counts between processes (else this process counts alone). A Redis hiccup fails open: it
    must not take the API down."""

    def __init__(self, limit_per_minute: int, redis_url: str | None = None):
        self.limit = limit_per_minute
        self._item = RateLimitItemPerMinute(limit_per_minute)
        storage = (RedisStorage(redis_url, key_prefix="shopmind:ratelimit", wrap_exceptions=True,
                                socket_timeout=0.5, socket_connect_timeout=0.5)
                   if redis_url else MemoryStorage())
        self._limiter = MovingWindowRateLimiter(storage)

    def hit(self, key: str) -> int | None:
        """Count one hit; the seconds to wait if the budget is spent (the hit is then not counted)."""
        try:
            return None if self._limiter.hit(self._item, key) else self._retry_after(key)
        except StorageError as exc:
            log.warning("rate limiter unavailable (%s); request allowed", exc)
            return None

    def spent(self, key: str) -> int | None:
        """The seconds to wait if ``key`` has no budget left, without counting a hit."""
        try:
            return None if self._limiter.test(self._item, key) else self._retry_after(key)
        except StorageError as exc:
            log.warning("rate limiter unavailable (%s); request allowed", exc)
            return None

    def _retry_after(self, key: str) -> int:
        reset_at = self._limiter.get_window_stats(self._item, key).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def rate_limiter(limit_per_minute: int, redis_url: str | None) -> RateLimiter | None:
    return RateLimiter(limit_per_minute, redis_url) if limit_per_minute > 0 else None


class InProcessCooldown:
    """One action per key every ``seconds`` (this process only)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int | None:
        """Claim ``key`` for the next ``seconds``; if it is already claimed, the seconds left to wait."""
        now = time.monotonic()
        with self._lock:
            if len(self._until) > 100_000:  # forget the ones that ran out
                self._until = {k: until for k, until in self._until.items() if until > now}
            until = self._until.get(key)
            if until is not None and until > now:
                return max(1, math.ceil(until - now))
            self._until[key] = now + self.seconds
        return None


class RedisCooldown:
    """One action per key every ``seconds``, shared by every process using this Redis."""

    def __init__(self, seconds: float, redis_url: str):
        import redis

        self.seconds = seconds
        self._redis = quick_client(redis_url)
        self._errors = (redis.RedisError,)

    def take(self, key: str) -> int | None:
        name = f"shopmind:cooldown:{key}"
        try:
            if self._redis.set(name, 1, nx=True, px=max(1, int(self.seconds * 1000))):
                return None
            left_ms = self._redis.pttl(name)
        except self._errors as exc:  # fail open, as the rate limiter does
            log.warning("cooldown unavailable (%s); action allowed", exc)
            return None
        return max(1, math.ceil(left_ms / 1000)) if left_ms and left_ms > 0 else 1


def cooldown(seconds: float, redis_url: str | None):
    return RedisCooldown(seconds, redis_url) if redis_url else InProcessCooldown(seconds)
