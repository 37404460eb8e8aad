"""SQL of the insights service: read-only, shop-scoped (the session's tenancy adds shop_id), bounded.

Every query takes a UTC time window; rows are capped at ``ROW_LIMIT`` and the statement at
``STATEMENT_TIMEOUT_MS`` on PostgreSQL, so no question can scan a shop without end.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Float, cast, distinct, func, select, text
from sqlalchemy.orm import Session

from shared.models import Customer, Event, Inventory, Order, OrderItem, Product, Review, ReviewSentiment, Shop, is_sale

ROW_LIMIT = 2_000_000
STATEMENT_TIMEOUT_MS = 10_000
LINE_COLUMNS = ["order_id", "user_id", "created_at", "status", "channel", "province", "city", "item_id", "quantity",
                "revenue", "title", "category", "brand"]


def shop_timezone(session: Session, shop_id: int) -> str:
    return session.get(Shop, shop_id).timezone


def _bounded(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"),
                        execution_options={"tenant_checked": True})


def order_lines(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """Every order line of orders created in [start, end) (any status), with the order's and product's fields.
    Orders without lines (exports of 订单报表 only) appear once with no item."""
    _bounded(session)
    # Float, not Numeric: 25k Decimal objects per answer cost more than the query itself.
    revenue = cast(func.coalesce(OrderItem.paid_amount, OrderItem.unit_price * OrderItem.quantity), Float)
    rows = session.execute(
        select(Order.order_id, Order.user_id, Order.created_at, Order.status, Order.channel, Order.province,
               Order.city, OrderItem.item_id, OrderItem.quantity, revenue, Product.title, Product.category,
               Product.brand)
        .outerjoin(OrderItem, (OrderItem.shop_id == Order.shop_id) & (OrderItem.order_id == Order.order_id))
        .outerjoin(Product, (Product.shop_id == OrderItem.shop_id) & (Product.item_id == OrderItem.item_id))
        .where(Order.created_at >= start, Order.created_at < end).limit(ROW_LIMIT)
    ).all()
    frame = pd.DataFrame(rows, columns=LINE_COLUMNS)
    frame["quantity"] = pd.to_numeric(frame["quantity"], errors="coerce")
    frame["revenue"] = pd.to_numeric(frame["revenue"], errors="coerce")
    return frame


def order_totals(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """Orders without line detail: order_id, user_id, created_at, status, paid_amount (for shops that
    imported only 订单报表)."""
    rows = session.execute(select(Order.order_id, Order.user_id, Order.created_at, Order.status, Order.paid_amount)
                           .where(Order.created_at >= start, Order.created_at < end).limit(ROW_LIMIT)).all()
    frame = pd.DataFrame(rows, columns=["order_id", "user_id", "created_at", "status", "paid_amount"])
    frame["paid_amount"] = pd.to_numeric(frame["paid_amount"], errors="coerce")
    return frame


def event_counts(session: Session, start: datetime, end: datetime, by_item: bool) -> pd.DataFrame:
    """Per event type (and item): events and distinct users, counted in the database."""
    _bounded(session)
    keys = [Event.type, Event.item_id] if by_item else [Event.type]
    rows = session.execute(select(*keys, func.count(), func.count(distinct(Event.user_id)))
                           .where(Event.ts >= start, Event.ts < end).group_by(*keys)).all()
    return pd.DataFrame(rows, columns=[*(["type", "item_id"] if by_item else ["type"]), "events", "users"])


def daily_events(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """user_id, type, ts of events in the window (for trends; bounded by ROW_LIMIT)."""
    _bounded(session)
    rows = session.execute(select(Event.user_id, Event.type, Event.ts).where(Event.ts >= start, Event.ts < end)
                           .limit(ROW_LIMIT)).all()
    return pd.DataFrame(rows, columns=["user_id", "type", "ts"])


def reviews(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    rows = session.execute(
        select(Review.item_id, Review.rating, Review.created_at, Product.category, Product.title)
        .outerjoin(Product, (Product.shop_id == Review.shop_id) & (Product.item_id == Review.item_id))
        .where(Review.created_at >= start, Review.created_at < end).limit(ROW_LIMIT)).all()
    return pd.DataFrame(rows, columns=["item_id", "rating", "created_at", "category", "title"])


def known_values(session: Session) -> dict[str, list[str]]:
    """Values a question may filter on: categories and brands of the catalogue, provinces and cities."""
    def values(*columns) -> set[str]:
        return {v for column in columns for (v,) in session.execute(select(column).distinct()).all() if v}

    return {"category": sorted(values(Product.category)), "brand": sorted(values(Product.brand)),
            "province": sorted(values(Order.province, Customer.province)),
            "city": sorted(values(Order.city, Customer.city))}


def catalogue(session: Session) -> pd.DataFrame:
    """item_id, title, category, brand of every listed product (so items that sold nothing still rank)."""
    rows = session.execute(select(Product.item_id, Product.title, Product.category, Product.brand, Product.status)
                           ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "title", "category", "brand", "status"])
    return frame[~frame["status"].isin(["delisted", "offsale", "下架"])].drop(columns="status")


def latest_order_time(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Order.created_at)))


def buyer_orders(session: Session, end: datetime) -> pd.DataFrame:
    """user_id, order_id, created_at, revenue of sale orders created before ``end`` (RFM input)."""
    _bounded(session)
    revenue = func.coalesce(func.sum(func.coalesce(OrderItem.paid_amount, OrderItem.unit_price * OrderItem.quantity)),
                            Order.paid_amount, 0)
    rows = session.execute(
        select(Order.user_id, Order.order_id, Order.created_at, revenue)
        .outerjoin(OrderItem, (OrderItem.shop_id == Order.shop_id) & (OrderItem.order_id == Order.order_id))
        .where(Order.created_at < end, Order.user_id.is_not(None), is_sale(Order.status))
        .group_by(Order.user_id, Order.order_id, Order.created_at, Order.paid_amount).limit(ROW_LIMIT)
    ).all()
    frame = pd.DataFrame(rows, columns=["user_id", "order_id", "created_at", "revenue"])
    frame["revenue"] = pd.to_numeric(frame["revenue"], errors="coerce").fillna(0.0)
    return frame


def behaviour_per_user(session: Session) -> pd.DataFrame:
    """user_id with counts of pv, cart, fav events (k-means features)."""
    _bounded(session)
    rows = session.execute(select(Event.user_id, Event.type, func.count()).group_by(Event.user_id, Event.type)).all()
    frame = pd.DataFrame(rows, columns=["user_id", "type", "count"])
    if frame.empty:
        return pd.DataFrame(columns=["user_id", "pv", "cart", "fav"])
    return frame.pivot_table(index="user_id", columns="type", values="count", fill_value=0).reset_index()


def negative_reviews(session: Session, start: datetime, end: datetime) -> pd.DataFrame:
    """item_id, aspects of reviews scored negative by the sentiment service, created in [start, end)."""
    rows = session.execute(select(ReviewSentiment.item_id, ReviewSentiment.aspects)
                           .where(ReviewSentiment.label == "negative", ReviewSentiment.created_at >= start,
                                  ReviewSentiment.created_at < end)).all()
    return pd.DataFrame(rows, columns=["item_id", "aspects"])


def latest_stock(session: Session) -> pd.DataFrame:
    """item_id, on_hand of each item's most recent inventory snapshot."""
    rows = session.execute(select(Inventory.item_id, Inventory.date, Inventory.on_hand)).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "on_hand"])
    if frame.empty:
        return frame
    return frame.sort_values("date").groupby("item_id", as_index=False).last()[["item_id", "on_hand"]]
