"""Requests per minute per API key: Redis in distributed mode, in-process when embedded.

A fixed one-minute window keyed by the key id: one INCR (and an EXPIRE on the first hit) per
request. Good enough to stop a runaway client; not a billing meter.

A cooldown is the other shape: one action per key every few seconds (a webhook's test delivery),
a ``SET NX`` with an expiry in Redis.
"""

from __future__ import annotations

import logging
import math
import threading
import time

log = logging.getLogger(__name__)

WINDOW_S = 60


class InProcessRateLimiter:
    def __init__(self, limit_per_minute: int):
        self.limit = limit_per_minute
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int | None:
        """Count one request; return seconds to wait if over the limit, else None."""
        window = int(time.time() // WINDOW_S)
        with self._lock:
            if len(self._counts) > 100_000:  # forget old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
        return _retry_after(window) if count > self.limit else None

    def spent(self, key: str) -> int | None:
        """Seconds to wait if ``key`` has used its budget this window, without counting a hit."""
        window = int(time.time() // WINDOW_S)
        return _retry_after(window) if self._counts.get((key, window), 0) >= self.limit else None


class RedisRateLimiter:
    def __init__(self, limit_per_minute: int, redis_url: str):
        import redis

        self.limit = limit_per_minute
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors = (redis.RedisError,)

    def hit(self, key: str) -> int | None:
        window = int(time.time() // WINDOW_S)
        name = f"shopmind:ratelimit:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, WINDOW_S * 2)
        try:
            count, _ = pipe.execute()
        except self._errors as exc:  # fail open: a Redis hiccup must not take the API down
            log.warning("rate limiter unavailable (%s); request allowed", exc)
            return None
        return _retry_after(window) if count > self.limit else None

    def spent(self, key: str) -> int | None:
        window = int(time.time() // WINDOW_S)
        try:
            count = int(self._redis.get(f"shopmind:ratelimit:{key}:{window}") or 0)
        except self._errors as exc:
            log.warning("rate limiter unavailable (%s); request allowed", exc)
            return None
        return _retry_after(window) if count >= self.limit else None


def _retry_after(window: int) -> int:
    return max(1, int((window + 1) * WINDOW_S - time.time()) + 1)


def rate_limiter(limit_per_minute: int, redis_url: str | None):
    if limit_per_minute <= 0:
        return None
    if redis_url:
        return RedisRateLimiter(limit_per_minute, redis_url)
    return InProcessRateLimiter(limit_per_minute)


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
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
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
