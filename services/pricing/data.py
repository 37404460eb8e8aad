"""SQL of the pricing service: priced sales per day, stock, the catalogue, competitor prices, rules."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.models import CompetitorPrice, Inventory, Order, OrderItem, Product, Shop, ShopSetting, is_sale

RULES_SETTING = "pricing.rules"


def shop_timezone(session: Session, shop_id: int) -> str:
    return session.get(Shop, shop_id).timezone


def priced_lines(session: Session, timezone: str) -> pd.DataFrame:
    """item_id, date (shop-local day), units, price of paid order lines with a positive price.

    The price is the line's unit price (what the shopper saw), else paid amount ÷ quantity."""
    rows = session.execute(
        select(OrderItem.item_id, Order.created_at, OrderItem.quantity,
               func.coalesce(OrderItem.unit_price, OrderItem.paid_amount / OrderItem.quantity))
        .join(Order, (Order.shop_id == OrderItem.shop_id) & (Order.order_id == OrderItem.order_id))
        .where(is_sale(Order.status), OrderItem.quantity > 0)
    ).all()
    frame = pd.DataFrame(rows, columns=["item_id", "created_at", "units", "price"])
    if frame.empty:
        return pd.DataFrame(columns=["item_id", "date", "units", "price"])
    local = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(timezone)
    frame["date"] = local.dt.tz_localize(None).dt.normalize()
    frame["units"] = frame["units"].astype(float)
    frame["price"] = frame["price"].astype(float)
    return frame[["item_id", "date", "units", "price"]]


def stock(session: Session) -> pd.DataFrame:
    rows = session.execute(select(Inventory.item_id, Inventory.date, Inventory.on_hand)).all()
    frame = pd.DataFrame(rows, columns=["item_id", "date", "on_hand"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


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
