"""Request and response schemas of the forecasting service."""

import marshmallow as ma

from services.forecasting.forecasts import DEFAULT_HORIZON
from services.forecasting.model import HORIZON_MAX


class HorizonArgsSchema(ma.Schema):
    horizon = ma.fields.Integer(load_default=DEFAULT_HORIZON, validate=ma.validate.Range(min=1, max=HORIZON_MAX))


class ItemForecastArgsSchema(HorizonArgsSchema):
    history_days = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=365), metadata={
        "description": "also return this many days of actual units sold up to as_of (for a chart)"})


class HistoryPointSchema(ma.Schema):
    date = ma.fields.String()
    units = ma.fields.Float()


class PointSchema(ma.Schema):
    date = ma.fields.String()
    p10 = ma.fields.Float()
    p50 = ma.fields.Float()
    p90 = ma.fields.Float()
    expected = ma.fields.Float(metadata={"description": "the day's mean demand: what sums to total.expected (the p50 "
                                                        "of an item that usually sells nothing is 0)"})


class ExplanationSchema(ma.Schema):
    feature = ma.fields.String()
    contribution = ma.fields.Float(metadata={
        "description": "share of the p50 over the horizon (of the features' summed sway when the p50 is near 0)"})
    text = ma.fields.String()


class ItemForecastSchema(ma.Schema):
    item_id = ma.fields.String()
    title = ma.fields.String(allow_none=True, metadata={"description": "the catalogue title, if any"})
    model_version = ma.fields.Integer()
    as_of = ma.fields.String(metadata={"description": "the shop's last day of sales data; forecasts start after it"})
    points = ma.fields.List(ma.fields.Nested(PointSchema))
    history = ma.fields.List(ma.fields.Nested(HistoryPointSchema), metadata={
        "description": "with ?history_days=: units sold per day up to as_of (sales as in docs/imports.md)"})
    total = ma.fields.Dict()
    explanation = ma.fields.List(ma.fields.Nested(ExplanationSchema))
    note = ma.fields.String(allow_none=True)


class CategoryOutlookSchema(ma.Schema):
    model_version = ma.fields.Integer()
    as_of = ma.fields.String()
    horizon = ma.fields.Integer()
    categories = ma.fields.List(ma.fields.Dict())


class ReplenishmentArgsSchema(ma.Schema):
    service_level = ma.fields.Float(load_default=0.95, validate=ma.validate.Range(min=0.5, max=0.999))
    lead_time_days = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=90),
                                       metadata={"description": "overrides each item's own lead time"})
    item_id = ma.fields.String(load_default=None)
    risk = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["high", "medium", "low"]))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=1000))


class PlanSchema(ma.Schema):
    item_id = ma.fields.String()
    title = ma.fields.String(allow_none=True, metadata={"description": "the catalogue title, if any"})
    on_hand = ma.fields.Integer()
    on_order = ma.fields.Integer()
    lead_time_days = ma.fields.Integer()
    forecast_over_lead_time = ma.fields.Float()
    safety_stock = ma.fields.Float()
    reorder_qty = ma.fields.Integer()
    stockout_date = ma.fields.String(allow_none=True)
    risk = ma.fields.String(metadata={"enum": ["high", "medium", "low"]})
    days_of_cover = ma.fields.Integer(allow_none=True, metadata={
        "description": "whole days the stock lasts after as_of (it runs out on stockout_date); "
                       "null: it lasts beyond the forecast"})
    daily_demand = ma.fields.Float(metadata={"description": "mean expected units a day over the lead time"})
    suggestion_id = ma.fields.String(metadata={"description": "to accept this plan: POST /v1/decisions"})


class ReplenishmentSchema(ma.Schema):
    model_version = ma.fields.Integer()
    as_of = ma.fields.String()
    service_level = ma.fields.Float()
    items = ma.fields.List(ma.fields.Nested(PlanSchema))


class BacktestSchema(ma.Schema):
    model_version = ma.fields.Integer()
    cutoffs = ma.fields.List(ma.fields.String())
    horizons = ma.fields.Dict(metadata={"description": "per horizon: wape, mase, bias (and coverage) of the "
                                                       "model, seasonal_naive and moving_average"})
    overall = ma.fields.Dict()
