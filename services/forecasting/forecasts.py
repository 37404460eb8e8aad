"""The trained forecasting bundle serving holds per shop: the model, every item's forecast from
the shop's last day of data (``as_of``), and what is needed to explain and aggregate them. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from services.forecasting.model import (
    HORIZON_MAX,
    History,
    QuantileForecaster,
    design_matrix,
    explain_words,
    origin_features,
    target_features,
)
from shared.i18n import t

RECENT_DAYS = 90
COLD_START_DAYS = 28
DEFAULT_HORIZON = 28  # the routes' default
# Horizons whose explanations are computed once, at training, for every item sold in the last
# RECENT_DAYS; any other horizon or item is explained per request (~8 ms). Each horizon costs
# about 60 s per 10,000 items at training (docs/benchmarks.md), so only the default is.
EXPLAINED_HORIZONS = (DEFAULT_HORIZON,)
EXPLAINED_FEATURES = 5
EXPLAIN_BATCH_ITEMS = 2_000  # items per xgboost call at training: bounded memory, few calls


class UnknownItem(KeyError):
    pass


def sampled_days(horizon: int) -> np.ndarray:
    """The days ahead (1..horizon) whose contributions explain a horizon: every day up to a week,
    then about seven days spread evenly, at a stride that shares no factor with 7 so every
    weekday is still in the sample. On 500 synthetic items, every 4th day of 28 gave the same top
    feature for all of them and 99.6% of the same top five, at a fifth of the cost."""
    stride = max(1, horizon // 7)
    if stride % 7 == 0:
        stride -= 1
    return np.arange(1, horizon + 1)[::stride]


def expected(quantiles: np.ndarray) -> np.ndarray:
    """Mean demand from p10/p50/p90 (Swanson's rule 0.3/0.4/0.3): sums of sparse daily counts need
    the mean, and the p50 of a count that is usually zero is far below it."""
    return 0.3 * quantiles[..., 0] + 0.4 * quantiles[..., 1] + 0.3 * quantiles[..., 2]


@dataclass
class Explained:
    """Per item, the features that move its p50 most over one horizon: their column in the
    design matrix (-1: none), their share of the total and their value on the first day."""

    features: np.ndarray  # int16 [items, EXPLAINED_FEATURES]
    shares: np.ndarray  # float32, same shape
    values: np.ndarray  # float32, same shape


class Forecasts:
    def __init__(self, model: QuantileForecaster, item_ids, categories, quantiles, origin, recent, history_days,
                 as_of: date, backtest: dict, explained: dict[int, Explained] | None = None):
        self.model = model
        self.item_ids, self.categories = np.asarray(item_ids), np.asarray(categories)
        self.quantiles, self.origin, self.recent = quantiles, origin, recent
        self.history_days, self.as_of, self.backtest = history_days, as_of, backtest
        self.index = {item: i for i, item in enumerate(self.item_ids.tolist())}
        # Explaining takes xgboost's per-feature contributions (~30 ms an item and 28 days): done
        # once at training for EXPLAINED_HORIZONS, so the common request only looks them up.
        self.explained = explained or {}

    @classmethod
    def from_history(cls, model: QuantileForecaster, history: History, backtest: dict) -> Forecasts:
        last = history.days - 1
        quantiles = model.predict(history, last, HORIZON_MAX)
        sold = np.nan_to_num(history.units) > 0
        first = np.where(sold.any(axis=1), sold.argmax(axis=1), -1)
        history_days = np.where(first >= 0, last - first + 1, 0)
        quantiles[history_days == 0] = 0.0  # never sold: zeros (with a note), not a guess
        recent = np.nan_to_num(history.units[:, -RECENT_DAYS:])
        bundle = cls(model, history.item_ids, history.categories, quantiles.astype(np.float32),
                     origin_features(history, last), recent.astype(np.float32), history_days,
                     history.date(last).date(), backtest)
        bundle.explained = {horizon: bundle._explain_all(horizon) for horizon in EXPLAINED_HORIZONS}
        return bundle

    def _explain_all(self, horizon: int) -> Explained:
        """The top features over ``horizon`` days of every item sold in the last RECENT_DAYS, in
        batches of items."""
        n_items = len(self.item_ids)
        explained = Explained(np.full((n_items, EXPLAINED_FEATURES), -1, dtype=np.int16),
                              np.zeros((n_items, EXPLAINED_FEATURES), dtype=np.float32),
                              np.zeros((n_items, EXPLAINED_FEATURES), dtype=np.float32))
        sold = np.nonzero((self.history_days > 0) & (self.recent.sum(axis=1) > 0))[0]
        for start in range(0, len(sold), EXPLAIN_BATCH_ITEMS):
            rows = sold[start:start + EXPLAIN_BATCH_ITEMS]
            batch = self._explain_rows(rows, horizon)
            explained.features[rows], explained.shares[rows], explained.values[rows] = (
                batch.features, batch.shares, batch.values)
        return explained

    def _explain_rows(self, rows: np.ndarray, horizon: int) -> Explained:
        """These items' features that move their p50 most over ``horizon`` days (xgboost's
        per-feature contributions summed over the days, as shares of the total, or of the features'
        summed sway where that is larger)."""
        horizons = sampled_days(horizon)
        dates = pd.DatetimeIndex([pd.Timestamp(self.as_of) + pd.Timedelta(days=int(h)) for h in horizons])
        targets = target_features(dates, horizons)
        X = design_matrix(np.repeat(self.origin[rows], len(horizons), axis=0),
                          pd.DataFrame(np.tile(targets.to_numpy(dtype=float), (len(rows), 1))))
        contributions = self.model.contributions(X).reshape(len(rows), len(horizons), -1)
        per_feature = contributions[:, :, :-1].sum(axis=1)
        # A level and its "_rel" twin are one fact to a reader: say it once, with their summed sway.
        names = self.model.feature_names
        for j, name in enumerate(names):
            if name.endswith("_rel") and name.removesuffix("_rel") in names:
                per_feature[:, names.index(name.removesuffix("_rel"))] += per_feature[:, j]
                per_feature[:, j] = 0.0
        # Shares of the p50, but never of a p50 the features all but cancel out to (an item forecast
        # to sell ~nothing): there a share of ±30,000,000% says nothing; of the features' own sway, ≤ 100%.
        total = np.maximum(np.abs(contributions.sum(axis=(1, 2))), np.abs(per_feature).sum(axis=1))
        total[total == 0] = 1.0
        top = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :EXPLAINED_FEATURES]
        first_day = X.reshape(len(rows), len(horizons), -1)[:, 0, :]
        return Explained(top.astype(np.int16),
                         (np.take_along_axis(per_feature, top, axis=1) / total[:, None]).astype(np.float32),
                         np.take_along_axis(first_day, top, axis=1).astype(np.float32))

    # -- artifact -------------------------------------------------------------------------------

    def to_artifact(self) -> tuple[dict, dict, dict]:
        arrays = {"item_ids": self.item_ids.astype(str), "categories": self.categories.astype(str),
                  "quantiles": self.quantiles, "origin": self.origin, "recent": self.recent,
                  "history_days": self.history_days}
        for horizon, explained in self.explained.items():
            arrays.update({f"explained{horizon}_{part}": getattr(explained, part)
                           for part in ("features", "shares", "values")})
        files = {"model.json": self.model.to_json(), "backtest.json": json.dumps(self.backtest).encode()}
        params = {**self.model.params, "feature_names": self.model.feature_names, "as_of": self.as_of.isoformat()}
        return arrays, files, params

    @classmethod
    def from_artifact(cls, arrays: dict, files: dict, params: dict) -> Forecasts:
        model = QuantileForecaster.from_json(files["model.json"], params, params["feature_names"])
        # Versions trained before explanations were precomputed have none: computed per request.
        explained = {horizon: Explained(*(arrays[f"explained{horizon}_{part}"] for part in
                                          ("features", "shares", "values")))
                     for horizon in EXPLAINED_HORIZONS if f"explained{horizon}_features" in arrays}
        return cls(model, arrays["item_ids"], arrays["categories"], arrays["quantiles"], arrays["origin"],
                   arrays["recent"], arrays["history_days"], date.fromisoformat(params["as_of"]),
                   json.loads(files["backtest.json"]), explained)

    # -- answers ----------------------------------------------------------------------------------

    def row(self, item_id: str) -> int:
        if item_id not in self.index:
            raise UnknownItem(item_id)
        return self.index[item_id]

    def item(self, item_id: str, horizon: int) -> dict:
        i = self.row(item_id)
        means = expected(self.quantiles[i, :horizon])
        points = [{"date": (self.as_of + timedelta(days=h + 1)).isoformat(),
                   "p10": round(float(q[0]), 3), "p50": round(float(q[1]), 3), "p90": round(float(q[2]), 3),
                   "expected": round(float(means[h]), 3)}
                  for h, q in enumerate(self.quantiles[i, :horizon])]
        days = int(self.history_days[i])
        note = None
        if days == 0:
            note = t("forecasting.no_sales_yet")
            explanation = []
        else:
            explanation = self.explain(i, horizon)
            if days < COLD_START_DAYS:
                note = t("forecasting.short_history", days=days,
                         category=self.categories[i] or t("forecasting.uncategorised"))
        return {"item_id": item_id, "as_of": self.as_of.isoformat(), "points": points,
                "explanation": explanation, "note": note,
                "total": {**{k: round(float(self.quantiles[i, :horizon, j].sum()), 2) for j, k in
                             enumerate(("p10", "p50", "p90"))},
                          "expected": round(float(means.sum()), 2)}}

    def explain(self, i: int, horizon: int) -> list[dict]:
        """The features that move this item's p50 over the horizon most, in words: looked up for
        EXPLAINED_HORIZONS, computed for any other."""
        known = self.explained.get(horizon)
        if known is not None and known.features[i, 0] >= 0:
            features, shares, values = known.features[i], known.shares[i], known.values[i]
        else:
            one = self._explain_rows(np.array([i]), horizon)
            features, shares, values = one.features[0], one.shares[0], one.values[0]
        names = self.model.feature_names
        return [{"feature": names[j], "contribution": round(float(share), 4),
                 "text": explain_words(names[j], float(value), float(share))}
                for j, share, value in zip(features.tolist(), shares.tolist(), values.tolist(), strict=True)
                if j >= 0 and share != 0]  # a feature with no sway explains nothing

    def categories_outlook(self, horizon: int) -> list[dict]:
        """Categories ranked by forecast growth over the horizon vs the same number of days before."""
        outlook = []
        next_total = expected(self.quantiles[:, :horizon]).sum(axis=1)
        previous = self.recent[:, -min(horizon, RECENT_DAYS):].sum(axis=1)
        change = next_total - previous
        for category in sorted(set(self.categories.tolist())):
            rows = np.nonzero(self.categories == category)[0]
            ahead, before = float(next_total[rows].sum()), float(previous[rows].sum())
            drivers = rows[np.argsort(-np.abs(change[rows]))][:3]
            outlook.append({
                "category": category or "(uncategorised)", "forecast_units": round(ahead, 1),
                "previous_units": round(before, 1),
                "growth": round((ahead - before) / before, 4) if before else None,
                "drivers": [{"item_id": str(self.item_ids[r]), "change_units": round(float(change[r]), 1)}
                            for r in drivers if change[r] != 0],
            })
        return sorted(outlook, key=lambda c: (c["growth"] is None, -(c["growth"] or 0)))

