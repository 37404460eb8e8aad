"""Statistical anchors for the forecasting accuracy benchmark: statsforecast AutoETS and AutoARIMA.

Fitted per item on the same rolling-origin cut-offs as ``services.forecasting.model.backtest``:
for a cut-off (origin day t) each item's series is days ≤ t of ``History.units`` with censored
(stock-out, NaN) days set to 0. Days before the item's first sale are not its demand (not yet on
sale), so the series starts at the first sale, but never later than 28 days before the cut-off
(a short series still gets four weeks). An item with no sale up to the cut-off is forecast 0.
Forecasts are clipped at 0 (demand is never negative; clipping can only lower their error).
Needs the bench extra (``pip install -e '.[bench]'``: statsforecast).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

MIN_SERIES_DAYS = 28


def anchor_forecasts(units: np.ndarray, origin: int, horizon: int, model: str, season_length: int = 7,
                     n_jobs: int = 2) -> tuple[np.ndarray, dict]:
    """items × horizon point forecasts of ``model`` ("AutoETS" or "AutoARIMA") from day ``origin``."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS

    history = np.nan_to_num(units[:, :origin + 1])
    sold = history > 0
    has_sale = sold.any(axis=1)
    first = np.where(has_sale, sold.argmax(axis=1), origin + 1)
    begin = np.minimum(first, max(0, origin + 1 - MIN_SERIES_DAYS))
    rows = np.nonzero(has_sale)[0]
    forecasts = np.zeros((len(units), horizon))
    facts = {"series": int(len(rows)), "no_sale_before_cutoff": int((~has_sale).sum())}
    if len(rows) == 0:
        return forecasts, facts
    frames = []
    for r in rows:
        values = history[r, begin[r]:]
        frames.append(pd.DataFrame({"unique_id": int(r), "ds": np.arange(begin[r], origin + 1), "y": values}))
    frame = pd.concat(frames, ignore_index=True)
    estimator = AutoETS(season_length=season_length) if model == "AutoETS" else AutoARIMA(season_length=season_length)
    started = time.perf_counter()
    out = StatsForecast([estimator], freq=1, n_jobs=n_jobs).forecast(h=horizon, df=frame)
    facts["fit_predict_s"] = round(time.perf_counter() - started, 1)
    out = out.reset_index() if "unique_id" not in out.columns else out
    out["step"] = out["ds"].astype(int) - origin
    table = out.pivot(index="unique_id", columns="step", values=model).reindex(columns=range(1, horizon + 1))
    values = table.to_numpy(dtype=float)
    facts["non_finite"] = int((~np.isfinite(values)).sum())
    facts["negative_clipped"] = int((values < 0).sum())
    forecasts[table.index.to_numpy(dtype=int)] = np.clip(np.nan_to_num(values), 0, None)
    return forecasts, facts


def wape_at(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Σ|forecast − actual| / Σ actual over the non-NaN actuals (as services.forecasting.model.accuracy)."""
    mask = ~np.isnan(actual)
    total = actual[mask].sum()
    return float(np.abs(forecast - np.nan_to_num(actual))[mask].sum() / total) if total else float("nan")


def coverage_at(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    mask = ~np.isnan(actual)
    return float(((actual >= low) & (actual <= high))[mask].mean())
