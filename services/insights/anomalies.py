"""Anomalies in daily KPIs: days that break the pattern once weekday rhythm and festivals are accounted for. Pure.

For each day, the expected value is the median of the previous ``window`` days times the weekday's
factor (a weekday's typical ratio to that median, learned from the whole history); counts and
money are compared as ratios, rates as differences. The residuals' own median and MAD make a
robust z-score; |z| ≥ ``threshold`` is an anomaly. Days inside a shopping festival (双11, 618 ...)
are expected to be unusual: they are reported with ``expected`` set and the festival's name, and
never alert. For revenue and orders the items that moved most that day (vs their own recent
daily mean) are named as the drivers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.insights.answer import returned_mask, sale_mask
from shared.calendar import FESTIVAL_NAMES, calendar_features

RATIO_METRICS = {"revenue", "orders", "units"}
RATE_METRICS = {"refund_rate", "conversion"}
WINDOW = 28
THRESHOLD = 3.5


def daily_kpis(lines: pd.DataFrame, events: pd.DataFrame | None, days: pd.DatetimeIndex) -> pd.DataFrame:
    """lines: order_id, status, day, item_id, quantity, revenue; events: user_id, type, day → one row per day."""
    sold = lines[sale_mask(lines)]
    frame = pd.DataFrame(index=days)
    frame["revenue"] = sold.groupby("day")["revenue"].sum().reindex(days, fill_value=0.0)
    frame["orders"] = sold.groupby("day")["order_id"].nunique().reindex(days, fill_value=0).astype(float)
    frame["units"] = sold[sold["quantity"] > 0].groupby("day")["quantity"].sum().reindex(days, fill_value=0.0)
    refunded = lines[returned_mask(lines)].groupby("day")["order_id"].nunique().reindex(days, fill_value=0)
    counted = refunded + frame["orders"]
    frame["refund_rate"] = (refunded / counted.where(counted > 0)).astype(float)
    if events is not None and not events.empty:
        visitors = events[events["type"] == "pv"].groupby("day")["user_id"].nunique().reindex(days)
        buyers = events[events["type"] == "buy"].groupby("day")["user_id"].nunique().reindex(days, fill_value=0)
        frame["conversion"] = (buyers / visitors.where(visitors > 0)).astype(float)
    else:
        frame["conversion"] = np.nan
    return frame


def detect(series: pd.Series, metric: str, window: int = WINDOW, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Per day: expected value, z-score, anomaly flag, direction, and the festival it falls in (if any)."""
    values = series.astype(float)
    baseline = values.shift(1).rolling(window, min_periods=max(7, window // 2)).median()
    weekday = values.index.dayofweek
    ratio_metric = metric in RATIO_METRICS
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = values / baseline if ratio_metric else values - baseline
    factor = relative.groupby(weekday).median()
    typical = factor.reindex(weekday).to_numpy()
    expected = baseline * typical if ratio_metric else baseline + typical
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.log((values + 1) / (expected + 1)) if ratio_metric else values - expected
    centre = residual.median()
    spread = 1.4826 * (residual - centre).abs().median()
    z = (residual - centre) / spread if spread and np.isfinite(spread) else residual * 0
    calendar = calendar_features(values.index)
    festival = np.full(len(values), None, dtype=object)
    for name, label in FESTIVAL_NAMES.items():
        festival[calendar[f"fest_{name}"].to_numpy() == 1] = label
    out = pd.DataFrame({"value": values, "expected": expected, "z": z, "festival": festival}, index=values.index)
    out["anomaly"] = out["z"].abs() >= threshold
    out["direction"] = np.where(out["z"] > 0, "up", "down")
    return out


def drivers(lines: pd.DataFrame, day: pd.Timestamp, metric: str, direction: str, limit: int = 3,
            window: int = WINDOW) -> list[dict]:
    """The items whose value that day moved most from their own mean of the ``window`` days before."""
    column = "revenue" if metric == "revenue" else None
    sold = lines[sale_mask(lines)]
    recent = sold[(sold["day"] >= day - pd.Timedelta(days=window)) & (sold["day"] < day)]
    today = sold[sold["day"] == day]
    if column:
        now, before = today.groupby("item_id")[column].sum(), recent.groupby("item_id")[column].sum() / window
    else:
        now = today.groupby("item_id")["order_id"].nunique()
        before = recent.groupby("item_id")["order_id"].nunique() / window
    delta = now.subtract(before, fill_value=0).sort_values(ascending=direction == "down")
    return [{"item_id": str(item), "change": round(float(change), 2)} for item, change in delta.head(limit).items()
            if (change > 0) == (direction == "up")]
