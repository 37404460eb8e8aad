"""HTTP routes of the forecasting service (docs/forecasting.md): parse, call one use case in ``service``, reply."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.forecasting import service
from services.forecasting.schemas import (
    BacktestSchema,
    CategoryOutlookSchema,
    HorizonArgsSchema,
    ItemForecastArgsSchema,
    ItemForecastSchema,
    ReplenishmentArgsSchema,
    ReplenishmentSchema,
)
from shared.auth import current_shop_id
from shared.db import request_session

blp = Blueprint("forecasting", __name__, url_prefix="/v1", description="Demand forecasts, backtests and replenishment")


@blp.route("/forecasts/items/<path:item_id>")
class ItemForecast(MethodView):
    @blp.arguments(ItemForecastArgsSchema, location="query")
    @blp.response(200, ItemForecastSchema)
    def get(self, args, item_id):
        """Daily p10/p50/p90 demand for an item from the day after the shop's last data, explained
        (and, with `history_days`, the units it sold up to then)."""
        return service.item_forecast(request_session(), current_shop_id(), current_app.config["SETTINGS"], item_id,
                                     args["horizon"], args["history_days"])


@blp.route("/forecasts/categories")
class CategoryOutlook(MethodView):
    @blp.arguments(HorizonArgsSchema, location="query")
    @blp.response(200, CategoryOutlookSchema)
    def get(self, args):
        """Categories ranked by forecast growth over the horizon, with the items driving it."""
        return service.category_outlook(current_shop_id(), current_app.config["SETTINGS"], args["horizon"])


@blp.route("/replenishment")
class Replenishment(MethodView):
    @blp.arguments(ReplenishmentArgsSchema, location="query")
    @blp.response(200, ReplenishmentSchema)
    def get(self, args):
        """How much to reorder per item, when it runs out (days of cover), and how risky that is."""
        return service.replenishment(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                     args["service_level"], args["lead_time_days"], args["item_id"], args["risk"],
                                     args["limit"])


@blp.route("/forecasts/backtest")
class Backtest(MethodView):
    @blp.response(200, BacktestSchema)
    def get(self):
        """The active model's rolling-origin backtest: WAPE, MASE, bias vs seasonal-naive and moving average."""
        return service.backtest_report(current_shop_id(), current_app.config["SETTINGS"])
