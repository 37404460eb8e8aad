"""One Redis client per URL and process for the calls that must not hold a request up: hints,
marks, cooldowns and notifications that fail open. A short timeout, so an unreachable Redis
costs a request at most half a second; redis-py's connection pool is thread-safe."""

from __future__ import annotations

import functools

QUICK_TIMEOUT_S = 0.5


@functools.cache
def quick_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=QUICK_TIMEOUT_S, socket_connect_timeout=QUICK_TIMEOUT_S)
