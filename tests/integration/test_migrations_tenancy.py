"""Migrations build the models' schema on SQLite and PostgreSQL, reversibly; tenancy holds in the ORM."""

import os
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, select, update

import shared.models as m
from shared.db import ALL_SHOPS, Base, TenantScopeError, get_engine, session_scope
from shared.migrate import downgrade, upgrade
from tests.conftest import _create_database


def _schema_diff(url: str) -> list:
    with get_engine(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    # PostgreSQL's monthly partitions of events are created at load time, not modelled.
    def on_partition(d) -> bool:
        obj = d[1] if isinstance(d, tuple) else None
        table = getattr(obj, "table", obj)
        return d[0] in ("remove_table", "remove_index") and getattr(table, "name", "").startswith("events_")

    return [d for d in diff if not on_partition(d)]


def _round_trip(url: str) -> None:
    upgrade(url)
    tables = set(inspect(get_engine(url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert _schema_diff(url) == []
    downgrade(url, "base")
    assert set(inspect(get_engine(url)).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    assert _schema_diff(url) == []


def test_migrations_round_trip_on_sqlite(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs DATABASE_URL (PostgreSQL); CI sets it")
def test_migrations_round_trip_on_postgresql():
    url, drop = _create_database(os.environ["DATABASE_URL"])
    try:
        _round_trip(url)
        with get_engine(url).connect() as conn:
            kind = conn.exec_driver_sql("SELECT relkind FROM pg_class WHERE relname = 'events'").scalar()
        assert kind == "p"  # partitioned table
    finally:
        drop()


def _two_shops_with_products(url):
    with session_scope(ALL_SHOPS, url) as s:
        a = m.Shop(name="a", timezone="Asia/Shanghai", currency="CNY", user_id_salt="x")
        b = m.Shop(name="b", timezone="Asia/Shanghai", currency="CNY", user_id_salt="y")
        s.add_all([a, b])
        s.flush()
        s.add_all([m.Product(shop_id=a.id, item_id="1", title="A的商品"),
                   m.Product(shop_id=b.id, item_id="1", title="B的商品"),
                   m.Product(shop_id=b.id, item_id="2", title="B的商品2")])
        return a.id, b.id


def test_queries_only_see_the_sessions_shop(settings):
    a, b = _two_shops_with_products(settings.database_url)
    with session_scope(a, settings.database_url) as s:
        titles = s.scalars(select(m.Product.title)).all()
        assert titles == ["A的商品"]
        assert s.get(m.Product, (b, "2")) is None
    # Bulk ORM updates and deletes are scoped too: shop A cannot touch B's rows.
    with session_scope(a, settings.database_url) as s:
        s.execute(update(m.Product).where(m.Product.item_id == "1").values(brand="orm"))
        s.execute(delete(m.Product).where(m.Product.item_id == "2"))
    with session_scope(b, settings.database_url) as s:
        assert s.get(m.Product, (b, "1")).brand is None
        assert s.get(m.Product, (b, "2")) is not None
    with session_scope(a, settings.database_url) as s:
        assert s.get(m.Product, (a, "1")).brand == "orm"


def test_writes_are_checked_against_the_sessions_shop(settings):
    a, b = _two_shops_with_products(settings.database_url)
    with pytest.raises(TenantScopeError, match=f"of shop {b} written by shop {a}"):
        with session_scope(a, settings.database_url) as s:
            s.add(m.Product(shop_id=b, item_id="x"))
    with session_scope(a, settings.database_url) as s:  # shop_id filled in from the session
        s.add(m.Customer(user_id="u1", registered_at=datetime(2024, 1, 1, tzinfo=UTC)))
    with session_scope(a, settings.database_url) as s:
        assert s.scalars(select(m.Customer.shop_id)).all() == [a]


def test_a_session_without_a_shop_refuses_shop_rows(settings):
    with pytest.raises(TenantScopeError):
        with session_scope(None, settings.database_url) as s:
            s.scalars(select(m.Product)).all()


def test_aggregates_and_subqueries_are_scoped_too(settings):
    """Regression: select(func.count()).select_from(Model) selects no entity, yet must be scoped."""
    from sqlalchemy import func

    a, b = _two_shops_with_products(settings.database_url)
    with session_scope(a, settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(m.Product)) == 1
        assert s.scalar(select(func.max(m.Product.item_id))) == "1"
        inner = select(m.Product.item_id).scalar_subquery()
        assert s.scalars(select(m.Product.title).where(m.Product.item_id.in_(inner))).all() == ["A的商品"]
    with session_scope(b, settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(m.Product)) == 2
    with pytest.raises(TenantScopeError):
        with session_scope(None, settings.database_url) as s:
            s.scalar(select(func.count()).select_from(m.Product))


def test_writes_through_statements_cannot_cross_shops(settings):
    """Regression (review): bulk inserts, upserts and UPDATE ... SET shop_id went around the scope."""
    from sqlalchemy import insert, text

    a, b = _two_shops_with_products(settings.database_url)
    with pytest.raises(TenantScopeError, match="insert of a row for shop"):
        with session_scope(b, settings.database_url) as s:
            s.execute(insert(m.Product), [{"shop_id": a, "item_id": "evil"}])
    with pytest.raises(TenantScopeError, match="insert of a row for shop"):
        with session_scope(b, settings.database_url) as s:
            s.execute(insert(m.Product).values(shop_id=a, item_id="evil2"))
    with pytest.raises(TenantScopeError, match="may not change shop_id"):
        with session_scope(b, settings.database_url) as s:
            s.execute(update(m.Product).values(shop_id=a))
    with pytest.raises(TenantScopeError, match="Core statement"):
        with session_scope(b, settings.database_url) as s:
            s.execute(select(m.Product.__table__)).all()
    with pytest.raises(TenantScopeError, match="raw SQL"):
        with session_scope(b, settings.database_url) as s:
            s.execute(text("SELECT * FROM products")).all()
    with session_scope(b, settings.database_url) as s:  # the shop's own rows are fine
        s.execute(insert(m.Product), [{"shop_id": b, "item_id": "mine"}])
    with session_scope(a, settings.database_url) as s:
        assert s.get(m.Product, (a, "evil")) is None and s.get(m.Product, (a, "evil2")) is None
