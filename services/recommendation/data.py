"""SQL of the recommendation service: interactions, baskets, catalogue, a user's recent events.

Functions take the session (scoped to the shop) and return DataFrames; nothing commits here.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Event, Order, OrderItem, Product
from shared.sales import is_sale

INTERACTION_COLUMNS = ["user_id", "item_id", "type", "ts"]


def _frame(session: Session, query, columns: list[str]) -> pd.DataFrame:
    rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=columns)


def load_interactions(session: Session) -> pd.DataFrame:
    """Behaviour events plus the lines of sales as ``buy`` (a buy logged both ways counts once;
    a credit line returns its item, it does not buy it)."""
    events = _frame(session, select(Event.user_id, Event.item_id, Event.type, Event.ts), INTERACTION_COLUMNS)
    lines = _frame(session, select(Order.user_id, OrderItem.item_id, Order.created_at)
                   .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
                   .where(is_sale(), OrderItem.quantity > 0, Order.user_id.is_not(None)),
                   ["user_id", "item_id", "ts"])
    lines["type"] = "buy"
    parts = [part for part in (events, lines[INTERACTION_COLUMNS]) if not part.empty]
    if not parts:
        return events
    frame = pd.concat(parts, ignore_index=True)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.drop_duplicates(["user_id", "item_id", "type", "ts"], ignore_index=True)


def load_baskets(session: Session) -> pd.DataFrame:
    """The items each sale bought, for "bought together"."""
    return _frame(session, select(OrderItem.order_id, OrderItem.item_id)
                  .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
                  .where(is_sale(), OrderItem.quantity > 0), ["basket_id", "item_id"])


def load_catalogue(session: Session, interactions: pd.DataFrame) -> pd.DataFrame:
    """Products, plus items seen only in behaviour logs (their category id as the category)."""
    products = _frame(session, select(Product.item_id, Product.title, Product.category),
                      ["item_id", "title", "category"])
    if "category_id" in interactions:
        extra = interactions.loc[~interactions["item_id"].isin(products["item_id"]), ["item_id", "category_id"]]
        extra = extra.dropna().drop_duplicates("item_id").rename(columns={"category_id": "category"})
        products = pd.concat([products, extra.assign(title="")], ignore_index=True)
    return products


def load_event_categories(session: Session) -> pd.DataFrame:
    return _frame(session, select(Event.item_id, Event.category_id).distinct(), ["item_id", "category_id"])


NO_EVENTS: dict[str, list] = {"item_id": [], "type": []}


def user_history(session: Session, user_id: str, limit: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events, purchases) of one user, newest first: item_id, type, ts; and item_id, units, created_at
    of their sales (shared.sales)."""
    events = _frame(session, select(Event.item_id, Event.type, Event.ts).where(Event.user_id == user_id)
                    .order_by(Event.ts.desc()).limit(limit), ["item_id", "type", "ts"])
    purchases = _frame(session, select(OrderItem.item_id, OrderItem.quantity, Order.created_at)
                       .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
                       .where(Order.user_id == user_id, is_sale(Order)).order_by(Order.created_at.desc()).limit(limit),
                       ["item_id", "units", "created_at"])
    return events, purchases


def recent_events(session: Session, user_id: str, since: datetime, limit: int = 500) -> dict[str, list]:
    """What the user did after the model's data ended (real-time feedback), newest first.

    Plain lists, not a DataFrame: this runs on every recommendation request.
    """
    rows = session.execute(select(Event.item_id, Event.type).where(Event.user_id == user_id, Event.ts > since)
                           .order_by(Event.ts.desc()).limit(limit)).all()
    return {"item_id": [r[0] for r in rows], "type": [r[1] for r in rows]}
