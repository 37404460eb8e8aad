"""SQL of the forecasting service: the catalogue (sales, stock and snapshots: shared.sales)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import Product


def catalogue(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Product.item_id, Product.title, Product.category, Product.attributes)).all()
    return pd.DataFrame(rows, columns=["item_id", "title", "category", "attributes"])
