"""The sweeper deletes console sessions that ended long ago, in bounded batches (SQLite embedded,
PostgreSQL with DATABASE_URL)."""

import secrets
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from shared import sweeper
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.models import ConsoleSession

SHOP_LANGUAGE = "en"
PASSWORD = "correct horse battery"
DAY = timedelta(days=1)


@pytest.fixture
def purging(settings):
    """The run's settings with the documented defaults the ages below are measured against."""
    return replace(settings, session_idle_s=8 * 3600, session_max_s=7 * 86400, session_purge_after_days=7)


def _user(shop) -> tuple[int, str]:
    email = f"purge.{uuid.uuid4().hex[:12]}@example.com"
    reply = shop.client.post("/v1/users", json={"email": email, "role": "analyst", "password": PASSWORD},
                             headers=shop.headers("admin"))
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"], email


def _sessions(settings, shop, user_id, **ages) -> dict[str, str]:
    """A session row per name, created and last seen that long ago: {name: token_hash}."""
    now, rows = utcnow(), {}
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        for name, (created_ago, seen_ago) in ages.items():
            rows[name] = secrets.token_hex(32)
            session.add(ConsoleSession(token_hash=rows[name], shop_id=shop.id, user_id=user_id,
                                       csrf_token=secrets.token_urlsafe(32), created_at=now - created_ago,
                                       last_seen_at=now - seen_ago))
    return rows


def _left(settings, hashes) -> set[str]:
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        return set(session.scalars(select(ConsoleSession.token_hash).where(ConsoleSession.token_hash.in_(hashes))))


def test_sessions_that_ended_long_ago_are_deleted_and_the_rest_kept(app, shop, purging):
    user_id, email = _user(shop)
    idle, longest = timedelta(seconds=purging.session_idle_s), timedelta(seconds=purging.session_max_s)
    rows = _sessions(purging, shop, user_id,
                     live=(DAY, timedelta(minutes=5)),
                     idle_lately=(idle + 3 * DAY, idle + 2 * DAY),  # ended 2 days ago: kept a while
                     idle_long_ago=(idle + 9 * DAY, idle + 8 * DAY),  # ended 8 days ago
                     old_lately=(longest + 6 * DAY, timedelta(hours=1)),  # too old for 6 days: kept
                     old_long_ago=(longest + 8 * DAY, timedelta(hours=1)))  # still used, but ended 8 days ago
    # An address of its own: failed sign-ins elsewhere in the run are counted per address.
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    signed_in = app.test_client()
    reply = signed_in.post("/v1/sessions", json={"email": email, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": address})
    assert reply.status_code == 201, reply.get_json()
    counts = sweeper.sweep(purging)
    assert counts["sessions_purged"] >= 2
    assert _left(purging, rows.values()) == {rows["live"], rows["idle_lately"], rows["old_lately"]}
    assert signed_in.get("/v1/me", environ_base={"REMOTE_ADDR": address}).status_code == 200  # untouched
    later = utcnow() + 6 * DAY  # the ones kept a while go once their days are up
    assert sweeper.purge_sessions(purging, now=later) >= 2
    assert _left(purging, rows.values()) == {rows["live"]}


def test_purging_goes_in_bounded_batches(shop, purging):
    user_id, _email = _user(shop)
    ended = timedelta(seconds=purging.session_max_s) + 30 * DAY
    rows = _sessions(purging, shop, user_id, **{f"s{i}": (ended, ended) for i in range(5)})
    assert sweeper.purge_sessions(purging, batch=2, batches=2) == 4  # two transactions of two, then it stops
    assert len(_left(purging, rows.values())) == 1
    assert sweeper.purge_sessions(purging, batch=2, batches=2) >= 1  # the next round takes the rest
    assert _left(purging, rows.values()) == set()


def test_the_days_kept_are_a_setting(shop, purging):
    user_id, _email = _user(shop)
    idle = timedelta(seconds=purging.session_idle_s)
    rows = _sessions(purging, shop, user_id, ended_an_hour_ago=(DAY, idle + timedelta(hours=1)))
    sweeper.purge_sessions(purging)
    assert _left(purging, rows.values()) == set(rows.values())
    sweeper.purge_sessions(replace(purging, session_purge_after_days=0))  # 0: as soon as they end
    assert _left(purging, rows.values()) == set()
