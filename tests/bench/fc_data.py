"""Data and helpers for the forecasting benchmarks (tests/bench/test_forecasting_*.py).

Daily order lines (item_id, date, units, revenue), stock snapshots and catalogues in the shapes
``services.forecasting.model.build_history`` takes, from: the real UCI Online Retail
transactions, the demo shop's Tmall seller-centre exports (``infra.demo_data``), and a synthetic
catalogue for timing. Plus: a throwaway PostgreSQL database, waiting for a quiet machine, and a
recorder of the model's forecasts during ``backtest`` (service code runs unchanged).
Read-only use of the public data sets (``SHOPMIND_PUBLIC_DATA``); nothing is copied into the repo.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from tests.support.public_data import PUBLIC_DATA

DATA = PUBLIC_DATA
UCI = DATA / "uci_online_retail" / "online_retail.csv.gz"
PAID_STATUSES = ("交易成功", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货")


# --- UCI Online Retail -----------------------------------------------------------------------

def uci_lines(top: int = 400) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """(lines, empty stock, catalogue, facts) for the ``top`` best-selling products of UCI Online Retail.

    Sales: lines of non-cancelled invoices (InvoiceNo not starting with C) with Quantity > 0 and
    UnitPrice > 0; the day is InvoiceDate's calendar day (UK local time, as recorded); revenue =
    Quantity × UnitPrice. Products: StockCodes starting with a digit (leaves out POST, DOT, M,
    BANK CHARGES, gift vouchers, ...). Best sellers: the ``top`` products with the most distinct
    days with a sale (ties: more units). The last day, 2011-12-09, is dropped: the log stops at
    12:50 that day, so it is half a day, not a day of demand. Category: first two characters of the
    StockCode (UCI has no categories; its code families group similar products).
    """
    raw = pd.read_csv(UCI, dtype={"InvoiceNo": str, "StockCode": str},
                      usecols=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice"])
    raw["StockCode"] = raw["StockCode"].str.strip().str.upper()
    sales = raw[~raw["InvoiceNo"].str.startswith("C") & (raw["Quantity"] > 0) & (raw["UnitPrice"] > 0)
                & raw["StockCode"].str[:1].str.isdigit()].copy()
    sales["date"] = pd.to_datetime(sales["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").dt.normalize()
    last_time = pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").max()
    sales = sales[sales["date"] < last_time.normalize()]  # drop the partial last day
    per_item = sales.groupby("StockCode").agg(days=("date", "nunique"), units=("Quantity", "sum"))
    chosen = per_item.sort_values(["days", "units"], ascending=False).head(top)
    sales = sales[sales["StockCode"].isin(chosen.index)]
    lines = pd.DataFrame({"item_id": sales["StockCode"].to_numpy(), "date": sales["date"].to_numpy(),
                          "units": sales["Quantity"].to_numpy(dtype=float),
                          "revenue": (sales["Quantity"] * sales["UnitPrice"]).to_numpy(dtype=float)})
    catalogue = pd.DataFrame({"item_id": chosen.index.to_numpy(), "category": chosen.index.str[:2].to_numpy()})
    stock = pd.DataFrame({"item_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]"),
                          "on_hand": pd.Series(dtype=float)})
    facts = {"source": "UCI Online Retail (online_retail.csv.gz)", "raw_rows": int(len(raw)),
             "rule": f"top {top} StockCodes (digit-led) by days with a sale; non-cancelled, Quantity>0, UnitPrice>0; "
                     "last partial day 2011-12-09 dropped; category = StockCode[:2]",
             "order_lines": int(len(lines)), "items": int(len(chosen)),
             "categories": int(catalogue["category"].nunique()),
             "min_days_with_sales": int(chosen["days"].min()), "median_days_with_sales": int(chosen["days"].median()),
             "first_day": str(lines["date"].min().date()), "last_day": str(lines["date"].max().date())}
    return lines, stock, catalogue, facts


# --- the demo shop ---------------------------------------------------------------------------

def _order_id(column: pd.Series) -> pd.Series:
    return column.str.replace('="', "", regex=False).str.replace('"', "", regex=False).str.strip()


def _money(column: pd.Series) -> pd.Series:
    return column.str.replace("￥", "", regex=False).str.replace(",", "", regex=False).astype(float)


def demo_lines(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """(lines, stock, catalogue, facts) from the files ``infra.demo_data.generate`` writes.

    Paid lines: 宝贝报表.csv lines whose order (订单报表.csv, joined on 订单编号 ="...") has a paid
    status (交易成功 / 卖家已发货，等待买家确认 / 买家已付款，等待卖家发货); the day is 订单创建时间's
    calendar day (shop-local); units = 购买数量; revenue = 价格 × 购买数量; item = 商家编码.
    Stock: inventory.csv (item_id, date, on_hand). Catalogue: products.csv (item_id, category).
    """
    orders = pd.read_csv(directory / "订单报表.csv", encoding="gbk", dtype=str)
    items = pd.read_csv(directory / "宝贝报表.csv", encoding="gbk", dtype=str)
    orders["oid"] = _order_id(orders["订单编号"])
    items["oid"] = _order_id(items["订单编号"])
    paid = orders[orders["订单状态"].isin(PAID_STATUSES)]
    merged = items.merge(paid[["oid", "订单创建时间"]], on="oid")
    units = merged["购买数量"].astype(float)
    lines = pd.DataFrame({"item_id": merged["商家编码"].str.strip(),
                          "date": pd.to_datetime(merged["订单创建时间"]).dt.normalize(),
                          "units": units, "revenue": _money(merged["价格"]) * units})
    lines = lines[lines["units"] > 0]
    stock = pd.read_csv(directory / "inventory.csv", dtype={"item_id": str}, parse_dates=["date"])
    catalogue = pd.read_csv(directory / "products.csv", dtype={"item_id": str})[["item_id", "category"]]
    facts = {"source": "infra.demo_data.generate(seed=42, scale=1.0)", "orders": int(len(orders)),
             "paid_orders": int(len(paid)), "order_lines": int(len(items)), "paid_lines": int(len(lines)),
             "items": int(catalogue["item_id"].nunique()), "categories": int(catalogue["category"].nunique()),
             "stock_rows": int(len(stock)), "stockout_rows": int((stock["on_hand"] <= 0).sum()),
             "first_day": str(lines["date"].min().date()), "last_day": str(lines["date"].max().date())}
    return lines, stock, catalogue, facts


# --- synthetic catalogue for timing ------------------------------------------------------------

def synthetic_history(n_items: int = 10_000, days: int = 730, seed: int = 42, end: str = "2026-11-20"):
    """A ``History`` built directly: Poisson demand with a weekly pattern, festival uplift and varied levels.

    Levels are log-normal (median 0.6 units/day, so most series are sparse and a few sell dozens
    a day), each item has its own weekly profile around a shared one, demand rises on the
    campaign days of ``shared.calendar`` (double 11 ×3 at the peak, others ×1.5–2),
    a mild trend, items launch at different days (zeros before), ~1% of days are stock-outs
    (censored, NaN), and prices wander around a base price with discounts on campaign days.
    """
    from services.forecasting.model import History
    from shared.calendar import calendar_features

    rng = np.random.default_rng(seed)
    start = pd.Timestamp(end) - pd.Timedelta(days=days - 1)
    dates = pd.date_range(start, periods=days, freq="D")
    cal = calendar_features(dates)
    uplift = np.ones(days)
    for name, factor in (("double11", 2.0), ("mid618", 1.8), ("double12", 1.5), ("women38", 1.4),
                         ("newyear_goods", 1.5), ("spring_festival", 0.6)):
        uplift = np.where(cal[f"fest_{name}"].to_numpy() == 1, uplift * factor, uplift)
    peak11 = (dates.month == 11) & (dates.day == 11)
    uplift[peak11] *= 1.5
    weekly_shared = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.2])
    weekly_item = weekly_shared[None, :] * rng.lognormal(0.0, 0.1, size=(n_items, 7))
    level = rng.lognormal(np.log(0.6), 1.2, size=n_items)
    trend = 1 + rng.normal(0, 0.2, size=n_items)[:, None] * np.arange(days)[None, :] / 365
    rate = (level[:, None] * weekly_item[:, dates.dayofweek.to_numpy()] * uplift[None, :] * np.clip(trend, 0.2, None))
    launch = np.where(rng.random(n_items) < 0.7, 0, rng.integers(0, days - 60, size=n_items))
    alive = np.arange(days)[None, :] >= launch[:, None]
    units = rng.poisson(rate * alive).astype(float)
    stockout = (rng.random((n_items, days)) < 0.01) & alive & (units == 0)
    units[stockout] = np.nan
    base_price = np.round(rng.lognormal(np.log(60), 0.8, size=n_items), 1)
    discount = np.where(uplift > 1.2, 0.85, 1.0)
    price = base_price[:, None] * discount[None, :] * rng.uniform(0.97, 1.03, size=(n_items, days))
    price = np.where(alive, price, np.nan)
    item_ids = np.array([f"SKU{i:06d}" for i in range(n_items)])
    categories = np.array([f"cat{c:02d}" for c in rng.integers(0, 40, size=n_items)])
    return History(item_ids, categories, start, units, price, stockout)


# --- backtest recorder ------------------------------------------------------------------------

@contextmanager
def recording_backtest():
    """Record every (origin, horizon, quantiles) the model predicts and how long fitting and predicting
    take, while ``services.forecasting.model.backtest`` runs unchanged (wrappers call the originals)."""
    from services.forecasting import model as model_module

    record = {"predictions": [], "fit_s": [], "predict_s": [], "training_rows_s": [], "xgb_train_s": []}
    forecaster = model_module.QuantileForecaster
    original_fit, original_predict = forecaster.fit, forecaster.predict
    original_rows = model_module.training_rows

    def fit(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original_fit(self, *args, **kwargs)
        finally:
            record["fit_s"].append(time.perf_counter() - started)

    def predict(self, history, origin, horizon, items=None):
        started = time.perf_counter()
        out = original_predict(self, history, origin, horizon, items)
        record["predict_s"].append(time.perf_counter() - started)
        record["predictions"].append((origin, horizon, out))
        return out

    def rows(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original_rows(*args, **kwargs)
        finally:
            record["training_rows_s"].append(time.perf_counter() - started)

    forecaster.fit, forecaster.predict, model_module.training_rows = fit, predict, rows
    try:
        yield record
    finally:
        forecaster.fit, forecaster.predict, model_module.training_rows = original_fit, original_predict, original_rows


# --- the machine ---------------------------------------------------------------------

def wait_for_quiet(threshold: float = 1.0, max_wait_s: float = 300.0, poll_s: float = 10.0) -> dict:
    """Wait (up to ``max_wait_s``) until the 1-minute load average is below ``threshold``.
    Returns the load measured when the wait ended and whether it was quiet."""
    started = time.monotonic()
    while True:
        load = os.getloadavg()
        if load[0] < threshold or time.monotonic() - started >= max_wait_s:
            return {"loadavg_1_5_15": [round(x, 2) for x in load], "quiet": load[0] < threshold,
                    "waited_s": round(time.monotonic() - started)}
        time.sleep(poll_s)
