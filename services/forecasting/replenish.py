"""Replenishment: from quantile forecasts to an order quantity, a stock-out date and a risk. Pure.

Demand over the lead time is the sum of the daily mean (from the quantiles); its spread comes from the daily p10–p90
range (≈ 2.56 σ for a normal) added in quadrature; safety stock is z(service level) × σ. The
reorder quantity covers lead-time demand plus safety stock, minus what is on hand and on order,
rounded up to the pack size when one is known.

``plan_stock`` is the one stock-out rule: the replenishment route and the ``stockout_risk`` alerts
both read it, with one policy for missing numbers (see there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import norm

P10_P90_SIGMAS = 2 * norm.ppf(0.9)  # ≈ 2.563
DEFAULT_LEAD_TIME_DAYS = 7
RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass
class Plan:
    item_id: str
    on_hand: int
    on_order: int
    lead_time_days: int
    forecast_over_lead_time: float
    safety_stock: float
    reorder_qty: int
    stockout_date: str | None
    risk: str
    days_of_cover: int | None = None  # whole days the stock lasts after ``as_of``; None: beyond the forecast
    daily_demand: float = 0.0  # mean expected units a day over the lead time


def plan_item(item_id: str, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, on_hand: int, on_order: int,
              lead_time_days: int, service_level: float, as_of: date, pack_size: int | None = None) -> Plan:
    """One item's plan; ``p10/p50/p90`` are daily forecasts starting the day after ``as_of``."""
    lead = max(1, min(int(lead_time_days), len(p50)))
    mean = 0.3 * p10 + 0.4 * p50 + 0.3 * p90  # Swanson's rule: the mean, not the median, adds up
    demand = float(mean[:lead].sum())
    sigma_day = np.clip((p90[:lead] - p10[:lead]) / P10_P90_SIGMAS, 0, None)
    safety = float(norm.ppf(service_level) * math.sqrt(float((sigma_day ** 2).sum())))
    need = demand + safety - on_hand - on_order
    quantity = max(0, math.ceil(need))
    if pack_size and pack_size > 1 and quantity:
        quantity = math.ceil(quantity / pack_size) * pack_size
    stockout = _stockout_day(mean, on_hand, on_order, lead)
    stockout_date = (as_of + timedelta(days=stockout)).isoformat() if stockout is not None else None
    if stockout is not None and stockout <= lead:
        risk = "high"  # runs out before anything ordered today can arrive
    elif stockout is not None and stockout <= 2 * lead or need > 0:
        risk = "medium"
    else:
        risk = "low"
    return Plan(item_id, int(on_hand), int(on_order), lead, round(demand, 2), round(safety, 2), quantity,
                stockout_date, risk, stockout - 1 if stockout is not None else None, round(demand / lead, 2))


def plan_stock(item_index: dict[str, int], quantiles: np.ndarray, as_of: date, stock: pd.DataFrame,
               service_level: float, pack_sizes: dict[str, int], lead_time_days: int | None = None) -> list[Plan]:
    """A plan per stock row (``item_id, on_hand, on_order, lead_time_days``) of an item the
    forecasts know (``item_index`` → row of ``quantiles``, items × days × p10/p50/p90), sorted high
    risk first, then soonest stock-out, then largest order.

    Missing numbers: an unknown on-hand or on-order count is 0 (an owner would rather hear of a
    possible stock-out than miss one); an unknown or zero lead time is the item's default 7 days;
    ``lead_time_days`` overrides every item's own for a what-if.
    """
    plans = []
    for row in stock.itertuples():
        i = item_index.get(str(row.item_id))
        if i is None:
            continue
        q = quantiles[i]
        lead = lead_time_days or whole(row.lead_time_days) or DEFAULT_LEAD_TIME_DAYS
        plans.append(plan_item(str(row.item_id), q[:, 0], q[:, 1], q[:, 2], whole(row.on_hand) or 0,
                               whole(row.on_order) or 0, lead, service_level, as_of,
                               pack_sizes.get(str(row.item_id))))
    plans.sort(key=lambda p: (RISK_ORDER[p.risk], p.stockout_date or "9999", -p.reorder_qty))
    return plans


def pack_sizes(catalogue: pd.DataFrame) -> dict[str, int]:
    """item_id → ``attributes.pack_size`` of the products that have a usable one."""
    packs = {}
    for item_id, attributes in zip(catalogue["item_id"], catalogue["attributes"], strict=True):
        if isinstance(attributes, dict) and whole(attributes.get("pack_size")):
            packs[str(item_id)] = whole(attributes["pack_size"])
    return packs


def whole(value) -> int | None:
    """An int, or None for a missing (None, NaN) or unreadable value."""
    try:
        return None if value is None or value != value else int(value)
    except (TypeError, ValueError):
        return None


def _stockout_day(p50: np.ndarray, on_hand: int, on_order: int, lead: int) -> int | None:
    """Days from now until expected demand exceeds stock (what is on order arrives after the lead time)."""
    stock = np.full(len(p50), float(on_hand))
    stock[lead:] += on_order
    short = np.nonzero(np.cumsum(p50) > stock)[0]
    return int(short[0]) + 1 if len(short) else None
