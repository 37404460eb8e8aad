"""Request and response schemas of the insights service."""

from datetime import date

import marshmallow as ma

from shared.schemas import StrictSchema

# The years a question can name ("20\\d\\d年") and the shopping calendar knows (its lunar tables end in 2099).
EARLIEST_AS_OF, LATEST_AS_OF = date(2000, 1, 1), date(2099, 12, 31)


class AskSchema(StrictSchema):
    question = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000),
                                metadata={"description": "a Chinese or English question, e.g. 本月热销商品排名"})
    as_of = ma.fields.Date(load_default=None, validate=ma.validate.Range(min=EARLIEST_AS_OF, max=LATEST_AS_OF),
                           metadata={"description": "the day relative times (本月, 上周) are read against; "
                                                    "default today, shop time"})


class AnswerSchema(ma.Schema):
    question = ma.fields.String()
    interpretation = ma.fields.Dict(metadata={
        "description": "the typed query: metric, dimension, time_range, shape (total|ranking|trend|share|comparison|"
                       "compare_values|argmax|argmin|route), top_n, sort, filters, values, compare_range, "
                       "day_reading (day|season), time_default, linked (shop values found and how)"})
    columns = ma.fields.List(ma.fields.String())
    rows = ma.fields.List(ma.fields.Dict())
    chart = ma.fields.Dict(allow_none=True, metadata={"description": "a Vega-Lite v5 spec with the data inline"})
    summary = ma.fields.String()
    change_pct = ma.fields.Float(allow_none=True)
    route = ma.fields.Dict(metadata={"description": "for questions a model answers: its service and route"})
    reading = ma.fields.String(metadata={"description": "how the question was read, in words (按 2025-12-12 当天 …)"})
    alternatives = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "other readings worth offering: {question, reading} (a festival's campaign vs its day)"})


class SegmentsArgsSchema(ma.Schema):
    trend_months = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=24), metadata={
        "description": "each RFM group's buyers and revenue per month over this many months up to as_of"})


class SegmentsSchema(ma.Schema):
    model_version = ma.fields.Integer()
    as_of = ma.fields.String()
    customers = ma.fields.Integer()
    rfm = ma.fields.List(ma.fields.Dict())
    clusters = ma.fields.Dict()


class MembersArgsSchema(ma.Schema):
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=10000))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0))


class AnomaliesArgsSchema(ma.Schema):
    metric = ma.fields.String(load_default="revenue",
                              validate=ma.validate.OneOf(["revenue", "orders", "units", "refund_rate", "conversion"]))
    days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(min=7, max=730))
    category = ma.fields.String(load_default=None)
