"""Request and response schemas of the sentiment service."""

import marshmallow as ma

from shared.schemas import StrictSchema

MAX_TEXTS = 1000


class AnalyzeSchema(StrictSchema):
    texts = ma.fields.List(ma.fields.String(), required=True,
                           validate=ma.validate.Length(min=1, max=MAX_TEXTS,
                                                       error=f"send between 1 and {MAX_TEXTS} texts per call"),
                           metadata={"description": f"review texts, at most {MAX_TEXTS}; each is scored on its "
                                                    "first 1,000 characters"})


class AspectSchema(ma.Schema):
    aspect = ma.fields.String()
    label = ma.fields.String(metadata={"enum": ["positive", "negative", "neutral"]})
    clause = ma.fields.String(metadata={"description": "the part of the text the aspect was read from"})


class ResultSchema(ma.Schema):
    label = ma.fields.String(metadata={"enum": ["positive", "negative", "neutral"]})
    score = ma.fields.Float(metadata={"description": "calibrated P(positive)"})
    aspects = ma.fields.List(ma.fields.Nested(AspectSchema))
    note = ma.fields.String(metadata={"description": "why the answer is weak or partial (truncated, not Chinese...)"})


class AnalyzeResultSchema(ma.Schema):
    model_version = ma.fields.Integer(metadata={"description": "0 = the default model; else the shop's own"})
    results = ma.fields.List(ma.fields.Nested(ResultSchema))


class ComplaintSchema(ma.Schema):
    aspect = ma.fields.String()
    count = ma.fields.Integer()
    share_of_negative_reviews = ma.fields.Float()
    examples = ma.fields.List(ma.fields.String())
    example_clauses = ma.fields.List(ma.fields.String(), metadata={
        "description": "per example, the clause the aspect was read from ('' when cut off)"})


class TrendPointSchema(ma.Schema):
    week = ma.fields.String(metadata={"description": "Monday of the week (shop's local time)"})
    reviews = ma.fields.Integer()
    positive_rate = ma.fields.Float(allow_none=True)


class ItemSentimentSchema(ma.Schema):
    item_id = ma.fields.String()
    title = ma.fields.String(allow_none=True, metadata={"description": "the catalogue title, if any"})
    reviews = ma.fields.Integer()
    scored = ma.fields.Integer()
    positive_rate = ma.fields.Float(allow_none=True, metadata={"description": "positive / (positive + negative)"})
    labels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    trend = ma.fields.List(ma.fields.Nested(TrendPointSchema))
    top_complaints = ma.fields.List(ma.fields.Nested(ComplaintSchema))
    top_praise = ma.fields.List(ma.fields.Nested(ComplaintSchema))
    note = ma.fields.String()


class CategorySentimentSchema(ma.Schema):
    category = ma.fields.String()
    reviews = ma.fields.Integer()
    positive_rate = ma.fields.Float(allow_none=True)
    trend = ma.fields.List(ma.fields.Nested(TrendPointSchema))
    top_complaints = ma.fields.List(ma.fields.Nested(ComplaintSchema))


class CategoriesSentimentSchema(ma.Schema):
    weeks = ma.fields.Integer()
    as_of = ma.fields.String(allow_none=True, metadata={"description": "the shop's latest scored review day"})
    categories = ma.fields.List(ma.fields.Nested(CategorySentimentSchema), metadata={
        "description": "lowest positive rate first; reviews of the last `weeks` weeks"})
    items = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "items with at least 5 reviews in the weeks: item_id, title, category, reviews, positive_rate "
                       "(lowest first)"})


class TrendArgsSchema(ma.Schema):
    weeks = ma.fields.Integer(load_default=12, validate=ma.validate.Range(min=1, max=104))


class AlertsArgsSchema(ma.Schema):
    window_days = ma.fields.Integer(load_default=14, validate=ma.validate.Range(min=3, max=90))
    baseline_days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(min=14, max=730))
    min_negative = ma.fields.Integer(load_default=5, validate=ma.validate.Range(min=2, max=1000))


class AlertsSchema(ma.Schema):
    as_of = ma.fields.String(allow_none=True, metadata={"description": "the shop's latest review day"})
    rules = ma.fields.Dict()
    alerts = ma.fields.List(ma.fields.Dict())


class LexiconSchema(StrictSchema):
    aspects = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(min=1, max=20)),
        values=ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=20)),
                              validate=ma.validate.Length(max=200)),
        required=True, validate=ma.validate.Length(max=50),
        metadata={"description": 'extra terms per aspect, e.g. {"物流": ["菜鸟"], "电池": ["电池", "续航"]}; '
                                 "a new name starts a new aspect"})
