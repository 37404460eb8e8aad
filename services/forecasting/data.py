"""SQL of the forecasting service: the catalogue, each item's latest stock (sales and snapshots: shared.sales)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import Inventory, Product


def catalogue(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Product.item_id, Product.title, Product.category, Product.attributes)).all()
    return pd.DataFrame(rows, columns=["item_id", "title", "category", "attributes"])


def latest_stock(session: Session) -> pd.DataFrame:
    """Each item's most recent stock snapshot (on hand, on order, lead time).

    The database picks each item's latest day (its primary key is (shop, item, day)), so a shop
    with a year of daily snapshots reads one row per item, not every snapshot.
    """
    latest = (select(Inventory.item_id, func.max(Inventory.date).label("date"))
              .group_by(Inventory.item_id).subquery("latest"))
    rows = session.execute(
        select(Inventory.item_id, Inventory.date, Inventory.on_hand, Inventory.on_order, Inventory.lead_time_days)
        .join(latest, (Inventory.item_id == latest.c.item_id) & (Inventory.date == latest.c.date))
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "on_hand", "on_order", "lead_time_days"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame
