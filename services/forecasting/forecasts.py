"""The trained forecasting bundle serving holds per shop: the model, every item's forecast from
the shop's last day of data (``as_of``), and what is needed to explain and aggregate them. Pure."""

from __future__ import annotations

import json
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


class UnknownItem(KeyError):
    pass


def expected(quantiles: np.ndarray) -> np.ndarray:
    """Mean demand from p10/p50/p90 (Swanson's rule 0.3/0.4/0.3): sums of sparse daily counts need
    the mean, and the p50 of a count that is usually zero is far below it."""
    return 0.3 * quantiles[..., 0] + 0.4 * quantiles[..., 1] + 0.3 * quantiles[..., 2]


class Forecasts:
    def __init__(self, model: QuantileForecaster, item_ids, categories, quantiles, origin, recent, history_days,
                 as_of: date, backtest: dict):
        self.model = model
        self.item_ids, self.categories = np.asarray(item_ids), np.asarray(categories)
        self.quantiles, self.origin, self.recent = quantiles, origin, recent
        self.history_days, self.as_of, self.backtest = history_days, as_of, backtest
        self.index = {item: i for i, item in enumerate(self.item_ids.tolist())}

    @classmethod
    def from_history(cls, model: QuantileForecaster, history: History, backtest: dict) -> Forecasts:
        last = history.days - 1
        quantiles = model.predict(history, last, HORIZON_MAX)
        sold = np.nan_to_num(history.units) > 0
        first = np.where(sold.any(axis=1), sold.argmax(axis=1), -1)
        history_days = np.where(first >= 0, last - first + 1, 0)
        quantiles[history_days == 0] = 0.0  # never sold: zeros (with a note), not a guess
        recent = np.nan_to_num(history.units[:, -RECENT_DAYS:])
        return cls(model, history.item_ids, history.categories, quantiles.astype(np.float32),
                   origin_features(history, last), recent.astype(np.float32), history_days,
                   history.date(last).date(), backtest)

    # -- artifact -------------------------------------------------------------------------------

    def to_artifact(self) -> tuple[dict, dict, dict]:
        arrays = {"item_ids": self.item_ids.astype(str), "categories": self.categories.astype(str),
                  "quantiles": self.quantiles, "origin": self.origin, "recent": self.recent,
                  "history_days": self.history_days}
        files = {"model.json": self.model.to_json(), "backtest.json": json.dumps(self.backtest).encode()}
        params = {**self.model.params, "feature_names": self.model.feature_names, "as_of": self.as_of.isoformat()}
        return arrays, files, params

    @classmethod
    def from_artifact(cls, arrays: dict, files: dict, params: dict) -> Forecasts:
        model = QuantileForecaster.from_json(files["model.json"], params, params["feature_names"])
        return cls(model, arrays["item_ids"], arrays["categories"], arrays["quantiles"], arrays["origin"],
                   arrays["recent"], arrays["history_days"], date.fromisoformat(params["as_of"]),
                   json.loads(files["backtest.json"]))

    # -- answers ----------------------------------------------------------------------------------

    def row(self, item_id: str) -> int:
        if item_id not in self.index:
            raise UnknownItem(item_id)
        return self.index[item_id]

    def item(self, item_id: str, horizon: int) -> dict:
        i = self.row(item_id)
        points = [{"date": (self.as_of + timedelta(days=h + 1)).isoformat(),
                   "p10": round(float(q[0]), 3), "p50": round(float(q[1]), 3), "p90": round(float(q[2]), 3)}
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
                          "expected": round(float(expected(self.quantiles[i, :horizon]).sum()), 2)}}

    def explain(self, i: int, horizon: int, top: int = 5) -> list[dict]:
        """The features that move this item's p50 over the horizon most, in words."""
        horizons = np.arange(1, horizon + 1)
        dates = pd.DatetimeIndex([pd.Timestamp(self.as_of) + pd.Timedelta(days=int(h)) for h in horizons])
        targets = target_features(dates, horizons)
        X = design_matrix(np.repeat(self.origin[i][None, :], horizon, axis=0), targets)
        contributions = self.model.contributions(X)
        per_feature = contributions[:, :-1].sum(axis=0)
        total = abs(float(contributions.sum())) or 1.0
        order = np.argsort(-np.abs(per_feature))[:top]
        names = self.model.feature_names
        explanation = []
        for j in order:
            share = float(per_feature[j]) / total
            explanation.append({"feature": names[j], "contribution": round(share, 4),
                                "text": explain_words(names[j], float(X[0, j]), share)})
        return explanation

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

