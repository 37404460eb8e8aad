"""Requests per minute per API key: Redis in distributed mode, in-process when embedded.

A fixed one-minute window keyed by the key id: one INCR (and an EXPIRE on the first hit) per
request. Good enough to stop a runaway client; not a billing meter.
"""

from __future__ import annotations

import logging
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
