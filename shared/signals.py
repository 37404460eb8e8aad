"""Cross-process notifications that need no reply: "shop 3's active recommendation model changed".

Distributed mode publishes on Redis and every subscribing process runs one listener thread;
embedded mode calls the subscribers in this process directly. The database stays the source of
truth: a missed message only delays an update until the subscriber next reads the rows.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.redis_client import quick_client

log = logging.getLogger(__name__)
MODEL_CHANGED = "shopmind:model-changed"  # {"shop_id", "service"}: a version was promoted or rolled back

_redis_url: str | None = None
_subscribers: dict[str, list[Callable[[dict], None]]] = defaultdict(list)
_listener_pid: int | None = None
_lock = threading.Lock()


def configure(redis_url: str | None) -> None:
    """Where this process publishes and listens (None: in-process only). Called by app and
    worker set-up (``shared.celery_app.configure``)."""
    global _redis_url
    _redis_url = redis_url


def publish(channel: str, message: dict) -> None:
    if _redis_url:
        import redis

        try:
            quick_client(_redis_url).publish(channel, json.dumps(message))
        except redis.RedisError as exc:  # the rows are stored; the message is only a hint
            log.warning("could not publish on %s: %s", channel, exc)
        return
    _deliver(channel, message)


def publish_after_commit(session: Session, channel: str, message: dict) -> None:
    """Publish once ``session`` commits, so a subscriber that re-reads the rows finds them."""
    event.listen(session, "after_commit", lambda _session: publish(channel, message), once=True)


def subscribe(channel: str, callback: Callable[[dict], None]) -> None:
    """Call ``callback(message)`` for every message on ``channel`` (from any process when Redis
    is configured)."""
    with _lock:
        if callback not in _subscribers[channel]:
            _subscribers[channel].append(callback)
    if _redis_url:
        _ensure_listener(_redis_url)


def _deliver(channel: str, message: dict) -> None:
    for callback in list(_subscribers.get(channel, ())):
        try:
            callback(message)
        except Exception:
            log.exception("subscriber of %s failed", channel)


def _ensure_listener(url: str) -> None:
    """One listener thread per process (a forked child starts its own: threads do not survive fork)."""
    global _listener_pid
    with _lock:
        if _listener_pid == os.getpid():
            return
        _listener_pid = os.getpid()
    threading.Thread(target=_listen, args=(url,), name="shopmind-signals", daemon=True).start()


def _listen(url: str) -> None:
    import redis

    delay = 0.5
    while True:
        try:
            pubsub = redis.Redis.from_url(url, socket_connect_timeout=2).pubsub(ignore_subscribe_messages=True)
            pubsub.psubscribe("shopmind:*")
            delay = 0.5
            for item in pubsub.listen():
                channel = item["channel"].decode() if isinstance(item["channel"], bytes) else item["channel"]
                try:
                    message = json.loads(item["data"])
                except (TypeError, ValueError):
                    continue
                _deliver(channel, message)
        except redis.RedisError as exc:
            log.warning("signal listener lost Redis (%s); reconnecting in %.1fs", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
