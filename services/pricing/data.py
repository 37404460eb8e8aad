"""SQL of the pricing service: the catalogue, competitor prices, rules (paid lines and stock: shared.sales)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
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
    """item_id, competitor, price, observed_at: each competitor's latest observation per item (one
    item's, or all). The database picks it (the key is (shop, item, competitor, observed_at)), so a
    shop watched daily for two years reads one row per rival, not its whole history."""
    latest = select(CompetitorPrice.item_id, CompetitorPrice.competitor,
                    func.max(CompetitorPrice.observed_at).label("observed_at"))
    if item_id is not None:
        latest = latest.where(CompetitorPrice.item_id == item_id)
    latest = latest.group_by(CompetitorPrice.item_id, CompetitorPrice.competitor).subquery("latest")
    query = (select(CompetitorPrice.item_id, CompetitorPrice.competitor, CompetitorPrice.price,
                    CompetitorPrice.observed_at)
             .join(latest, (CompetitorPrice.item_id == latest.c.item_id)
                   & (CompetitorPrice.competitor == latest.c.competitor)
                   & (CompetitorPrice.observed_at == latest.c.observed_at)))
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
