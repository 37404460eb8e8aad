"""HTTP routes of the pricing service (docs/pricing.md): parse, call one use case in ``service``, reply."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.pricing import service
from services.pricing.schemas import (
    CompetitorsSchema,
    ItemPricingSchema,
    RulesSchema,
    SimulateSchema,
    SuggestionsArgsSchema,
    SuggestionsSchema,
)
from shared.auth import current_shop_id
from shared.db import request_session

blp = Blueprint("pricing", __name__, url_prefix="/v1", description="Elasticity, price advice and competitor watch")


@blp.route("/pricing/items/<path:item_id>")
class ItemPricing(MethodView):
    @blp.response(200, ItemPricingSchema)
    def get(self, item_id):
        """Elasticity with its interval and method, the price advice and the competitors."""
        return service.item_pricing(request_session(), current_shop_id(), current_app.config["SETTINGS"], item_id)


@blp.route("/pricing/suggestions")
class Suggestions(MethodView):
    @blp.arguments(SuggestionsArgsSchema, location="query")
    @blp.response(200, SuggestionsSchema)
    def get(self, args):
        """Every item's advice, largest expected profit gain first (or filtered by action)."""
        return service.suggestion_list(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                       args["action"], args["sort"], args["limit"])


@blp.route("/pricing/simulate")
class Simulate(MethodView):
    @blp.arguments(SimulateSchema)
    @blp.response(200)
    def post(self, args):
        """Units, revenue and profit at a proposed price, with 90% bands from the elasticity's interval."""
        return service.simulate_price(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                      args["item_id"], args["price"], args["days"])


@blp.route("/pricing/competitors")
class Competitors(MethodView):
    @blp.response(200, CompetitorsSchema)
    def get(self):
        """Price index per category against the cheapest rival, and the items being undercut now."""
        return service.competitor_watch(request_session(), current_shop_id(), current_app.config["SETTINGS"])


@blp.route("/pricing/rules")
class Rules(MethodView):
    @blp.response(200, RulesSchema)
    def get(self):
        """The shop's guardrails (unset ones take the defaults of docs/pricing.md)."""
        return service.current_rules(request_session())

    @blp.arguments(RulesSchema)
    @blp.response(200, RulesSchema)
    def put(self, args):
        """Set guardrails; fields left out keep their current value."""
        return service.update_rules(request_session(), current_shop_id(), args)
