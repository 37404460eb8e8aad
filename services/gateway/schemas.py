"""Request and response schemas of the platform routes."""

from __future__ import annotations

import marshmallow as ma

from shared import i18n
from shared.auth import USER_TOKEN_HEADER, USER_TOKEN_MAX_TTL_S
from shared.config import TRAINABLE_SERVICES
from shared.i18n import DEFAULT_LANGUAGE, LANGUAGES, LazyText
from shared.models import ALERT_STATUSES, JOB_STATUSES, ROLES
from shared.schemas import JobSchema, PageArgsSchema, StrictSchema, page_schema, validate_timezone
from shared.webhooks import EVENTS


class ShopCreateSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    timezone = ma.fields.String(load_default="Asia/Shanghai", validate=validate_timezone)
    currency = ma.fields.String(load_default="CNY", validate=ma.validate.Regexp(
        r"^[A-Z]{3}$", error=LazyText("validation.currency")))
    language = ma.fields.String(load_default=DEFAULT_LANGUAGE, validate=ma.validate.OneOf(LANGUAGES), metadata={
        "description": "what answers, reasons and errors are written in when a request sends no Accept-Language"})


class ShopUpdateSchema(StrictSchema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    timezone = ma.fields.String(validate=validate_timezone)
    language = ma.fields.String(validate=ma.validate.OneOf(LANGUAGES))


class ShopSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    timezone = ma.fields.String()
    currency = ma.fields.String()
    language = ma.fields.String()


class NewKeySchema(ma.Schema):
    id = ma.fields.Integer()
    key = ma.fields.String(metadata={"description": "shown once; only its hash is stored"})
    role = ma.fields.String()


class ShopCreatedSchema(ma.Schema):
    shop = ma.fields.Nested(ShopSchema)
    api_key = ma.fields.Nested(NewKeySchema)


class KeyCreateSchema(StrictSchema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))


class UserTokenCreateSchema(StrictSchema):
    user_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256), metadata={
        "description": "the shopper, as the shop's own systems name them (the id sent with events)"})
    ttl_seconds = ma.fields.Integer(load_default=3600, validate=ma.validate.Range(min=60, max=USER_TOKEN_MAX_TTL_S))


class UserTokenSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": f"send it as the {USER_TOKEN_HEADER} header"})
    user_id = ma.fields.String()
    expires_at = ma.fields.DateTime()
    header = ma.fields.String()


class KeySchema(ma.Schema):
    id = ma.fields.Integer()
    role = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "first characters of the key, to tell keys apart"})
    created_at = ma.fields.DateTime()


class KeyListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(KeySchema))


class JobListArgsSchema(PageArgsSchema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(JOB_STATUSES))
    kind = ma.fields.String(load_default=None)


JobPageSchema = page_schema(JobSchema, "JobPage")


class RetrainSchema(StrictSchema):
    models = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf([*TRAINABLE_SERVICES, "all"])),
        required=True, validate=ma.validate.Length(min=1),
        metadata={"description": 'services to retrain, or ["all"]'},
    )


class RetrainSkippedSchema(ma.Schema):
    service = ma.fields.String()
    reason = ma.fields.String()


class RetrainResultSchema(ma.Schema):
    jobs = ma.fields.List(ma.fields.Nested(JobSchema))
    skipped = ma.fields.List(ma.fields.Nested(RetrainSkippedSchema),
                             metadata={"description": "services asked for that have nothing to train"})


class ModelVersionSchema(ma.Schema):
    id = ma.fields.Integer()
    service = ma.fields.String()
    version = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["training", "ready", "active", "retired", "failed"]})
    params = ma.fields.Dict()
    metrics = ma.fields.Dict()
    trained_at = ma.fields.String(allow_none=True)
    promoted_at = ma.fields.String(allow_none=True)
    data_window = ma.fields.Dict()
    job_id = ma.fields.String(allow_none=True)


class ModelListArgsSchema(PageArgsSchema):
    service = ma.fields.String(load_default=None, validate=ma.validate.OneOf(TRAINABLE_SERVICES))


ModelPageSchema = page_schema(ModelVersionSchema, "ModelVersionPage")


class WebhookCreateSchema(StrictSchema):
    url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    events = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf([*EVENTS, "*"])), required=True,
                            validate=ma.validate.Length(min=1))
    secret = ma.fields.String(required=True, validate=ma.validate.Length(min=16, max=200),
                              metadata={"description": "HMAC-SHA256 key for X-Shopmind-Signature"})


class WebhookSchema(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class WebhookListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WebhookSchema))


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    event = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = ma.fields.Integer()
    last_status_code = ma.fields.Integer(allow_none=True)
    # Kept as a catalogue message where it is ours: read in the reader's language.
    last_error = ma.fields.Function(lambda d: i18n.loads_text(d.last_error), allow_none=True,
                                    metadata={"type": "string"})
    created_at = ma.fields.DateTime()
    next_attempt_at = ma.fields.DateTime()
    delivered_at = ma.fields.DateTime(allow_none=True)
    payload = ma.fields.Dict()


DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPage")


class WebhookTestSchema(ma.Schema):
    ok = ma.fields.Boolean(metadata={"description": "the receiver answered 2xx"})
    status_code = ma.fields.Integer(allow_none=True, metadata={"description": "what it answered; null if none"})
    duration_ms = ma.fields.Integer(allow_none=True, metadata={"description": "from resolving the host to the answer"})
    error = ma.fields.String(allow_none=True, metadata={"description": "why it failed, when it did"})
    delivery = ma.fields.Nested(DeliverySchema, metadata={"description": "the row added to the delivery log"})


class AlertListArgsSchema(ma.Schema):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(ALERT_STATUSES))


class AlertSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "stable while the alert lasts; a new occurrence is a new id"})
    kind = ma.fields.String(metadata={"enum": ["stockout_risk", "negative_review_spike", "kpi_anomaly",
                                               "competitor_undercut", "decision_outcome", "job_failed"]})
    subject = ma.fields.String()
    severity = ma.fields.String(metadata={"enum": ["high", "medium", "low"]})
    title = ma.fields.String()
    link = ma.fields.String(metadata={"description": "the console page to act on it"})
    since = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(metadata={"description": "the source's own record of it"})
    status = ma.fields.String(metadata={"enum": list(ALERT_STATUSES)})
    status_by = ma.fields.String(allow_none=True)
    status_at = ma.fields.String(allow_none=True)


class AlertListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AlertSchema))
    counts = ma.fields.Dict(metadata={"description": "alerts per status"})
    unavailable = ma.fields.List(ma.fields.Dict(), metadata={"description": "sources that did not answer in time"})
