"""Schemas shared by every service: jobs, list pages, and the arguments that go with them."""

from __future__ import annotations

import base64
import json
import zoneinfo

import marshmallow as ma

from shared import validation  # noqa: F401  (marshmallow's messages from the catalogue)
from shared.errors import InvalidInput
from shared.i18n import t
from shared.jobs import MAX_WAIT_S

MAX_TIMEZONE_CHARS = 64


def validate_timezone(name: str) -> None:
    """An IANA time zone name, as shops and imports give them."""
    if len(name) > MAX_TIMEZONE_CHARS:  # no zone name is this long; the file system would say why not
        raise ma.ValidationError(str(t("validation.timezone", name=name[:MAX_TIMEZONE_CHARS] + "…")))
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a directory
        raise ma.ValidationError(str(t("validation.timezone", name=name))) from None


class StrictSchema(ma.Schema):
    """Request bodies reject unknown fields, so a misspelled field is a 422 naming it."""

    class Meta:
        unknown = ma.RAISE


class JobSchema(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["queued", "running", "succeeded", "failed"]})
    progress = ma.fields.Float(metadata={"description": "0..1"})
    message = ma.fields.String(allow_none=True, metadata={"description": "what the job is doing now"})
    params = ma.fields.Dict()
    created_at = ma.fields.String()
    started_at = ma.fields.String(allow_none=True)
    finished_at = ma.fields.String(allow_none=True)
    result = ma.fields.Dict(allow_none=True)
    error = ma.fields.Dict(allow_none=True, metadata={"description": "a problem document when failed"})


class JobEnvelopeSchema(ma.Schema):
    job = ma.fields.Nested(JobSchema)


class WaitArgsSchema(ma.Schema):
    wait = ma.fields.Float(load_default=0, validate=ma.validate.Range(min=0, max=MAX_WAIT_S),
                           metadata={"description": f"seconds to wait for the job to finish (max {MAX_WAIT_S})"})


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=1000))
    cursor = ma.fields.String(load_default=None, allow_none=True)


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{"items": [...], "next_cursor": ...}`` for one item schema."""
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "next_cursor": ma.fields.String(allow_none=True),
    })


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str, *types: type) -> list:
    """The values of a cursor this API made; anything else (wrong shape or types) is a 422."""
    invalid = InvalidInput(t("validation.cursor"), errors={"cursor": [t("validation.cursor_short")]})
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise invalid from None
    if not isinstance(values, list) or len(values) != len(types):
        raise invalid
    if not all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True)):
        raise invalid
    return values
