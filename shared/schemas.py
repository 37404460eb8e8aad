"""Schemas shared by every service: jobs, list pages, and the arguments that go with them."""

from __future__ import annotations

import base64
import json
import zoneinfo
from datetime import datetime

import marshmallow as ma

from shared import (
    json_body,
    validation,  # noqa: F401  (marshmallow's messages from the catalogue)
)
from shared.errors import InvalidInput
from shared.i18n import t
from shared.jobs import MAX_WAIT_S

MAX_TIMEZONE_CHARS = 64  # the column's width; the longest IANA name has 32


def validate_timezone(name: str) -> None:
    """An IANA time zone name, as shops and imports give them."""
    if len(name) > MAX_TIMEZONE_CHARS:  # never a file name to look up (the OS refuses long ones)
        raise ma.ValidationError(str(t("validation.timezone_too_long", max=MAX_TIMEZONE_CHARS)))
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a folder
        raise ma.ValidationError(str(t("validation.timezone", name=name))) from None


class StrictSchema(ma.Schema):
    """Request bodies reject unknown fields, so a misspelled field is a 422 naming it."""

    class Meta:
        unknown = ma.RAISE


class JobSchema(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["queued", "running", "succeeded", "failed", "cancelled"]})
    progress = ma.fields.Float(metadata={"description": "0..1"})
    message = ma.fields.String(allow_none=True, metadata={"description": "what the job is doing now"})
    params = ma.fields.Dict()
    created_at = ma.fields.String()
    started_at = ma.fields.String(allow_none=True)
    finished_at = ma.fields.String(allow_none=True)
    cancel_requested_at = ma.fields.String(allow_none=True, metadata={
        "description": "when a cancel was asked for (a running job stops at its next safe point)"})
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
    """``values`` as an opaque cursor; datetimes travel as ISO 8601 text."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode()


# What a cursor may carry: row ids fit a BIGINT, and times lie where the database and Python
# can both hold them with a time zone attached (year 1 or 9999 overflows on conversion).
_CURSOR_INT = range(-(2**63), 2**63)
_CURSOR_YEARS = range(1970, 9000)


def decode_cursor(cursor: str, *types: type) -> list:
    """The values of a cursor this API made (``int``, ``str`` or ``datetime`` each); anything else
    (wrong shape or types, out-of-range numbers or times) is a 422."""
    invalid = InvalidInput(t("validation.cursor"), errors={"cursor": [t("validation.cursor_short")]})
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, RecursionError):
        raise invalid from None
    if not isinstance(values, list) or len(values) != len(types):
        raise invalid
    decoded = [_cursor_value(v, kind) for v, kind in zip(values, types, strict=True)]
    if any(v is None for v in decoded):
        raise invalid
    return decoded


def _cursor_value(value, kind: type):
    """``value`` as ``kind``, or None if it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, str if kind is datetime else kind):
        return None
    if kind is int:
        return value if value in _CURSOR_INT else None
    if kind is str:  # neither PostgreSQL nor SQLite's driver takes NUL or a lone surrogate in text
        return None if "\x00" in value or json_body.has_lone_surrogate(value) else value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None and moment.year in _CURSOR_YEARS else None
