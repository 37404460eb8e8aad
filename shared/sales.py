"""SQL the model services share: a shop's paid order lines per local day, and its stock snapshots.

Forecasting reads demand from them, pricing reads prices from the same rows; one query, so the
two never disagree on what a sale is (``models.is_sale``) or which day it fell on.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Inventory, Order, OrderItem, is_sale

LINE_COLUMNS = ["item_id", "date", "units", "revenue", "price"]


def paid_lines(session: Session, timezone: str) -> pd.DataFrame:
    """item_id, date (the shop's local day), units, revenue, price of paid order lines.

    Closed and refunded orders are not sales; non-positive quantities (returns, flagged at import)
    are left out. Revenue is the line's paid amount, else unit price × quantity; price is the unit
    price the shopper saw, else paid amount ÷ quantity.
    """
    rows = session.execute(
        select(OrderItem.item_id, Order.created_at, OrderItem.quantity,
               func.coalesce(OrderItem.paid_amount, OrderItem.unit_price * OrderItem.quantity),
               func.coalesce(OrderItem.unit_price, OrderItem.paid_amount / OrderItem.quantity))
        .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
        .where(is_sale(Order.status), OrderItem.quantity > 0)
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "created_at", "units", "revenue", "price"])
    if frame.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    local = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(timezone)
    frame["date"] = local.dt.tz_localize(None).dt.normalize()
    for column in ("units", "revenue", "price"):
        frame[column] = frame[column].astype(float)
    return frame[LINE_COLUMNS]


def stock_snapshots(session: Session) -> pd.DataFrame:
    """item_id, date, on_hand, on_order, lead_time_days of every inventory snapshot."""
    rows = session.execute(select(Inventory.item_id, Inventory.date, Inventory.on_hand, Inventory.on_order,
                                  Inventory.lead_time_days)).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "on_hand", "on_order", "lead_time_days"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame
