"""SQL of the pricing service: the catalogue, competitor prices, rules (paid lines and stock: shared.sales)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import CompetitorPrice, Product, ShopSetting

RULES_SETTING = "pricing.rules"


def catalogue(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Product.item_id, Product.title, Product.category, Product.price,
                                  Product.cost)).all()
    frame = pd.DataFrame(rows, columns=["item_id", "title", "category", "price", "cost"])
    for column in ("price", "cost"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def product(session: Session, item_id: str) -> Product | None:
    return session.get(Product, (session.info["tenant"], item_id))


def competitor_prices(session: Session, item_id: str | None = None) -> pd.DataFrame:
    """item_id, competitor, price, observed_at: every observation (one item's, or all)."""
    query = select(CompetitorPrice.item_id, CompetitorPrice.competitor, CompetitorPrice.price,
                   CompetitorPrice.observed_at)
    if item_id is not None:
        query = query.where(CompetitorPrice.item_id == item_id)
    frame = pd.DataFrame(session.execute(query).all(), columns=["item_id", "competitor", "price", "observed_at"])
    frame["price"] = pd.to_numeric(frame["price"], errors="coerce")
    return frame


def rules(session: Session) -> dict:
    setting = session.get(ShopSetting, (session.info["tenant"], RULES_SETTING))
    return dict(setting.value) if setting else {}


def save_rules(session: Session, shop_id: int, values: dict) -> None:
    setting = session.get(ShopSetting, (shop_id, RULES_SETTING))
    if setting is None:
        session.add(ShopSetting(shop_id=shop_id, name=RULES_SETTING, value=values))
    else:
        setting.value = values
