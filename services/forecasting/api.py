"""HTTP routes of the forecasting service (API.md)."""

from flask_smorest import Blueprint

blp = Blueprint("forecasting", __name__, url_prefix="/v1", description="Demand forecasts, backtests and replenishment")
