"""Pricing use cases: what the routes and the jobs do, on top of the maths (``elasticity``,
``optimise``, ``competitors``) and the SQL (``data``). No HTTP here: api.py parses and shapes,
tasks.py wraps the jobs.

``pricing.train`` estimates elasticities and baseline demand; ``pricing.watch`` (after each
competitor-price import and every train) sends a ``competitor_undercut`` event per new undercut.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.pricing import competitors, data
from services.pricing.elasticity import DemandCurves, build_panel, estimate
from services.pricing.optimise import Guardrails, ItemEconomics, advise, economics, guardrails, our_prices, simulate
from shared import artifacts, sales, webhooks
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.config import Settings
from shared.errors import Conflict, InvalidInput, NotFound
from shared.i18n import t
from shared.jobs import JobContext
from shared.models import shop_timezone
from shared.suggestions import suggestion_id

SERVICE = "pricing"
MODELS: ActiveModelCache[DemandCurves] = ActiveModelCache(
    SERVICE, lambda artifact: DemandCurves.from_artifact(artifact.arrays, artifact.params))
MIN_DAYS = 56  # eight weeks of priced sales
UNDERCUT_EVENT = "competitor_undercut"
ABSURD_FACTOR = 10  # a simulated price more than 10x (or under 1/10 of) the current one is a typo


# --- requests -----------------------------------------------------------------------------------

def item_pricing(session: Session, shop_id: int, settings: Settings, item_id: str) -> dict:
    """Elasticity with its interval and method, the price advice and the competitors of one item."""
    loaded = _active(shop_id, settings)
    curves = loaded.model
    k, cost, economics, observations = _item_economics(session, curves, item_id)
    rules = guardrails(data.rules(session))
    view = competitors.item_view(economics.price, observations)
    return {"item_id": item_id, "model_version": loaded.version, "as_of": curves.as_of.date().isoformat(),
            "current_price": round(economics.price, 2), "cost": cost, "elasticity": _elasticity(curves, k),
            "suggestion": {**advise(economics, rules),
                           "suggestion_id": suggestion_id(SERVICE, loaded.version, item_id)},
            "reference_price": round(economics.reference, 2) if economics.reference else None, **view}


def suggestion_list(session: Session, shop_id: int, settings: Settings, action: str | None, sort: str,
                    limit: int) -> dict:
    """Every item's advice, largest expected profit gain first (or filtered by action)."""
    loaded = _active(shop_id, settings)
    curves = loaded.model
    rules = guardrails(data.rules(session))
    rows = suggestions(session, curves, loaded.version, rules, action, sort)
    return {"model_version": loaded.version, "as_of": curves.as_of.date().isoformat(), "rules": rules.__dict__,
            "items": rows[:limit]}


def simulate_price(session: Session, shop_id: int, settings: Settings, item_id: str, price: float,
                   days: int) -> dict:
    """Units, revenue and profit at a proposed price; a price absurdly far from the current one is a 400."""
    loaded = _active(shop_id, settings)
    curves = loaded.model
    k, _cost, economics, _observations = _item_economics(session, curves, item_id)
    if not (economics.price / ABSURD_FACTOR <= price <= economics.price * ABSURD_FACTOR):
        low, high = f"{economics.price / ABSURD_FACTOR:.2f}", f"{economics.price * ABSURD_FACTOR:.2f}"
        raise InvalidInput(t("pricing.absurd_price", price=price, factor=ABSURD_FACTOR,
                             current=f"{economics.price:.2f}"),
                           errors={"price": [t("pricing.price_between", low=low, high=high)]})
    answer = simulate(economics, price, days)
    answer.update(item_id=item_id, model_version=loaded.version, elasticity=_elasticity(curves, k))
    if economics.cost is None:
        answer["note"] = t("pricing.no_cost_profit")
    return answer


def competitor_watch(session: Session, shop_id: int, settings: Settings) -> dict:
    """Price index per category against the cheapest rival, and the items being undercut now."""
    share = float(data.rules(session).get("undercut_share", competitors.DEFAULT_UNDERCUT_SHARE))
    loaded = MODELS.get(shop_id, settings)
    catalogue = data.catalogue(session)
    ours = our_prices(catalogue, loaded.model if loaded else None)
    observations = data.competitor_prices(session)
    products = catalogue.set_index("item_id")
    titles = products["title"].dropna().to_dict()
    return {"undercut_share": share,
            "categories": competitors.category_index(ours, products["category"], observations),
            "undercuts": [{**u, "title": titles.get(u["item_id"])}
                          for u in competitors.undercuts(ours, observations, share)]}


def current_rules(session: Session) -> dict:
    """The shop's guardrails, unset ones at their defaults."""
    stored = data.rules(session)
    return {**guardrails(stored).__dict__, **stored}


def update_rules(session: Session, shop_id: int, changes: dict) -> dict:
    """Set guardrails; fields left out keep their current value."""
    merged = {**data.rules(session), **changes}
    data.save_rules(session, shop_id, merged)
    session.commit()
    return {**guardrails(merged).__dict__, **merged}


# --- jobs ---------------------------------------------------------------------------------------

def train(ctx: JobContext) -> dict:
    """Estimate, save and promote (no offline score to compare: a newer history is the better one),
    then watch competitors against the new curves."""
    ctx.progress(0.05, t("pricing.progress_reading"))
    with ctx.session() as session:
        lines = sales.paid_lines(session, shop_timezone(session, ctx.shop_id))[["item_id", "date", "units",
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
        artifacts.promote(session, row)
        version, model_id = row.version, row.id
    watched = watch(ctx, curves)
    return {"model_id": model_id, "version": version, "promoted": True, "metrics": metrics, "methods": methods,
            "timings_s": {"estimate": round(seconds, 2)}, **watched}


def watch(ctx: JobContext, curves: DemandCurves | None = None) -> dict:
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


# --- shared by both -----------------------------------------------------------------------------

def suggestions(session: Session, curves: DemandCurves, version: int, rules: Guardrails, action: str | None,
                sort: str) -> list[dict]:
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
        title = product["title"] if product is not None and pd.notna(product["title"]) else None
        rows.append({"item_id": item_id, "title": title, "elasticity": round(float(curves.estimates.value[k]), 3),
                     "ci_low": round(float(curves.estimates.ci_low[k]), 3),
                     "ci_high": round(float(curves.estimates.ci_high[k]), 3),
                     "method": str(curves.estimates.method[k]), **advice,
                     "suggestion_id": suggestion_id(SERVICE, version, item_id)})
    key = {"expected_profit_gain": "expected_profit_gain_per_day"}.get(sort, sort)
    rows.sort(key=lambda r: -(r.get(key) if r.get(key) is not None else float("-inf")))
    return rows


def _active(shop_id: int, settings: Settings) -> LoadedModel[DemandCurves]:
    loaded = MODELS.get(shop_id, settings)
    if loaded is None:
        raise Conflict(t("pricing.no_model"))
    return loaded


def _item_economics(session: Session, curves: DemandCurves, item_id: str
                    ) -> tuple[int, float | None, ItemEconomics, pd.DataFrame]:
    """(row in the model, catalogue cost, economics at the current price, competitor observations),
    or a 404/409 naming the item."""
    k = curves.index_of(item_id)
    product = data.product(session, item_id)
    if k is None:
        if product is None:
            raise NotFound(t("pricing.unknown_item", item_id=item_id))
        raise Conflict(t("pricing.not_in_model", item_id=item_id))
    price = float(product.price) if product is not None and product.price is not None else None
    cost = float(product.cost) if product is not None and product.cost is not None else None
    observations = data.competitor_prices(session, item_id)
    rivals = competitors.latest(observations)
    item = economics(curves, k, price, cost, rivals["price"] if not rivals.empty else pd.Series())
    return k, cost, item, observations


def _elasticity(curves: DemandCurves, k: int) -> dict:
    e = curves.estimates
    method = str(e.method[k])
    answer = {"value": round(float(e.value[k]), 3), "ci_low": round(float(e.ci_low[k]), 3),
              "ci_high": round(float(e.ci_high[k]), 3), "n_obs": int(e.n_obs[k]),
              "price_points": int(e.price_points[k]), "units": float(e.units[k]),
              "own_estimate": round(float(e.own[k]), 3) if np.isfinite(e.own[k]) else None, "method": method}
    if method.startswith("borrowed") or method == "prior":
        answer["note"] = t(f"pricing.borrowed_{method.removeprefix('borrowed_')}")
    return answer


def _median(values: np.ndarray):
    return round(float(np.median(values)), 4) if len(values) else None
