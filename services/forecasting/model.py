"""Demand forecasting: one global xgboost model across items, direct multi-horizon, quantiles.

Pure numpy/pandas/xgboost. The daily history is a matrix (items × days) of units, with prices
and stock-out days beside it. For an origin day t and a horizon h the features describe the item
up to t (lags, rolling means/medians/std, price against its usual price, age, its category's
level) and the target day t+h (weekday, month, the festival calendar, days to the next
festival). One model predicts p10, p50 and p90 together (xgboost's multi-quantile loss) of
units scaled by the item's own level, so big and small sellers share one model.

Direct multi-horizon (horizon is a feature) rather than recursive: errors do not compound, and
the festival calendar of the target day is known in advance — chosen by backtest
(docs/benchmarks.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shared.calendar import calendar_features, festival_name
from shared.i18n import DEFAULT_LANGUAGE, Message, catalogue, t

log = logging.getLogger(__name__)

HORIZON_MAX = 90
QUANTILES = (0.1, 0.5, 0.9)
TRAIN_HORIZONS = (*range(1, 8), 10, 14, 21, 28, 42, 63, 90)
DEFAULT_PARAMS = {"max_depth": 5, "learning_rate": 0.1, "n_rounds": 150, "min_child_weight": 5.0,
                  "subsample": 0.8, "colsample_bytree": 0.9, "max_bin": 64, "origin_step": 14, "seed": 42,
                  "nthread": 2, "max_rows": 200_000}
MIN_HISTORY_DAYS = 56  # 8 weeks


class NotEnoughHistory(ValueError):
    """Fewer days of sales than the model needs."""


@dataclass
class History:
    """Daily history, items × days (day 0 = ``start``)."""

    item_ids: np.ndarray
    categories: np.ndarray
    start: pd.Timestamp
    units: np.ndarray  # float, NaN where censored (out of stock and nothing sold)
    price: np.ndarray  # average selling price that day, forward-filled; NaN before the first sale
    stockout: np.ndarray  # bool

    @property
    def days(self) -> int:
        return self.units.shape[1]

    def date(self, index: int) -> pd.Timestamp:
        return self.start + pd.Timedelta(days=index)


def build_history(lines: pd.DataFrame, stock: pd.DataFrame, catalogue: pd.DataFrame, end: pd.Timestamp | None = None
                  ) -> History:
    """Daily units per item with zero days filled and stock-out days marked as censored.

    ``lines``: item_id, date (local calendar day), units, revenue — paid order lines only.
    ``stock``: item_id, date, on_hand — a day with on_hand 0 and no sale is a stock-out, not a
    true zero. ``catalogue``: item_id, category (items without sales still get a row).
    """
    if lines.empty:
        raise NotEnoughHistory(t("forecasting.no_paid_lines"))
    start = pd.Timestamp(lines["date"].min())
    end = pd.Timestamp(end) if end is not None else pd.Timestamp(lines["date"].max())
    item_ids = np.array(sorted(set(lines["item_id"].astype(str)) | set(catalogue["item_id"].astype(str))))
    index = {item: i for i, item in enumerate(item_ids)}
    days = (end - start).days + 1
    units = np.zeros((len(item_ids), days))
    revenue = np.zeros((len(item_ids), days))
    day = (pd.to_datetime(lines["date"]) - start).dt.days.to_numpy()
    keep = (day >= 0) & (day < days)
    rows = lines["item_id"].astype(str).map(index).to_numpy()[keep]
    np.add.at(units, (rows, day[keep]), lines["units"].to_numpy(dtype=float)[keep])
    np.add.at(revenue, (rows, day[keep]), lines["revenue"].to_numpy(dtype=float)[keep])
    stockout = np.zeros_like(units, dtype=bool)
    if not stock.empty:
        s_day = (pd.to_datetime(stock["date"]) - start).dt.days.to_numpy()
        s_rows = stock["item_id"].astype(str).map(index)
        ok = s_rows.notna().to_numpy() & (s_day >= 0) & (s_day < days) & (stock["on_hand"].to_numpy() <= 0)
        stockout[s_rows.to_numpy()[ok].astype(int), s_day[ok]] = True
    stockout &= units == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        price = np.where(units > 0, revenue / units, np.nan)
    price = pd.DataFrame(price).ffill(axis=1).to_numpy()
    categories = (catalogue.assign(item_id=catalogue["item_id"].astype(str)).drop_duplicates("item_id")
                  .set_index("item_id").reindex(item_ids)["category"].fillna("").astype(str).to_numpy())
    censored = np.where(stockout, np.nan, units)
    return History(item_ids, categories, start, censored, price, stockout)


# --- features ------------------------------------------------------------------------------

ORIGIN_FEATURES = ["lag1", "lag7", "lag14", "lag28", "mean7", "mean28", "mean91", "median28", "std28",
                   "zero_share28", "stockout_share28", "price_ratio", "item_age", "category_mean28",
                   "share_of_category", "level"]


def origin_features(history: History, origin: int) -> np.ndarray:
    """items × ORIGIN_FEATURES, from the history up to and including day ``origin``."""
    units = history.units

    def window(days: int) -> np.ndarray:
        return units[:, max(0, origin - days + 1):origin + 1]

    def lag(days: int) -> np.ndarray:
        return units[:, origin - days + 1] if origin - days + 1 >= 0 else np.full(len(units), np.nan)

    with np.errstate(all="ignore"):
        w7, w28, w91 = window(7), window(28), window(91)
        mean7, mean28, mean91 = row_mean(w7), row_mean(w28), row_mean(w91)
        median28, std28 = row_median(w28), row_std(w28)
        zero_share = row_mean((w28 == 0).astype(float))
        stockout_share = row_mean(history.stockout[:, max(0, origin - 27):origin + 1].astype(float))
        usual = row_median(history.price[:, max(0, origin - 90):origin + 1])
        price_ratio = history.price[:, origin] / usual
        sold = np.nan_to_num(history.units[:, :origin + 1]) > 0
        first = np.where(sold.any(axis=1), sold.argmax(axis=1), origin + 1)
        age = np.clip(origin - first, 0, 365).astype(float)
        category_mean = pd.Series(mean28).groupby(history.categories).transform("mean").to_numpy()
        share = mean28 / np.where(category_mean > 0, category_mean, np.nan)
        level = np.maximum(np.nan_to_num(mean91), 0.05)
    return np.column_stack([lag(1), lag(7), lag(14), lag(28), mean7, mean28, mean91, median28, std28, zero_share,
                            stockout_share, price_ratio, age, category_mean, share, level])


# Row statistics that skip NaN (censored days). A row with no value at all (a new item, a censored
# window) is NaN, expected here, so these stay silent where numpy's nan* functions would warn.

def row_mean(values: np.ndarray) -> np.ndarray:
    known = ~np.isnan(values)
    count = known.sum(axis=-1)
    total = np.where(known, values, 0.0).sum(axis=-1)
    return np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)


def row_std(values: np.ndarray) -> np.ndarray:
    mean = row_mean(values)
    known = ~np.isnan(values)
    count = known.sum(axis=-1)
    squares = np.where(known, (values - mean[..., None]) ** 2, 0.0).sum(axis=-1)
    return np.sqrt(np.divide(squares, count, out=np.full(count.shape, np.nan), where=count > 0))


def row_median(values: np.ndarray) -> np.ndarray:
    result = np.full(values.shape[0], np.nan)
    rows = (~np.isnan(values)).any(axis=1)
    if rows.any():
        result[rows] = np.nanmedian(values[rows], axis=1)
    return result


def target_features(target_dates: pd.DatetimeIndex, horizons: np.ndarray) -> pd.DataFrame:
    frame = calendar_features(target_dates)
    frame.insert(0, "horizon", horizons)
    return frame


def design_matrix(origin_block: np.ndarray, target_block: pd.DataFrame) -> np.ndarray:
    """Feature rows: the origin features of each row's item next to its target day's features."""
    level = origin_block[:, ORIGIN_FEATURES.index("level")][:, None]
    # Levels in units and as multiples of the item's own level, so one model fits all scales.
    scaled = origin_block[:, :10] / level
    matrix = np.column_stack([origin_block, scaled, target_block.to_numpy(dtype=float)])
    # Free items (price 0) make price ratios infinite: treat them as unknown, which xgboost handles.
    return np.where(np.isfinite(matrix), matrix, np.nan)


def feature_names(target_columns: list[str]) -> list[str]:
    return [*ORIGIN_FEATURES, *(f"{n}_rel" for n in ORIGIN_FEATURES[:10]), *target_columns]


def training_rows(history: History, last_origin: int, step: int, first_origin: int = 27,
                  last_target: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(X, y scaled by level, level) for origins every ``step`` days, targets up to ``last_target``."""
    last_target = history.days - 1 if last_target is None else last_target
    blocks, targets, levels = [], [], []
    columns: list[str] = []
    for origin in range(last_origin, first_origin - 1, -step):
        features = origin_features(history, origin)
        horizons = np.array([h for h in TRAIN_HORIZONS if origin + h <= last_target])
        if len(horizons) == 0:
            continue
        n_items = len(history.item_ids)
        target_dates = pd.DatetimeIndex([history.date(origin + h) for h in horizons])
        target_block = target_features(target_dates, horizons)
        columns = list(target_block.columns)
        rows = design_matrix(np.repeat(features, len(horizons), axis=0),
                             pd.concat([target_block] * n_items, ignore_index=True))
        y = history.units[np.repeat(np.arange(n_items), len(horizons)), np.tile(origin + horizons, n_items)]
        level = np.repeat(features[:, ORIGIN_FEATURES.index("level")], len(horizons))
        sold_before = np.repeat(np.nan_to_num(features[:, ORIGIN_FEATURES.index("mean91")]) > 0, len(horizons))
        keep = ~np.isnan(y) & sold_before  # censored days and items not yet on sale teach nothing
        blocks.append(rows[keep])
        targets.append(y[keep] / level[keep])
        levels.append(level[keep])
    if not blocks or sum(len(b) for b in blocks) == 0:
        raise NotEnoughHistory(t("forecasting.no_training_rows"))
    return np.vstack(blocks), np.concatenate(targets), np.concatenate(levels), feature_names(columns)


# --- the model -------------------------------------------------------------------------------

class QuantileForecaster:
    """Global xgboost model of p10/p50/p90 demand.

    Parameters
    ----------
    params : dict
        Tree parameters (see DEFAULT_PARAMS); ``origin_step`` spaces the training origins.
    """

    def __init__(self, params: dict | None = None):
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.booster = None
        self.feature_names: list[str] = []

    def fit(self, history: History, last_origin: int | None = None, last_target: int | None = None
            ) -> QuantileForecaster:
        import xgboost as xgb

        last_target = history.days - 1 if last_target is None else last_target
        last_origin = last_target - 1 if last_origin is None else last_origin
        X, y, _level, names = training_rows(history, last_origin, self.params["origin_step"],
                                            last_target=last_target)
        if len(y) > self.params["max_rows"]:  # bounded training time on big catalogues
            keep = np.random.default_rng(self.params["seed"]).choice(len(y), self.params["max_rows"], replace=False)
            X, y = X[keep], y[keep]
        self.feature_names = names
        data = xgb.DMatrix(X, label=y, feature_names=names)
        booster_params = {
            "objective": "reg:quantileerror", "quantile_alpha": np.array(QUANTILES), "tree_method": "hist",
            "max_depth": self.params["max_depth"], "learning_rate": self.params["learning_rate"],
            "min_child_weight": self.params["min_child_weight"], "subsample": self.params["subsample"],
            "colsample_bytree": self.params["colsample_bytree"], "seed": self.params["seed"],
            "max_bin": self.params["max_bin"], "nthread": self.params["nthread"],
        }
        self.booster = xgb.train(booster_params, data, num_boost_round=int(self.params["n_rounds"]))
        return self

    def predict(self, history: History, origin: int, horizon: int, items: np.ndarray | None = None
                ) -> np.ndarray:
        """items × horizon × 3 (p10, p50, p90) units from day ``origin``; quantiles kept ordered."""
        import xgboost as xgb

        rows = np.arange(len(history.item_ids)) if items is None else items
        features = origin_features(history, origin)[rows]
        horizons = np.arange(1, horizon + 1)
        target_dates = pd.DatetimeIndex([history.date(origin + h) for h in horizons])
        X = design_matrix(np.repeat(features, horizon, axis=0),
                          pd.concat([target_features(target_dates, horizons)] * len(rows), ignore_index=True))
        raw = self.booster.predict(xgb.DMatrix(X, feature_names=self.feature_names)).reshape(len(rows), horizon, -1)
        level = features[:, ORIGIN_FEATURES.index("level")][:, None, None]
        return np.clip(np.sort(raw, axis=2), 0, None) * level

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per row, each feature's contribution to the p50 (xgboost ``pred_contribs``), scaled units."""
        import xgboost as xgb

        contribs = self.booster.predict(xgb.DMatrix(X, feature_names=self.feature_names), pred_contribs=True)
        return contribs[:, QUANTILES.index(0.5), :] if contribs.ndim == 3 else contribs

    def to_json(self) -> bytes:
        return bytes(self.booster.save_raw("json"))

    @classmethod
    def from_json(cls, raw: bytes, params: dict, names: list[str]) -> QuantileForecaster:
        import xgboost as xgb

        model = cls(params)
        model.booster = xgb.Booster()
        model.booster.load_model(bytearray(raw))
        model.feature_names = names
        return model


# --- baselines, backtest, explanations ---------------------------------------------------------

def seasonal_naive(history: History, origin: int, horizon: int) -> np.ndarray:
    """The same weekday of the last observed week (7-day seasonal naive), items × horizon."""
    last_week = np.nan_to_num(history.units[:, origin - 6:origin + 1])
    return np.stack([last_week[:, (h - 1) % 7] for h in range(1, horizon + 1)], axis=1)


def moving_average(history: History, origin: int, horizon: int, days: int = 28) -> np.ndarray:
    mean = np.nan_to_num(row_mean(history.units[:, max(0, origin - days + 1):origin + 1]))
    return np.repeat(mean[:, None], horizon, axis=1)


def accuracy(actual: np.ndarray, forecast: np.ndarray, naive_mae: np.ndarray,
             low: np.ndarray | None = None, high: np.ndarray | None = None) -> dict[str, float]:
    """WAPE, MASE (scaled by each item's in-sample 7-day naive error), bias, p10-p90 coverage."""
    mask = ~np.isnan(actual)
    total = actual[mask].sum()
    error = np.abs(forecast - np.nan_to_num(actual))
    scale = np.where(naive_mae > 0, naive_mae, np.nan)[:, None]
    with np.errstate(all="ignore"):
        mase = float(row_mean((error / scale)[mask]))
    result = {"wape": float(error[mask].sum() / total) if total else float("nan"),
              "mase": mase,
              "bias": float((forecast[mask] - actual[mask]).sum() / total) if total else float("nan")}
    if low is not None:
        result["coverage"] = float(((actual >= low) & (actual <= high))[mask].mean())
    return result


def naive_scale(history: History, origin: int) -> np.ndarray:
    """Each item's mean absolute error of the 7-day seasonal naive, in sample (for MASE)."""
    units = history.units[:, :origin + 1]
    with np.errstate(all="ignore"):
        return row_mean(np.abs(units[:, 7:] - units[:, :-7]))


def backtest(history: History, params: dict | None = None, cutoffs: int = 3, horizon: int = 28,
             spacing: int = 28, progress=None) -> dict:
    """Rolling origin: for each cut-off, fit on what came before it and forecast the next
    ``horizon`` days; the model and both baselines are scored on the same days."""
    last = history.days - 1
    origins = [last - horizon - spacing * k for k in range(cutoffs)]
    origins = [o for o in origins if o >= MIN_HISTORY_DAYS - 1]
    if not origins:
        raise NotEnoughHistory(t("forecasting.backtest_needs", days=MIN_HISTORY_DAYS + horizon, has=history.days))
    collected: dict[str, list] = {"actual": [], "p10": [], "p50": [], "p90": [], "naive": [], "ma": [], "scale": []}
    for number, origin in enumerate(sorted(origins), start=1):
        model = QuantileForecaster(params).fit(history, last_origin=origin - 1, last_target=origin)
        quantiles = model.predict(history, origin, horizon)
        collected["actual"].append(history.units[:, origin + 1:origin + 1 + horizon])
        for i, name in enumerate(("p10", "p50", "p90")):
            collected[name].append(quantiles[:, :, i])
        collected["naive"].append(seasonal_naive(history, origin, horizon))
        collected["ma"].append(moving_average(history, origin, horizon))
        collected["scale"].append(naive_scale(history, origin))
        if progress:
            progress(number / len(origins), t("forecasting.progress_backtest", cutoff=number, cutoffs=len(origins)))
    stack = {k: np.concatenate(v, axis=0) for k, v in collected.items()}
    report: dict = {"cutoffs": [history.date(o).date().isoformat() for o in sorted(origins)], "horizons": {}}
    for h in (1, 7, 14, 28):
        if h > horizon:
            continue
        cols = slice(h - 1, h)
        report["horizons"][str(h)] = {
            "model": accuracy(stack["actual"][:, cols], stack["p50"][:, cols], stack["scale"],
                              stack["p10"][:, cols], stack["p90"][:, cols]),
            "seasonal_naive": accuracy(stack["actual"][:, cols], stack["naive"][:, cols], stack["scale"]),
            "moving_average": accuracy(stack["actual"][:, cols], stack["ma"][:, cols], stack["scale"]),
        }
    cols = slice(0, horizon)
    report["overall"] = {
        "model": accuracy(stack["actual"][:, cols], stack["p50"][:, cols], stack["scale"], stack["p10"], stack["p90"]),
        "seasonal_naive": accuracy(stack["actual"][:, cols], stack["naive"][:, cols], stack["scale"]),
        "moving_average": accuracy(stack["actual"][:, cols], stack["ma"][:, cols], stack["scale"]),
    }
    return report


# Every feature has words in the catalogue (forecasting.feature_*); these take the feature's value.
VALUED_FEATURES = {"days_to_festival": int, "days_since_festival": int, "price_ratio": float}


def explain_words(feature: str, value: float, share: float) -> Message:
    """A contribution in words: '双11 活动期：+40%' / 'Double 11 campaign: +40%'. A feature's code
    name never shows; one the catalogue does not know reads as "other factors"."""
    if feature.startswith("fest_"):
        factor = t("forecasting.feature_festival", festival=festival_name(feature[5:]))
    else:
        base = feature.removesuffix("_rel")
        key = f"forecasting.feature_{base}"
        if key not in catalogue(DEFAULT_LANGUAGE):
            key = "forecasting.feature_other"
        cast = VALUED_FEATURES.get(base)
        factor = t(key, value=cast(value)) if cast and np.isfinite(value) else t(key, value="?")
    return t("forecasting.contribution", factor=factor, share=f"{share:+.0%}")
