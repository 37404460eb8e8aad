"""Pricing jobs: estimate elasticities and baseline demand (``pricing.train``) and watch competitor
prices for undercuts (``pricing.watch``, after each competitor-price import and every train)."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from services.pricing import competitors, data
from services.pricing.elasticity import DemandCurves, build_panel, estimate
from services.pricing.optimise import Guardrails, ItemEconomics, advise
from shared import artifacts, sales, webhooks
from shared.errors import Conflict
from shared.i18n import t
from shared.jobs import JobContext, job_task

log = logging.getLogger(__name__)
SERVICE = "pricing"
MIN_DAYS = 56  # eight weeks of priced sales
UNDERCUT_EVENT = "competitor_undercut"


@job_task("pricing.train")
def train_pricing(ctx: JobContext) -> dict:
    ctx.progress(0.05, t("pricing.progress_reading"))
    with ctx.session() as session:
        lines = sales.paid_lines(session, data.shop_timezone(session, ctx.shop_id))[["item_id", "date", "units",
                                                                                     "price"]]
        stock, catalogue = sales.stock_snapshots(session), data.catalogue(session)
    days = (lines["date"].max() - lines["date"].min()).days + 1 if not lines.empty else 0
    if days < MIN_DAYS:
        raise Conflict(t("pricing.needs_history", days=MIN_DAYS, has=days))
    started = time.perf_counter()
    panel = build_panel(lines, stock, catalogue)
    ctx.progress(0.3, t("pricing.progress_estimating", items=f"{len(panel.item_ids):,}", days=days))
    estimates = estimate(panel)
    curves = DemandCurves.from_panel(panel, estimates)
    seconds = time.perf_counter() - started
    methods = pd.Series(estimates.method).value_counts().to_dict()
    measured = estimates.method == "pooled"
    width = estimates.ci_high - estimates.ci_low
    metrics = {"items": int(len(estimates.item_ids)), "measured_items": int(measured.sum()),
               "measured_share": round(float(measured.mean()), 4),
               "median_elasticity_measured": _median(estimates.value[measured]),
               "median_ci90_width_measured": _median(width[measured]),
               "negative_share_measured": round(float((estimates.value[measured] < 0).mean()), 4)
               if measured.any() else None}
    arrays, params = curves.to_artifact()
    ctx.progress(0.8, t("jobs.progress_saving"))
    with ctx.session() as session:
        row = artifacts.save_version(session, ctx.settings, ctx.shop_id, SERVICE, arrays=arrays, params=params,
                                     metrics=metrics, job_id=ctx.job_id,
                                     data_window={"from": panel.dates[0].date().isoformat(),
                                                  "to": panel.dates[-1].date().isoformat(), "days": days})
        artifacts.promote(session, row)  # no offline score to compare: a newer history is the better one
        version, model_id = row.version, row.id
    watched = _watch(ctx, curves)
    return {"model_id": model_id, "version": version, "promoted": True, "metrics": metrics, "methods": methods,
            "timings_s": {"estimate": round(seconds, 2)}, **watched}


@job_task("pricing.watch")
def watch_competitors(ctx: JobContext) -> dict:
    return _watch(ctx, None)


def _watch(ctx: JobContext, curves: DemandCurves | None) -> dict:
    """A ``competitor_undercut`` event per (item, competitor, price) seen for the first time."""
    with ctx.session() as session:
        rules = data.rules(session)
        share = float(rules.get("undercut_share", competitors.DEFAULT_UNDERCUT_SHARE))
        ours = our_prices(data.catalogue(session), curves)
        found = competitors.undercuts(ours, data.competitor_prices(session), share)
        sent = 0
        for undercut in found:
            state = f"{undercut['competitor']}@{undercut['competitor_price']:.2f}<{undercut['our_price']:.2f}"
            sent += webhooks.emit_once(session, ctx.shop_id, UNDERCUT_EVENT, undercut["item_id"], state[:200],
                                       {**undercut, "undercut_share": share})
        session.commit()
    return {"undercuts": len(found), "undercut_alerts_sent": sent}


def our_prices(catalogue: pd.DataFrame, curves: DemandCurves | None) -> pd.Series:
    """Our current price per item: the catalogue's, else the last price sold at."""
    prices = catalogue.dropna(subset=["price"]).set_index("item_id")["price"].astype(float)
    if curves is not None:
        sold = pd.Series(curves.at_price, index=curves.estimates.item_ids.astype(str)).dropna()
        prices = prices.combine_first(sold)
    return prices[prices > 0]


def economics(curves: DemandCurves, k: int, price: float | None, cost: float | None,
              rival_prices: pd.Series) -> ItemEconomics:
    """Item k's economics at its current price (the catalogue's, else the last sold at)."""
    e = curves.estimates
    p0 = price if price and price > 0 else float(curves.at_price[k])
    at = curves.at_price[k]
    units = float(curves.daily_units[k] * (p0 / at) ** e.value[k]) if np.isfinite(at) and at > 0 else 0.0
    reference = float(rival_prices.max()) if len(rival_prices) else (
        float(curves.top_price[k]) if np.isfinite(curves.top_price[k]) else None)
    return ItemEconomics(price=p0, cost=cost if cost and cost > 0 else None, daily_units=units,
                         elasticity=float(e.value[k]), elasticity_sd=float(e.sd[k]), reference=reference)


def suggestions(session, curves: DemandCurves, rules: Guardrails, action: str | None, sort: str) -> list[dict]:
    """Every selling item's advice at its current catalogue price and cost, filtered by ``action``
    (raise/lower/hold, or "change" for anything but hold) and sorted by ``sort``, largest first."""
    catalogue = data.catalogue(session).set_index("item_id")
    rivals = competitors.latest(data.competitor_prices(session))
    rival_prices = rivals.groupby("item_id")["price"] if not rivals.empty else None
    rows = []
    for k, item_id in enumerate(curves.estimates.item_ids):
        item_id = str(item_id)
        product = catalogue.loc[item_id] if item_id in catalogue.index else None
        price = float(product["price"]) if product is not None and pd.notna(product["price"]) else None
        cost = float(product["cost"]) if product is not None and pd.notna(product["cost"]) else None
        mine = rival_prices.get_group(item_id) if rival_prices is not None and item_id in rival_prices.groups \
            else pd.Series(dtype=float)
        item = economics(curves, k, price, cost, mine)
        if item.daily_units <= 0:
            continue
        advice = advise(item, rules)
        if action and (advice["action"] == "hold" if action == "change" else advice["action"] != action):
            continue
        rows.append({"item_id": item_id, "elasticity": round(float(curves.estimates.value[k]), 3),
                     "method": str(curves.estimates.method[k]), **advice})
    key = {"expected_profit_gain": "expected_profit_gain_per_day"}.get(sort, sort)
    rows.sort(key=lambda r: -(r.get(key) if r.get(key) is not None else float("-inf")))
    return rows


def guardrails(stored: dict) -> Guardrails:
    known = {k: v for k, v in stored.items() if k in Guardrails.__dataclass_fields__}
    if "endings" in known:
        known["endings"] = tuple(known["endings"])
    return Guardrails(**known)


def _median(values: np.ndarray):
    return round(float(np.median(values)), 4) if len(values) else None
