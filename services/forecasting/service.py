"""Forecasting use cases: what the routes and the training job do, on top of the maths
(``model``, ``forecasts``, ``replenish``) and the SQL (``data``). No HTTP here: api.py parses and
shapes, tasks.py wraps the job."""

from __future__ import annotations

import time
from datetime import timedelta

import pandas as pd
from sqlalchemy.orm import Session

from services.forecasting import data
from services.forecasting.forecasts import Forecasts, UnknownItem
from services.forecasting.model import MIN_HISTORY_DAYS, NotEnoughHistory, QuantileForecaster, backtest, build_history
from services.forecasting.replenish import pack_sizes, plan_stock
from shared import artifacts, sales, webhooks
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.calendar import local_window
from shared.catalogue import titles as item_titles
from shared.catalogue import with_titles
from shared.config import Settings
from shared.errors import Conflict, NotFound
from shared.i18n import said, t
from shared.jobs import JobContext
from shared.models import shop_timezone
from shared.suggestions import suggestion_id

SERVICE = "forecasting"
MODELS: ActiveModelCache[Forecasts] = ActiveModelCache(
    SERVICE, lambda artifact: Forecasts.from_artifact(artifact.arrays, artifact.files, artifact.params))
ALERT_SERVICE_LEVEL = 0.95  # the route's default, so an alert names the plan the route shows


# --- requests -----------------------------------------------------------------------------------

def item_forecast(session: Session, shop_id: int, settings: Settings, item_id: str, horizon: int,
                  history_days: int = 0) -> dict:
    """Daily p10/p50/p90 demand for an item from the day after the shop's last data, explained;
    with ``history_days``, the units it sold on each of the days up to then."""
    loaded = _active(shop_id, settings)
    try:
        answer = loaded.model.item(item_id, horizon)
    except UnknownItem:
        raise NotFound(t("forecasting.unknown_item", item_id=item_id)) from None
    if history_days:
        as_of = loaded.model.as_of
        span = (as_of - timedelta(days=history_days - 1), as_of)
        timezone = shop_timezone(session, shop_id)
        days = sales.item_days(session, timezone, [item_id], local_window(span, timezone))
        units = days.set_index("date")["units"] if not days.empty else pd.Series(dtype=float)
        answer["history"] = [{"date": day.date().isoformat(), "units": float(units.get(day, 0.0))}
                             for day in pd.date_range(*span, freq="D")]
    return {**answer, "title": item_titles(session, [item_id]).get(item_id), "model_version": loaded.version}


def category_outlook(shop_id: int, settings: Settings, horizon: int) -> dict:
    """Categories ranked by forecast growth over the horizon, with the items driving it."""
    loaded = _active(shop_id, settings)
    return {"model_version": loaded.version, "as_of": loaded.model.as_of.isoformat(), "horizon": horizon,
            "categories": loaded.model.categories_outlook(horizon)}


def replenishment(session: Session, shop_id: int, settings: Settings, service_level: float,
                  lead_time_days: int | None, item_id: str | None, risk: str | None, limit: int) -> dict:
    """How much to reorder per item, when it runs out, and how risky that is (one item's plan with
    ``item_id``: an item without a stock snapshot is planned from nothing on hand)."""
    loaded = _active(shop_id, settings)
    forecasts = loaded.model
    stock = sales.latest_stock(session)
    if item_id:
        if item_id not in forecasts.index:
            raise NotFound(t("forecasting.unknown_item", item_id=item_id))
        stock = stock[stock["item_id"] == item_id] if not stock.empty else stock
        if stock.empty:
            stock = stock.reindex([0]).assign(item_id=item_id, on_hand=0, on_order=0, lead_time_days=None)
    plans = plan_stock(forecasts.index, forecasts.quantiles, forecasts.as_of, stock, service_level,
                       pack_sizes(data.catalogue(session)), lead_time_days)
    if risk:
        plans = [p for p in plans if p.risk == risk]
    return {"model_version": loaded.version, "as_of": forecasts.as_of.isoformat(), "service_level": service_level,
            "items": with_titles(session, [{**plan.__dict__, "suggestion_id": suggestion_id(SERVICE, loaded.version,
                                                                                           plan.item_id)}
                                           for plan in plans[:limit]])}


def backtest_report(shop_id: int, settings: Settings) -> dict:
    """The active model's rolling-origin backtest."""
    loaded = _active(shop_id, settings)
    return {"model_version": loaded.version, **loaded.model.backtest}


# --- the job ------------------------------------------------------------------------------------

def load_history(ctx: JobContext):
    with ctx.session() as session:
        timezone = shop_timezone(session, ctx.shop_id)
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


def train(ctx: JobContext) -> dict:
    """Backtest, fit on everything, save; promote only if it beats seasonal-naive on WAPE."""
    ctx.progress(0.02, t("forecasting.progress_loading"))
    history, _catalogue = load_history(ctx)
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
        alerts = stockout_alerts(session, ctx.shop_id, forecasts, version) if promoted else 0
    return {"model_id": model_id, "version": version, "promoted": promoted, "promotion": reason,
            "metrics": {k: v for k, v in metrics.items() if k != "backtest"}, "backtest": report,
            "data_window": window, "stockout_alerts": alerts,
            "timings_s": {"backtest": round(backtest_s, 2), "fit_and_forecast": round(fit_s, 2)}}


def stockout_alerts(session: Session, shop_id: int, forecasts: Forecasts, version: int) -> int:
    """A ``stockout_risk`` webhook event per high-risk item (the plan the route shows), once per
    model version."""
    plans = plan_stock(forecasts.index, forecasts.quantiles, forecasts.as_of, sales.latest_stock(session),
                       ALERT_SERVICE_LEVEL, pack_sizes(data.catalogue(session)))
    high = [plan for plan in plans if plan.risk == "high"]
    for plan in high:
        webhooks.emit(session, shop_id, "stockout_risk", {**plan.__dict__, "model_version": version})
    return len(high)


def _active(shop_id: int, settings: Settings) -> LoadedModel[Forecasts]:
    loaded = MODELS.get(shop_id, settings)
    if loaded is None:
        raise Conflict(t("forecasting.no_model"))
    return loaded
