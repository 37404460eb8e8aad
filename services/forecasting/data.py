"""SQL of the forecasting service: the catalogue and latest stock (paid lines and snapshots: shared.sales)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Product
from shared.sales import stock_snapshots


def catalogue(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Product.item_id, Product.title, Product.category, Product.attributes)).all()
    return pd.DataFrame(rows, columns=["item_id", "title", "category", "attributes"])


def latest_stock(session: Session) -> pd.DataFrame:
    """Each item's most recent stock snapshot (on hand, on order, lead time)."""
    frame = stock_snapshots(session)  # shared.sales
    if frame.empty:
        return frame
    return frame.sort_values("date").groupby("item_id", as_index=False).last()
