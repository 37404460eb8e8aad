"""What counts as a sale, defined once (docs/imports.md, "What counts as a sale").

Every figure of money or units reads it from here: the dashboard, ``/v1/ask`` and what insights
builds on it (anomalies, the weekly report, segments), the histories pricing and forecasting
train on, and the purchases recommendations learn from. So the same shop and days give the same
revenue wherever it is read:

- an order is a **sale** when its status is paid, shipped or completed, or when it has no status
  (invoice exports list only what happened) and its lines net to a positive quantity, or it was
  imported without lines;
- an order is a **return** when it was refunded, or has no status and its lines net negative
  (a credit note such as UCI's "C" invoices); returns count as refunded, never as negative sales;
  closed and pending orders are neither;
- a sale's **revenue** is the net of its lines: each line's paid amount, else unit price ×
  quantity, so a credit line on a sale's own invoice lowers it; an order imported without lines
  counts its own paid amount; **units** are the positive quantities of a sale's lines;
- the **day** of an order is the shop's local day of its creation time;
- **conversion** is read from behaviour events, not orders: the users who bought (a ``buy``
  event) ÷ the users who viewed (a ``pv`` event) in the same days; without views it has no value;
- an item is **out of stock** when its latest stock snapshot has nothing on hand (an item with no
  snapshot is not: the shop does not track its stock here).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from shared.db import local_bucket
from shared.models import Event, Inventory, Order, OrderItem

SALE_STATUSES = ("paid", "shipped", "completed")
RETURN_STATUS = "refunded"
LINE_COLUMNS = ["item_id", "date", "units", "revenue", "price"]
VIEW_EVENT, BUY_EVENT = "pv", "buy"  # the behaviour events conversion divides


def local_day(stamp: ColumnElement, timezone: str) -> ColumnElement:
    """SQL: the shop's local day (a DATE) of a UTC timestamp column."""
    return local_bucket(stamp, timezone, "day")


def _net_quantity(order) -> ColumnElement:
    """SQL: the sum of the order's line quantities (NULL when it has no lines)."""
    lines = aliased(OrderItem)
    return (select(func.sum(lines.quantity)).where(lines.shop_id == order.shop_id, lines.order_id == order.order_id)
            .correlate(order).scalar_subquery())


def sale_flag(order=Order) -> ColumnElement:
    """SQL: 1 when the order is a sale, else 0. CASE, so only status-less orders ask for their
    lines' net quantity."""
    return case((order.status.in_(SALE_STATUSES), 1),
                (order.status.is_(None), case((func.coalesce(_net_quantity(order), 1) > 0, 1), else_=0)),
                else_=0)


def return_flag(order=Order) -> ColumnElement:
    """SQL: 1 when the order is a return (refunded, or a status-less credit note), else 0."""
    return case((order.status == RETURN_STATUS, 1),
                (order.status.is_(None), case((_net_quantity(order) < 0, 1), else_=0)),
                else_=0)


def is_sale(order=Order) -> ColumnElement:
    """SQL condition for WHERE: the order is a sale."""
    return sale_flag(order) == 1


def line_revenue(line=OrderItem) -> ColumnElement:
    """SQL: the net revenue of an order line (negative for a credit line)."""
    return func.coalesce(line.paid_amount, line.unit_price * line.quantity)


def line_units(line=OrderItem) -> ColumnElement:
    """SQL: the units a line sold (its quantity when positive, else 0)."""
    return case((line.quantity > 0, line.quantity), else_=0)


def paid_lines(session: Session, timezone: str) -> pd.DataFrame:
    """item_id, date (the shop's local day), units, revenue, price of every line of every sale.

    Credit lines on a sale's own invoice are kept with 0 units and their negative revenue, so an
    item's revenue per day adds up to what ``/v1/ask`` and the dashboard report; price is the unit
    price the shopper saw, else paid amount ÷ quantity.
    """
    rows = session.execute(
        select(OrderItem.item_id, local_day(Order.created_at, timezone), line_units(), line_revenue(),
               func.coalesce(OrderItem.unit_price, OrderItem.paid_amount / func.nullif(OrderItem.quantity, 0)))
        .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
        .where(is_sale(Order))
    ).all()
    frame = pd.DataFrame(rows, columns=LINE_COLUMNS)
    if frame.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"])
    for column in ("units", "revenue", "price"):
        frame[column] = frame[column].astype(float)
    return frame


def item_days(session: Session, timezone: str, item_ids: list[str], window: tuple[datetime, datetime]
              ) -> pd.DataFrame:
    """item_id, date (local day), units, revenue per item and day of the sales created in
    [start, end) (UTC), for ``item_ids`` only: one item's weeks around a decision, not the shop's years."""
    if not item_ids:
        return pd.DataFrame(columns=["item_id", "date", "units", "revenue"])
    day = local_day(Order.created_at, timezone)
    rows = session.execute(
        select(OrderItem.item_id, day, func.sum(line_units()), func.sum(line_revenue()))
        .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
        .where(is_sale(Order), OrderItem.item_id.in_(item_ids),
               Order.created_at >= window[0], Order.created_at < window[1])
        .group_by(OrderItem.item_id, day)
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "units", "revenue"])
    frame["date"] = pd.to_datetime(frame["date"])
    for column in ("units", "revenue"):
        frame[column] = frame[column].astype(float)
    return frame


def buyer_totals(session: Session, window: tuple[datetime, datetime]) -> pd.DataFrame:
    """user_id, orders, revenue of every buyer's sales created in [start, end) (UTC)."""
    revenue = case((OrderItem.order_id.is_(None), Order.paid_amount), else_=line_revenue())
    rows = session.execute(
        select(Order.user_id, func.count(func.distinct(Order.order_id)), func.coalesce(func.sum(revenue), 0))
        .select_from(Order)
        .outerjoin(OrderItem, (OrderItem.shop_id == Order.shop_id) & (OrderItem.order_id == Order.order_id))
        .where(is_sale(Order), Order.user_id.is_not(None), Order.created_at >= window[0],
               Order.created_at < window[1])
        .group_by(Order.user_id)
    ).all()
    frame = pd.DataFrame(rows, columns=["user_id", "orders", "revenue"])
    frame["revenue"] = frame["revenue"].astype(float)
    return frame


def last_sale_time(session: Session) -> datetime | None:
    """When the shop's latest sale was created: how far its data reaches."""
    return session.scalar(select(func.max(Order.created_at)).where(is_sale(Order)))


def sales_totals(session: Session, windows: list[tuple[datetime, datetime]]) -> list[dict]:
    """revenue, orders, buyers of the sales created in each [start, end) (UTC), counted in the
    database in one pass over the orders the windows cover (the dashboard asks for eight)."""
    if not windows:
        return []
    revenue = case((OrderItem.order_id.is_(None), Order.paid_amount), else_=line_revenue())
    columns = []
    for start, end in windows:
        inside = (Order.created_at >= start) & (Order.created_at < end)
        columns += [func.coalesce(func.sum(case((inside, revenue))), 0),
                    func.count(func.distinct(case((inside, Order.order_id)))),
                    func.count(func.distinct(case((inside, Order.user_id))))]
    row = session.execute(
        select(*columns).select_from(Order)
        .outerjoin(OrderItem, (OrderItem.shop_id == Order.shop_id) & (OrderItem.order_id == Order.order_id))
        .where(Order.created_at >= min(w[0] for w in windows), Order.created_at < max(w[1] for w in windows),
               is_sale(Order))
    ).one()
    return [{"revenue": float(row[3 * k]), "orders": int(row[3 * k + 1]), "buyers": int(row[3 * k + 2])}
            for k in range(len(windows))]


def conversion(session: Session, windows: list[tuple[datetime, datetime]]) -> list[float | None]:
    """Per [start, end) (UTC): users who bought ÷ users who viewed, from that window's events; None
    without views. One pass over the events the windows cover."""
    if not windows:
        return []
    columns = []
    for start, end in windows:
        inside = (Event.ts >= start) & (Event.ts < end)
        columns += [func.count(func.distinct(case((inside & (Event.type == event), Event.user_id))))
                    for event in (VIEW_EVENT, BUY_EVENT)]
    row = session.execute(
        select(*columns).where(Event.ts >= min(w[0] for w in windows), Event.ts < max(w[1] for w in windows),
                               Event.type.in_((VIEW_EVENT, BUY_EVENT)))
    ).one()
    return [row[2 * k + 1] / row[2 * k] if row[2 * k] else None for k in range(len(windows))]


def stock_snapshots(session: Session) -> pd.DataFrame:
    """item_id, date, on_hand, on_order, lead_time_days of every inventory snapshot."""
    rows = session.execute(select(Inventory.item_id, Inventory.date, Inventory.on_hand, Inventory.on_order,
                                  Inventory.lead_time_days)).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "on_hand", "on_order", "lead_time_days"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _latest_snapshots():
    """Each item's latest snapshot row. The database picks each item's latest day (the primary
    key is (shop, item, day)), so a year of daily snapshots reads one row per item."""
    latest = (select(Inventory.item_id, func.max(Inventory.date).label("date"))
              .group_by(Inventory.item_id).subquery("latest"))
    return (select(Inventory.item_id, Inventory.date, Inventory.on_hand, Inventory.on_order, Inventory.lead_time_days)
            .join(latest, (Inventory.item_id == latest.c.item_id) & (Inventory.date == latest.c.date)))


def latest_stock(session: Session) -> pd.DataFrame:
    """Each item's most recent stock snapshot (on hand, on order, lead time)."""
    frame = pd.DataFrame(session.execute(_latest_snapshots()).all(),
                         columns=["item_id", "date", "on_hand", "on_order", "lead_time_days"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def out_of_stock_days(session: Session, item_ids: list[str], span: tuple[date, date]) -> pd.DataFrame:
    """item_id, date of the snapshots in ``span`` (local days, both ends) with nothing on hand."""
    rows = session.execute(select(Inventory.item_id, Inventory.date).where(
        Inventory.item_id.in_(item_ids), Inventory.date >= span[0], Inventory.date <= span[1],
        Inventory.on_hand <= 0)).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def out_of_stock(session: Session) -> list[str]:
    """The items that are out of stock now (see the module docstring)."""
    latest = _latest_snapshots().subquery("snapshot")
    return list(session.scalars(select(latest.c.item_id).where(latest.c.on_hand <= 0)))
