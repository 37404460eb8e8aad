"""HTTP routes of the pricing service (API.md, "Pricing")."""

from __future__ import annotations

import numpy as np
import pandas as pd
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.pricing import competitors, data, tasks
from services.pricing.elasticity import DemandCurves
from services.pricing.optimise import advise, simulate
from services.pricing.schemas import (
    CompetitorsSchema,
    ItemPricingSchema,
    RulesSchema,
    SimulateSchema,
    SuggestionsArgsSchema,
    SuggestionsSchema,
)
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.auth import current_shop_id
from shared.db import request_session
from shared.errors import Conflict, InvalidInput, NotFound
from shared.i18n import t

blp = Blueprint("pricing", __name__, url_prefix="/v1", description="Elasticity, price advice and competitor watch")
MODELS: ActiveModelCache[DemandCurves] = ActiveModelCache(
    "pricing", lambda artifact: DemandCurves.from_artifact(artifact.arrays, artifact.params))
ABSURD_FACTOR = 10  # a simulated price more than 10x (or under 1/10 of) the current one is a typo


def _active() -> LoadedModel[DemandCurves]:
    loaded = MODELS.get(current_shop_id(), current_app.config["SETTINGS"])
    if loaded is None:
        raise Conflict(t("pricing.no_model"))
    return loaded


def _item(curves: DemandCurves, item_id: str) -> tuple[int, float | None, float | None, pd.DataFrame]:
    """(row in the model, catalogue price, cost, competitor observations) or a 404 naming the item."""
    k = curves.index_of(item_id)
    session = request_session()
    product = data.product(session, item_id)
    if k is None:
        if product is None:
            raise NotFound(t("pricing.unknown_item", item_id=item_id))
        raise Conflict(t("pricing.not_in_model", item_id=item_id))
    price = float(product.price) if product is not None and product.price is not None else None
    cost = float(product.cost) if product is not None and product.cost is not None else None
    return k, price, cost, data.competitor_prices(session, item_id)


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


@blp.route("/pricing/items/<path:item_id>")
class ItemPricing(MethodView):
    @blp.response(200, ItemPricingSchema)
    def get(self, item_id):
        """Elasticity with its interval and method, the price advice and the competitors."""
        loaded = _active()
        curves = loaded.model
        k, price, cost, observations = _item(curves, item_id)
        rivals = competitors.latest(observations)
        economics = tasks.economics(curves, k, price, cost, rivals["price"] if not rivals.empty else pd.Series())
        rules = tasks.guardrails(data.rules(request_session()))
        view = competitors.item_view(economics.price, observations)
        return {"item_id": item_id, "model_version": loaded.version, "as_of": curves.as_of.date().isoformat(),
                "current_price": round(economics.price, 2), "cost": cost, "elasticity": _elasticity(curves, k),
                "suggestion": advise(economics, rules), "reference_price":
                round(economics.reference, 2) if economics.reference else None, **view}


@blp.route("/pricing/suggestions")
class Suggestions(MethodView):
    @blp.arguments(SuggestionsArgsSchema, location="query")
    @blp.response(200, SuggestionsSchema)
    def get(self, args):
        """Every item's advice, largest expected profit gain first (or filtered by action)."""
        loaded = _active()
        curves = loaded.model
        session = request_session()
        rules = tasks.guardrails(data.rules(session))
        rows = tasks.suggestions(session, curves, rules, args["action"], args["sort"])
        return {"model_version": loaded.version, "as_of": curves.as_of.date().isoformat(), "rules": rules.__dict__,
                "items": rows[:args["limit"]]}


@blp.route("/pricing/simulate")
class Simulate(MethodView):
    @blp.arguments(SimulateSchema)
    @blp.response(200)
    def post(self, args):
        """Units, revenue and profit at a proposed price, with 90% bands from the elasticity's interval."""
        loaded = _active()
        curves = loaded.model
        k, price, cost, observations = _item(curves, args["item_id"])
        rivals = competitors.latest(observations)
        economics = tasks.economics(curves, k, price, cost, rivals["price"] if not rivals.empty else pd.Series())
        if not (economics.price / ABSURD_FACTOR <= args["price"] <= economics.price * ABSURD_FACTOR):
            low, high = f"{economics.price / ABSURD_FACTOR:.2f}", f"{economics.price * ABSURD_FACTOR:.2f}"
            raise InvalidInput(t("pricing.absurd_price", price=args["price"], factor=ABSURD_FACTOR,
                                 current=f"{economics.price:.2f}"),
                               errors={"price": [t("pricing.price_between", low=low, high=high)]})
        answer = simulate(economics, args["price"], args["days"])
        answer.update(item_id=args["item_id"], model_version=loaded.version, elasticity=_elasticity(curves, k))
        if economics.cost is None:
            answer["note"] = t("pricing.no_cost_profit")
        return answer


@blp.route("/pricing/competitors")
class Competitors(MethodView):
    @blp.response(200, CompetitorsSchema)
    def get(self):
        """Price index per category against the cheapest rival, and the items being undercut now."""
        session = request_session()
        share = float(data.rules(session).get("undercut_share", competitors.DEFAULT_UNDERCUT_SHARE))
        loaded = MODELS.get(current_shop_id(), current_app.config["SETTINGS"])
        catalogue = data.catalogue(session)
        ours = tasks.our_prices(catalogue, loaded.model if loaded else None)
        observations = data.competitor_prices(session)
        categories = catalogue.set_index("item_id")["category"]
        return {"undercut_share": share,
                "categories": competitors.category_index(ours, categories, observations),
                "undercuts": competitors.undercuts(ours, observations, share)}


@blp.route("/pricing/rules")
class Rules(MethodView):
    @blp.response(200, RulesSchema)
    def get(self):
        """The shop's guardrails (unset ones take the defaults of docs/pricing.md)."""
        stored = data.rules(request_session())
        return {**{k: v for k, v in tasks.guardrails(stored).__dict__.items()}, **stored}

    @blp.arguments(RulesSchema)
    @blp.response(200, RulesSchema)
    def put(self, args):
        """Set guardrails; fields left out keep their current value."""
        session = request_session()
        merged = {**data.rules(session), **args}
        data.save_rules(session, current_shop_id(), merged)
        session.commit()
        return {**tasks.guardrails(merged).__dict__, **merged}
