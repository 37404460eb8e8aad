"""Request and response schemas of the decisions service."""

from __future__ import annotations

from datetime import date, datetime

import marshmallow as ma

from shared.i18n import t
from shared.models import DECISION_KINDS, DECISION_STATUSES
from shared.schemas import PageArgsSchema, StrictSchema


class PriceValueSchema(StrictSchema):
    price = ma.fields.Float(validate=ma.validate.Range(min=0, min_inclusive=False), metadata={
        "description": "the new price (default: the suggested one)"})


class RestockValueSchema(StrictSchema):
    quantity = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=10_000_000), metadata={
        "description": "units to order (default: the suggested reorder quantity)"})
    lead_time_days = ma.fields.Integer(validate=ma.validate.Range(min=0, max=365), metadata={
        "description": "the supplier's lead time (default: the item's)"})
    supplier = ma.fields.String(validate=ma.validate.Length(max=200))


class CampaignValueSchema(StrictSchema):
    offer = ma.fields.String(validate=ma.validate.Length(max=500), metadata={"description": "e.g. 满199减20"})
    channel = ma.fields.String(validate=ma.validate.Length(max=50), metadata={"description": "sms, coupon, push..."})


VALUE_SCHEMAS = {"price_change": PriceValueSchema, "restock": RestockValueSchema, "campaign": CampaignValueSchema}


class LocalTimeField(ma.fields.Field):
    """An ISO date (a shop-local day) or date-time (with or without an offset; without, read in
    the shop's zone by the use case)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise ma.ValidationError(t("decisions.bad_time"))
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ma.ValidationError(t("decisions.bad_time")) from None


class DecisionCreateSchema(StrictSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(DECISION_KINDS))
    status = ma.fields.String(load_default="accepted", validate=ma.validate.OneOf(DECISION_STATUSES))
    item_id = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    segment = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    suggestion_id = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    value = ma.fields.Dict(load_default=dict, metadata={
        "description": "price_change: {price}; restock: {quantity, lead_time_days, supplier}; "
                       "campaign: {offer, channel}. Left out: what the advice said."})
    effective_at = LocalTimeField(load_default=None, metadata={
        "description": "when it takes effect (default: today); outcomes are measured from this day"})
    holdout_share = ma.fields.Float(load_default=None, validate=ma.validate.Range(min=0, max=0.5), metadata={
        "description": "campaigns: share of the segment kept out as the control (default 0.1)"})
    outcome_window_days = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=7, max=90),
                                            metadata={"description": "days measured after the effective day "
                                                                     "(default 14)"})
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=1000))

    @ma.validates_schema
    def _value_fits_kind(self, data, **kwargs):
        kind = data.get("kind")
        if kind in VALUE_SCHEMAS:
            errors = VALUE_SCHEMAS[kind]().validate(data.get("value") or {})
            if errors:
                raise ma.ValidationError({"value": errors})
        if data.get("holdout_share") is not None and kind != "campaign":
            raise ma.ValidationError({"holdout_share": [t("decisions.holdout_campaign_only")]})

    @ma.post_load
    def _typed_value(self, data, **kwargs):
        data["value"] = VALUE_SCHEMAS[data["kind"]]().load(data.get("value") or {})
        return data


class DecisionSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": list(DECISION_KINDS)})
    status = ma.fields.String(metadata={"enum": list(DECISION_STATUSES)})
    item_id = ma.fields.String(allow_none=True)
    item_title = ma.fields.String(allow_none=True, metadata={"description": "the item's catalogue title, if any"})
    segment = ma.fields.String(allow_none=True)
    suggestion_id = ma.fields.String(allow_none=True)
    decided_by = ma.fields.String(metadata={"description": "user:<email> or key:<id>"})
    decided_at = ma.fields.String()
    effective_on = ma.fields.String(metadata={"description": "the shop-local day it takes effect"})
    outcome_window_days = ma.fields.Integer()
    outcome_due_on = ma.fields.String(metadata={"description": "last day of the window; measured once data covers it"})
    holdout_share = ma.fields.Float(allow_none=True)
    advice = ma.fields.Dict(metadata={"description": "the advice as it was: service, model_version, suggested, "
                                                     "predicted (with its interval)"})
    value = ma.fields.Dict(metadata={"description": "what was decided (may differ from the advice)"})
    note = ma.fields.String(allow_none=True)
    outcome = ma.fields.Dict(allow_none=True, metadata={
        "description": "null until measured; then window, measured_at, verdict, observed, predicted, interval"})
    members = ma.fields.Dict(metadata={"description": "campaigns: {treatment, holdout} counts"})


class DecisionListArgsSchema(PageArgsSchema):
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(DECISION_KINDS))
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(DECISION_STATUSES))
    item_id = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64))
    segment = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=64))
    measured = ma.fields.Boolean(load_default=None)


class DecisionPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DecisionSchema))
    next_cursor = ma.fields.String(allow_none=True)


class MembersArgsSchema(ma.Schema):
    group = ma.fields.String(load_default="treatment", validate=ma.validate.OneOf(["treatment", "holdout"]))
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    limit = ma.fields.Integer(load_default=1000, validate=ma.validate.Range(min=1, max=10000))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


class MembersPageSchema(ma.Schema):
    decision_id = ma.fields.Integer()
    group = ma.fields.String()
    items = ma.fields.List(ma.fields.String(), metadata={"description": "pseudonymous user ids"})
    next_cursor = ma.fields.String(allow_none=True)


class AuditArgsSchema(ma.Schema):
    service = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["pricing", "forecasting", "insights"]))


class AuditSchema(ma.Schema):
    models = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "per service and model version: measured, conclusive, held_up, held_up_share, "
                       "mean_predicted_effect, mean_realised_effect"})
    services = ma.fields.Dict()
