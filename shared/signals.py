"""Cross-service notifications that need no reply: "these users just did something".

Distributed mode publishes on a Redis channel; embedded mode calls in-process subscribers.
The database stays the source of truth: a missed signal only delays an update until the
subscriber next reads the rows.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import defaultdict
from collections.abc import Callable

from shared.config import Settings

log = logging.getLogger(__name__)
USER_ACTIVITY = "shopmind:user-activity"
_local_subscribers: dict[str, list[Callable[[dict], None]]] = defaultdict(list)


def publish(settings: Settings, channel: str, message: dict) -> None:
    if settings.redis_url:
        import redis

        try:
            _redis(settings.redis_url).publish(channel, json.dumps(message))
        except redis.RedisError as exc:  # the rows are stored; the signal is only a hint
            log.warning("could not publish on %s: %s", channel, exc)
        return
    for callback in list(_local_subscribers[channel]):
        try:
            callback(message)
        except Exception:
            log.exception("subscriber of %s failed", channel)


@functools.cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def subscribe_local(channel: str, callback: Callable[[dict], None]) -> None:
    """Embedded mode: call ``callback(message)`` for every message published in this process."""
    _local_subscribers[channel].append(callback)
