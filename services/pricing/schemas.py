"""Request and response schemas of the pricing service."""

import marshmallow as ma

from shared.i18n import LazyText
from shared.schemas import StrictSchema


class ElasticitySchema(ma.Schema):
    value = ma.fields.Float()
    ci_low = ma.fields.Float(metadata={"description": "90% interval"})
    ci_high = ma.fields.Float()
    n_obs = ma.fields.Integer(metadata={"description": "usable days (listed, not out of stock, price known)"})
    price_points = ma.fields.Integer(metadata={"description": "distinct prices sold at"})
    units = ma.fields.Float(metadata={"description": "units sold in the estimation window"})
    own_estimate = ma.fields.Float(allow_none=True, metadata={"description": "before pooling toward the category"})
    method = ma.fields.String(metadata={"enum": ["pooled", "borrowed_category", "borrowed_shop", "prior"]})
    note = ma.fields.String()


class SuggestionSchema(ma.Schema):
    title = ma.fields.String(allow_none=True, metadata={"description": "the catalogue title, if any"})
    price = ma.fields.Float()
    current_price = ma.fields.Float()
    action = ma.fields.String(metadata={"enum": ["raise", "lower", "hold"]})
    range = ma.fields.List(ma.fields.Float(), metadata={"description": "the prices the guardrails allowed"})
    objective = ma.fields.String(metadata={"enum": ["profit", "revenue"]})
    expected_units = ma.fields.Float(metadata={"description": "per day, at the suggested price"})
    expected_units_now = ma.fields.Float()
    expected_profit_change_pct = ma.fields.Float(allow_none=True)
    expected_revenue_change_pct = ma.fields.Float()
    expected_profit_gain_per_day = ma.fields.Float(allow_none=True)
    confidence = ma.fields.Float(metadata={"description": "P(the move beats the current price)"})
    suggested_if_confident = ma.fields.Float()
    reason = ma.fields.String()
    note = ma.fields.String()
    suggestion_id = ma.fields.String(metadata={"description": "to accept or reject this advice: POST /v1/decisions"})


class ItemPricingSchema(ma.Schema):
    item_id = ma.fields.String()
    model_version = ma.fields.Integer()
    as_of = ma.fields.String()
    current_price = ma.fields.Float()
    cost = ma.fields.Float(allow_none=True)
    elasticity = ma.fields.Nested(ElasticitySchema)
    suggestion = ma.fields.Nested(SuggestionSchema)
    competitors = ma.fields.List(ma.fields.Dict())
    price_index = ma.fields.Float(allow_none=True, metadata={"description": "our price ÷ the cheapest rival's"})
    reference_price = ma.fields.Float(allow_none=True)


class SuggestionsArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=1000))
    action = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["raise", "lower", "hold", "change"]))
    sort = ma.fields.String(load_default="expected_profit_gain",
                            validate=ma.validate.OneOf(["expected_profit_gain", "expected_profit_change_pct",
                                                        "confidence"]))


class SuggestionsSchema(ma.Schema):
    model_version = ma.fields.Integer()
    as_of = ma.fields.String()
    rules = ma.fields.Dict()
    items = ma.fields.List(ma.fields.Dict())


class SimulateSchema(StrictSchema):
    item_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    price = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, min_inclusive=False,
                                                                     error=LazyText("pricing.price_positive")))
    days = ma.fields.Integer(load_default=28, validate=ma.validate.Range(min=1, max=365))


class RulesSchema(StrictSchema):
    max_step = ma.fields.Float(validate=ma.validate.Range(min=0.01, max=0.5),
                               metadata={"description": "largest change per step, as a share (default 0.10)"})
    min_margin = ma.fields.Float(validate=ma.validate.Range(min=0, max=0.95),
                                 metadata={"description": "(price − cost) / price at least (default 0.10)"})
    allow_above_reference = ma.fields.Boolean(metadata={"description": "may exceed the highest rival / list price"})
    endings = ma.fields.List(ma.fields.Integer(validate=ma.validate.Range(min=0, max=9)),
                             validate=ma.validate.Length(min=1, max=10),
                             metadata={"description": "allowed last digits (default [9, 8])"})
    min_confidence = ma.fields.Float(validate=ma.validate.Range(min=0.5, max=0.99))
    min_gain = ma.fields.Float(validate=ma.validate.Range(min=0, max=0.5))
    undercut_share = ma.fields.Float(validate=ma.validate.Range(min=0, max=0.9),
                                     metadata={"description": "alert when a rival is this much cheaper (default 0.05)"})


class CompetitorsSchema(ma.Schema):
    undercut_share = ma.fields.Float()
    categories = ma.fields.List(ma.fields.Dict())
    undercuts = ma.fields.List(ma.fields.Dict())
