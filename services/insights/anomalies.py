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

from services.insights.answer import order_values
from shared.calendar import FESTIVALS, calendar_features, festival_name

RATIO_METRICS = {"revenue", "orders", "units"}
RATE_METRICS = {"refund_rate", "conversion"}
WINDOW = 28
THRESHOLD = 3.5


def daily_kpis(day_sums: pd.DataFrame, day_events: pd.DataFrame | None, days: pd.DatetimeIndex) -> pd.DataFrame:
    """One row per day from ``data.order_aggregates`` and ``data.event_aggregates`` grouped by "day"."""
    sums = day_sums.set_index(pd.to_datetime(day_sums["day"])).reindex(days)
    sums[["revenue", "orders", "units", "refunded"]] = sums[["revenue", "orders", "units", "refunded"]].fillna(0.0)
    frame = pd.DataFrame({metric: order_values(sums, metric) for metric in ("revenue", "orders", "units",
                                                                            "refund_rate")}, index=days)
    frame["conversion"] = np.nan
    if day_events is not None and not day_events.empty:
        users = day_events.pivot_table(index="day", columns="type", values="users", aggfunc="sum")
        users.index = pd.to_datetime(users.index)
        users = users.reindex(days)
        if "pv" in users:
            buyers = users["buy"].fillna(0) if "buy" in users else 0.0
            frame["conversion"] = (buyers / users["pv"].where(users["pv"] > 0)).astype(float)
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
    for name in FESTIVALS:
        festival[calendar[f"fest_{name}"].to_numpy() == 1] = festival_name(name)
    out = pd.DataFrame({"value": values, "expected": expected, "z": z, "festival": festival}, index=values.index)
    out["anomaly"] = out["z"].abs() >= threshold
    out["direction"] = np.where(out["z"] > 0, "up", "down")
    return out


def drivers(day_item_sums: pd.DataFrame, day: pd.Timestamp, metric: str, direction: str, limit: int = 3,
            window: int = WINDOW) -> list[dict]:
    """The items whose revenue or orders that day moved most from their own daily mean of the
    ``window`` days before (``day_item_sums``: order aggregates grouped by day and item)."""
    days = pd.to_datetime(day_item_sums["day"])
    recent = day_item_sums[(days >= day - pd.Timedelta(days=window)) & (days < day)]
    now = day_item_sums[days == day].groupby("item_id")[metric].sum()
    before = recent.groupby("item_id")[metric].sum() / window
    delta = now.subtract(before, fill_value=0).sort_values(ascending=direction == "down")
    return [{"item_id": str(item), "change": round(float(change), 2)} for item, change in delta.head(limit).items()
            if (change > 0) == (direction == "up")]
