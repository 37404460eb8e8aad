"""The import loader's write on the real database (SQLite, or PostgreSQL in CI): new keys take a
plain INSERT, and a key another writer stored meanwhile turns it into an upsert, losing nothing."""

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import select

import shared.models as m
from services.ingestion.loader import StagingLoader, ensure_event_partitions
from shared.db import ALL_SHOPS, get_engine, session_scope

TS = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def shop_id(settings) -> int:
    """A fresh shop, with the events partition its rows need."""
    with get_engine(settings.database_url).begin() as ddl:
        ensure_event_partitions(ddl, TS, TS)
    with session_scope(ALL_SHOPS, settings.database_url) as s:
        shop = m.Shop(name="loader", timezone="Asia/Shanghai", currency="CNY", user_id_salt="s")
        s.add(shop)
        s.flush()
        return shop.id


def _events(users: list[str], category: str) -> pd.DataFrame:
    return pd.DataFrame({"user_id": users, "item_id": "i1", "type": "pv",
                         "ts": pd.Series([TS] * len(users), dtype="datetime64[ns, UTC]"), "category_id": category})


def _stored(url: str, shop_id: int) -> dict[str, str]:
    with session_scope(shop_id, url) as s:
        return dict(s.execute(select(m.Event.user_id, m.Event.category_id)).all())


def test_first_import_inserts_and_reimport_changes_only_what_differs(settings, shop_id):
    url = settings.database_url
    with get_engine(url).connect() as conn:
        loader = StagingLoader(conn, "events", shop_id)
        loader.stage(_events(["u1", "u2", "u3"], "c1"))
        loader.lock_for_write()
        assert loader.apply() == {"inserted": 3, "updated": 0, "unchanged": 0}
        conn.commit()
    with get_engine(url).connect() as conn:
        loader = StagingLoader(conn, "events", shop_id)
        loader.stage(pd.concat([_events(["u1", "u2"], "c1"), _events(["u3"], "c9"), _events(["u4"], "c1")]))
        loader.lock_for_write()
        assert loader.apply() == {"inserted": 1, "updated": 1, "unchanged": 2}
        conn.commit()
    assert _stored(url, shop_id) == {"u1": "c1", "u2": "c1", "u3": "c9", "u4": "c1"}


def test_a_key_stored_by_another_writer_meanwhile_becomes_an_upsert(settings, shop_id):
    url = settings.database_url
    with get_engine(url).connect() as conn:
        loader = StagingLoader(conn, "events", shop_id)
        loader.stage(_events(["u1", "u2"], "new"))
        conn.commit()
        # A live event for u2 lands after the loader counted its keys as new.
        with session_scope(shop_id, url) as s:
            s.add(m.Event(user_id="u2", item_id="i1", type="pv", ts=TS, category_id="live"))
        loader.lock_for_write()
        loader.write(only_new_keys=True)
        conn.commit()
    assert _stored(url, shop_id) == {"u1": "new", "u2": "new"}
