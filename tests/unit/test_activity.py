"""shared.activity: a reader skips the recent-events query only when Redis's marks prove there is
nothing new; every doubt (no Redis, lost keys, an older model, Redis down) sends it to the database."""

import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from shared import activity

REDIS = os.environ.get("REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS, reason="needs Redis (REDIS_URL)")
AS_OF = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the model's data ends here


def _drop_keys(shop_id):
    """What a Redis restart does to a shop's marks (it keeps nothing on disk)."""
    import redis

    redis.Redis.from_url(REDIS).delete(f"shopmind:activity:{shop_id}", f"shopmind:activity:{shop_id}:since")


@pytest.fixture
def shop():
    shop_id = random.randrange(10**8, 10**9)  # its own keys, whatever else shares this Redis
    yield shop_id
    _drop_keys(shop_id)


def test_without_redis_every_user_may_have_news():
    activity.mark(None, 1, [("u", AS_OF)])  # nothing to write to, nothing raised
    assert activity.start_watermark(None, 1) is None
    assert activity.may_have_events_since(None, 1, "u", AS_OF, data_read_at=time.time())


@needs_redis
def test_marks_decide_once_the_watermark_precedes_the_data(shop):
    data_read_at = activity.start_watermark(REDIS, shop)
    assert data_read_at is not None and abs(data_read_at - time.time()) < 5
    activity.mark(REDIS, shop, [("new", AS_OF + timedelta(minutes=5)), ("old", AS_OF - timedelta(days=2))])
    assert activity.may_have_events_since(REDIS, shop, "new", AS_OF, data_read_at)
    assert not activity.may_have_events_since(REDIS, shop, "old", AS_OF, data_read_at)
    assert not activity.may_have_events_since(REDIS, shop, "never-seen", AS_OF, data_read_at)
    # A back-dated event does not move a mark back.
    activity.mark(REDIS, shop, [("new", AS_OF - timedelta(days=9))])
    assert activity.may_have_events_since(REDIS, shop, "new", AS_OF, data_read_at)
    # Naive times are UTC, as the database hands them back.
    activity.mark(REDIS, shop, [("naive", (AS_OF + timedelta(seconds=30)).replace(tzinfo=None))])
    assert activity.may_have_events_since(REDIS, shop, "naive", AS_OF, data_read_at)


@needs_redis
def test_marks_are_not_trusted_for_data_read_before_the_watermark(shop):
    """Redis lost its keys (or marking began) after the model read its data: events written in
    between may have no mark, so every user goes to the database."""
    activity.start_watermark(REDIS, shop)
    assert activity.may_have_events_since(REDIS, shop, "u", AS_OF, data_read_at=time.time() - 3600)
    assert activity.may_have_events_since(REDIS, shop, "u", AS_OF, data_read_at=None)  # an older model
    data_read_at = activity.start_watermark(REDIS, shop)
    assert not activity.may_have_events_since(REDIS, shop, "u", AS_OF, data_read_at)
    _drop_keys(shop)  # as after a Redis restart: the watermark goes with the marks
    assert activity.may_have_events_since(REDIS, shop, "u", AS_OF, data_read_at)
    activity.mark(REDIS, shop, [("other", AS_OF)])  # marking again starts a new, later watermark
    assert activity.may_have_events_since(REDIS, shop, "u", AS_OF, data_read_at)


def test_a_redis_that_is_down_means_ask_the_database():
    down = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    activity.mark(down, 1, [("u", AS_OF)])
    assert activity.start_watermark(down, 1) is None
    assert activity.may_have_events_since(down, 1, "u", AS_OF, data_read_at=time.time())


@needs_redis
def test_marks_of_many_users_go_in_batches(shop, monkeypatch):
    monkeypatch.setattr(activity, "MARK_BATCH", 7)
    data_read_at = activity.start_watermark(REDIS, shop)
    activity.mark(REDIS, shop, ((f"u{i}", AS_OF + timedelta(seconds=i + 1)) for i in range(50)))
    assert all(activity.may_have_events_since(REDIS, shop, f"u{i}", AS_OF, data_read_at) for i in range(50))
