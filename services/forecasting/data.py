"""SQL of the forecasting service: paid order lines per day, stock snapshots, the catalogue."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Inventory, Order, OrderItem, Product, Shop, is_sale


def shop_timezone(session: Session, shop_id: int) -> str:
    return session.get(Shop, shop_id).timezone


def daily_lines(session: Session, timezone: str) -> pd.DataFrame:
    """item_id, date (the shop's local day), units, revenue of paid order lines.

    Closed and refunded orders are not sales; non-positive quantities (returns, flagged at import)
    are left out of demand.
    """
    rows = session.execute(
        select(OrderItem.item_id, Order.created_at, OrderItem.quantity,
               func.coalesce(OrderItem.paid_amount, OrderItem.unit_price * OrderItem.quantity))
        .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
        .where(is_sale(Order.status), OrderItem.quantity > 0)
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "created_at", "units", "revenue"])
    if frame.empty:
        return pd.DataFrame(columns=["item_id", "date", "units", "revenue"])
    local = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(timezone)
    frame["date"] = local.dt.tz_localize(None).dt.normalize()
    frame["units"] = frame["units"].astype(float)
    frame["revenue"] = frame["revenue"].astype(float)
    return frame[["item_id", "date", "units", "revenue"]]


def stock_snapshots(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Inventory.item_id, Inventory.date, Inventory.on_hand, Inventory.on_order,
                                  Inventory.lead_time_days)).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "on_hand", "on_order", "lead_time_days"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def catalogue(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Product.item_id, Product.title, Product.category, Product.attributes)).all()
    return pd.DataFrame(rows, columns=["item_id", "title", "category", "attributes"])


def latest_stock(session: Session) -> pd.DataFrame:
    """Each item's most recent stock snapshot (on hand, on order, lead time)."""
    frame = stock_snapshots(session)
    if frame.empty:
        return frame
    return frame.sort_values("date").groupby("item_id", as_index=False).last()
