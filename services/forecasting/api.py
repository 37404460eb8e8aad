"""HTTP routes of the forecasting service (API.md, "Forecasting")."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.forecasting import data
from services.forecasting.forecasts import Forecasts, UnknownItem
from services.forecasting.replenish import plan_item
from services.forecasting.schemas import (
    BacktestSchema,
    CategoryOutlookSchema,
    HorizonArgsSchema,
    ItemForecastSchema,
    ReplenishmentArgsSchema,
    ReplenishmentSchema,
)
from services.forecasting.tasks import DEFAULT_LEAD_TIME_DAYS
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.auth import current_shop_id
from shared.db import request_session
from shared.errors import Conflict, NotFound
from shared.i18n import t

blp = Blueprint("forecasting", __name__, url_prefix="/v1", description="Demand forecasts, backtests and replenishment")
MODELS: ActiveModelCache[Forecasts] = ActiveModelCache(
    "forecasting", lambda artifact: Forecasts.from_artifact(artifact.arrays, artifact.files, artifact.params))
RISK_ORDER = {"high": 0, "medium": 1, "low": 2}


def _active() -> LoadedModel[Forecasts]:
    loaded = MODELS.get(current_shop_id(), current_app.config["SETTINGS"])
    if loaded is None:
        raise Conflict(t("forecasting.no_model"))
    return loaded


@blp.route("/forecasts/items/<path:item_id>")
class ItemForecast(MethodView):
    @blp.arguments(HorizonArgsSchema, location="query")
    @blp.response(200, ItemForecastSchema)
    def get(self, args, item_id):
        """Daily p10/p50/p90 demand for an item from the day after the shop's last data, explained."""
        loaded = _active()
        try:
            answer = loaded.model.item(item_id, args["horizon"])
        except UnknownItem:
            raise NotFound(t("forecasting.unknown_item", item_id=item_id)) from None
        return {**answer, "model_version": loaded.version}


@blp.route("/forecasts/categories")
class CategoryOutlook(MethodView):
    @blp.arguments(HorizonArgsSchema, location="query")
    @blp.response(200, CategoryOutlookSchema)
    def get(self, args):
        """Categories ranked by forecast growth over the horizon, with the items driving it."""
        loaded = _active()
        return {"model_version": loaded.version, "as_of": loaded.model.as_of.isoformat(), "horizon": args["horizon"],
                "categories": loaded.model.categories_outlook(args["horizon"])}


@blp.route("/replenishment")
class Replenishment(MethodView):
    @blp.arguments(ReplenishmentArgsSchema, location="query")
    @blp.response(200, ReplenishmentSchema)
    def get(self, args):
        """How much to reorder per item, when it runs out, and how risky that is."""
        loaded = _active()
        forecasts = loaded.model
        session = request_session()
        stock = data.latest_stock(session)
        packs = _pack_sizes(data.catalogue(session))
        if args["item_id"]:
            if args["item_id"] not in forecasts.index:
                raise NotFound(t("forecasting.unknown_item", item_id=args["item_id"]))
            stock = stock[stock["item_id"] == args["item_id"]] if not stock.empty else stock
            if stock.empty:
                stock = stock.reindex([0]).assign(item_id=args["item_id"], on_hand=0, on_order=0, lead_time_days=None)
        plans = []
        for row in stock.itertuples():
            i = forecasts.index.get(str(row.item_id))
            if i is None:
                continue
            q = forecasts.quantiles[i]
            lead = args["lead_time_days"] or _int(row.lead_time_days) or DEFAULT_LEAD_TIME_DAYS
            plans.append(plan_item(str(row.item_id), q[:, 0], q[:, 1], q[:, 2], _int(row.on_hand) or 0,
                                   _int(row.on_order) or 0, lead, args["service_level"], forecasts.as_of,
                                   packs.get(str(row.item_id))))
        if args["risk"]:
            plans = [p for p in plans if p.risk == args["risk"]]
        plans.sort(key=lambda p: (RISK_ORDER[p.risk], p.stockout_date or "9999", -p.reorder_qty))
        return {"model_version": loaded.version, "as_of": forecasts.as_of.isoformat(),
                "service_level": args["service_level"], "items": plans[:args["limit"]]}


@blp.route("/forecasts/backtest")
class Backtest(MethodView):
    @blp.response(200, BacktestSchema)
    def get(self):
        """The active model's rolling-origin backtest: WAPE, MASE, bias vs seasonal-naive and moving average."""
        loaded = _active()
        report = loaded.model.backtest
        return {"model_version": loaded.version, **report}


def _int(value) -> int | None:
    try:
        return None if value is None or value != value else int(value)
    except (TypeError, ValueError):
        return None


def _pack_sizes(catalogue) -> dict[str, int]:
    packs = {}
    for item_id, attributes in zip(catalogue["item_id"], catalogue["attributes"], strict=True):
        if isinstance(attributes, dict) and _int(attributes.get("pack_size")):
            packs[str(item_id)] = _int(attributes["pack_size"])
    return packs
