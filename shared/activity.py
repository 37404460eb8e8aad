"""Each user's latest behaviour event, kept in Redis, so a recommendation request can tell
"nothing new since training" without a database query.

Every writer of events (live events, event imports) marks the users it writes *before* it
commits: a sorted set per shop of pseudonymous user id → the newest event time written for them.
Marking also sets, once per Redis lifetime, the shop's *watermark*: the time from which every
event written has its mark. The recommendation trainer sets the watermark too, before it reads
its data, and records when it read (``data_read_at``). Both times are Redis's own clock, so
machines whose clocks disagree cannot make a reader trust marks it should not.

A reader may trust "no mark newer than the model's data" only while the watermark is older than
the model's ``data_read_at``: then every event the model did not see was written after the
watermark and so was marked. Without Redis, after Redis lost its keys (the watermark goes with
them) or for a model without ``data_read_at``, the answer is "maybe", and the caller asks the
database. A mark is only ever a hint that sends the reader to the database, never data.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from shared.redis_client import quick_client

log = logging.getLogger(__name__)
MARK_BATCH = 10_000  # users per ZADD: bounded command size for imports of millions of events
# Sets the watermark to the server's time unless it exists; returns that time.
_START = """
local now = redis.call('TIME')
local stamp = string.format('%.6f', tonumber(now[1]) + tonumber(now[2]) / 1e6)
redis.call('SET', KEYS[1], stamp, 'NX')
return stamp
"""


def _marks(shop_id: int) -> str:
    return f"shopmind:activity:{shop_id}"


def _watermark(shop_id: int) -> str:
    return f"shopmind:activity:{shop_id}:since"


@functools.cache
def _start_script(url: str):
    return quick_client(url).register_script(_START)


def _epoch(ts: datetime) -> float:
    """Seconds since the epoch; a naive time is UTC (as the database returns it)."""
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()


def start_watermark(redis_url: str | None, shop_id: int) -> float | None:
    """Make sure the watermark exists, before the trainer reads its data; returns Redis's time
    now, the model's ``data_read_at`` (None without Redis: readers will ask the database)."""
    if not redis_url:
        return None
    import redis

    try:
        return float(_start_script(redis_url)(keys=[_watermark(shop_id)]))
    except redis.RedisError as exc:
        log.warning("activity watermark not set for shop %s: %s", shop_id, exc)
        return None


def mark(redis_url: str | None, shop_id: int, latest: Iterable[tuple[str, datetime]]) -> None:
    """Record each (user, newest event time) pair; a mark only ever moves forward."""
    if not redis_url:
        return
    import redis

    client = quick_client(redis_url)
    try:
        _start_script(redis_url)(keys=[_watermark(shop_id)])
        batch: dict[str, float] = {}
        for user, ts in latest:
            stamp = _epoch(ts)
            if stamp > batch.get(user, float("-inf")):
                batch[user] = stamp
            if len(batch) >= MARK_BATCH:
                client.zadd(_marks(shop_id), batch, gt=True)
                batch = {}
        if batch:
            client.zadd(_marks(shop_id), batch, gt=True)
    except redis.RedisError as exc:
        # The events are still stored; until the next retrain this user's picks may not yet
        # reflect them (docs/recommendations.md, "Serving from memory").
        log.warning("activity marks not written for shop %s: %s", shop_id, exc)


def may_have_events_since(redis_url: str | None, shop_id: int, user: str, since: datetime,
                          data_read_at: float | None) -> bool:
    """False only when the marks prove ``user`` has no event after ``since`` (see the module
    docstring); True whenever that cannot be shown."""
    if not redis_url or data_read_at is None:
        return True
    import redis

    try:
        watermark, stamp = quick_client(redis_url).pipeline(transaction=False) \
            .get(_watermark(shop_id)).zscore(_marks(shop_id), user).execute()
    except redis.RedisError:
        return True
    if watermark is None or float(watermark) > data_read_at:
        return True
    return stamp is not None and float(stamp) > _epoch(since)
