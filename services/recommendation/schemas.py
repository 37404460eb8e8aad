"""Request and response schemas of the recommendation service."""

import marshmallow as ma

from shared.schemas import StrictSchema


class UserArgsSchema(ma.Schema):
    n = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))
    category = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=200))
    exclude_seen = ma.fields.Boolean(load_default=True)


class HistoryArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=200))


class HistorySchema(ma.Schema):
    user_id = ma.fields.String()
    events = ma.fields.List(ma.fields.Dict(), metadata={"description": "item_id, title, type (pv/fav/cart/buy), ts"})
    purchases = ma.fields.List(ma.fields.Dict(), metadata={"description": "item_id, title, units, created_at of sales"})


class ItemArgsSchema(ma.Schema):
    n = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))


class PopularArgsSchema(ma.Schema):
    n = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))
    category = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=200))
    window_days = ma.fields.Integer(load_default=7, validate=ma.validate.Range(min=1, max=90))


class SessionSchema(StrictSchema):
    item_ids = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=64)), required=True,
                              validate=ma.validate.Length(min=1, max=50),
                              metadata={"description": "items the visitor viewed, oldest first"})
    n = ma.fields.Integer(load_default=10, validate=ma.validate.Range(min=1, max=100))


class PickSchema(ma.Schema):
    item_id = ma.fields.String()
    title = ma.fields.String(allow_none=True, metadata={"description": "the catalogue title at training"})
    score = ma.fields.Float()
    reason = ma.fields.String(metadata={"description": "why this item, derived from the model that picked it"})


class RecommendationsSchema(ma.Schema):
    user_id = ma.fields.String(metadata={"description": "as asked (users only)"})
    item_id = ma.fields.String(metadata={"description": "as asked (item routes only)"})
    model_version = ma.fields.Integer(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(PickSchema))
    fallback = ma.fields.String(allow_none=True, metadata={
        "description": "null, popular, category_popular (users); similar, content (items)"})
    message = ma.fields.String(allow_none=True)


class TrainArgsSchema(StrictSchema):
    holdout_days = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=0.5, max=90))
    params = ma.fields.Dict(load_default=None, metadata={"description": "ALS and weighting parameters"})


class TuneSchema(StrictSchema):
    budget_s = ma.fields.Float(load_default=300, validate=ma.validate.Range(min=10, max=3600))
    max_trials = ma.fields.Integer(load_default=12, validate=ma.validate.Range(min=1, max=100))
    seed = ma.fields.Integer(load_default=7)
