"""The forecasting job: history from the database, rolling-origin backtest, fit, save, promote."""

from __future__ import annotations

import logging
import time

import numpy as np

from services.forecasting import data
from services.forecasting.forecasts import Forecasts
from services.forecasting.model import MIN_HISTORY_DAYS, NotEnoughHistory, QuantileForecaster, backtest, build_history
from services.forecasting.replenish import plan_item
from shared import artifacts, sales, webhooks
from shared.errors import Conflict
from shared.i18n import said, t
from shared.jobs import JobContext, job_task

log = logging.getLogger(__name__)
SERVICE = "forecasting"
DEFAULT_LEAD_TIME_DAYS = 7


def load_history(ctx: JobContext):
    with ctx.session() as session:
        timezone = data.shop_timezone(session, ctx.shop_id)
        lines = sales.paid_lines(session, timezone)[["item_id", "date", "units", "revenue"]]
        stock = sales.stock_snapshots(session)
        catalogue = data.catalogue(session)
    try:
        history = build_history(lines, stock, catalogue)
    except NotEnoughHistory as exc:
        raise Conflict(t("forecasting.needs_history", days=MIN_HISTORY_DAYS, reason=said(exc))) from None
    if history.days < MIN_HISTORY_DAYS:
        raise Conflict(t("forecasting.short_shop_history", days=MIN_HISTORY_DAYS, has=history.days,
                         start=f"{history.start:%Y-%m-%d}"))
    return history, catalogue


@job_task("forecasting.train")
def train_forecaster(ctx: JobContext) -> dict:
    """Backtest, fit on everything, save; promote only if it beats seasonal-naive on WAPE."""
    ctx.progress(0.02, t("forecasting.progress_loading"))
    history, catalogue = load_history(ctx)
    params = ctx.params.get("params") or {}
    started = time.perf_counter()
    cutoffs = 3 if history.days >= MIN_HISTORY_DAYS + 28 * 3 + 28 else 1
    try:
        report = backtest(history, params, cutoffs=cutoffs,
                          progress=lambda f, m: ctx.progress(0.05 + 0.6 * f, m, force=True))
    except NotEnoughHistory as exc:
        report = {"skipped": str(exc)}
    backtest_s = time.perf_counter() - started
    ctx.progress(0.7, t("forecasting.progress_fitting", days=history.days, items=len(history.item_ids)))
    started = time.perf_counter()
    model = QuantileForecaster(params).fit(history)
    forecasts = Forecasts.from_history(model, history, report)
    fit_s = time.perf_counter() - started
    arrays, files, model_params = forecasts.to_artifact()
    overall = report.get("overall", {})
    metrics = {"wape": overall.get("model", {}).get("wape"), "coverage": overall.get("model", {}).get("coverage"),
               "seasonal_naive_wape": overall.get("seasonal_naive", {}).get("wape"),
               "moving_average_wape": overall.get("moving_average", {}).get("wape"), "backtest": report}
    metrics = {k: v for k, v in metrics.items() if v is not None}
    window = {"from": history.start.date().isoformat(), "to": forecasts.as_of.isoformat(),
              "days": history.days, "items": len(history.item_ids)}
    ctx.progress(0.9, t("jobs.progress_saving"))
    with ctx.session() as session:
        row = artifacts.save_version(session, ctx.settings, ctx.shop_id, SERVICE, arrays=arrays, files=files,
                                     params=model_params, metrics=metrics, data_window=window, job_id=ctx.job_id)
        beats_naive = "wape" in metrics and metrics["wape"] < metrics.get("seasonal_naive_wape", float("inf"))
        if "skipped" in report:  # too short to backtest: the first version still serves, later ones must measure
            promoted = artifacts.promote_if_better(session, row, "wape", higher_is_better=False)
            reason = t("forecasting.promoted_without_backtest") if promoted else \
                t("forecasting.not_promoted_no_backtest")
        elif not beats_naive:
            promoted, reason = False, t("forecasting.not_promoted_naive")
        else:
            promoted = artifacts.promote_if_better(session, row, "wape", higher_is_better=False)
            reason = t("forecasting.promoted") if promoted else t("forecasting.not_promoted_worse", model_id=row.id)
        version, model_id = row.version, row.id
        if promoted:
            alerts = _stockout_alerts(session, ctx, forecasts, version)
        else:
            alerts = 0
    return {"model_id": model_id, "version": version, "promoted": promoted, "promotion": reason,
            "metrics": {k: v for k, v in metrics.items() if k != "backtest"}, "backtest": report,
            "data_window": window, "stockout_alerts": alerts,
            "timings_s": {"backtest": round(backtest_s, 2), "fit_and_forecast": round(fit_s, 2)}}


def _stockout_alerts(session, ctx: JobContext, forecasts: Forecasts, version: int) -> int:
    """A ``stockout_risk`` webhook event per high-risk item, once per model version."""
    stock = data.latest_stock(session)
    count = 0
    for row in stock.itertuples():
        i = forecasts.index.get(str(row.item_id))
        if i is None:
            continue
        q = forecasts.quantiles[i]
        lead = int(row.lead_time_days) if row.lead_time_days == row.lead_time_days and row.lead_time_days else \
            DEFAULT_LEAD_TIME_DAYS
        plan = plan_item(str(row.item_id), q[:, 0], q[:, 1], q[:, 2], int(row.on_hand or 0),
                         int(np.nan_to_num(row.on_order or 0)), lead, 0.95, forecasts.as_of)
        if plan.risk == "high":
            webhooks.emit(session, ctx.shop_id, "stockout_risk", {**plan.__dict__, "model_version": version})
            count += 1
    return count
