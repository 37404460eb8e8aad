"""Request and response schemas of the ingestion service."""

import marshmallow as ma

from services.ingestion.loader import EMPTY_CELLS
from services.ingestion.presets import ENTITY_FIELDS, PRESETS
from services.ingestion.reader import TEXT_ENCODINGS, ImportFileError, text_encoding
from shared.jobs import MAX_WAIT_S
from shared.models import EVENT_TYPES
from shared.schemas import StrictSchema, validate_timezone


def validate_encoding(name: str) -> None:
    """One of the text encodings CSV files come in (reader.TEXT_ENCODINGS), under any alias."""
    try:
        text_encoding(name)
    except ImportFileError as exc:
        raise ma.ValidationError([str(exc.detail), *map(str, exc.errors["encoding"])]) from None


class ImportArgsSchema(ma.Schema):
    entity = ma.fields.String(required=True, validate=ma.validate.OneOf(list(ENTITY_FIELDS)))
    preset = ma.fields.String(load_default="auto", validate=ma.validate.OneOf(list(PRESETS)))
    mode = ma.fields.String(load_default="strict", validate=ma.validate.OneOf(["strict", "lenient"]),
                            metadata={"description": "strict: one bad row and nothing is written; "
                                                     "lenient: good rows load, bad rows go to the report"})
    encoding = ma.fields.String(load_default=None, validate=validate_encoding,
                                metadata={"description": "override detection, e.g. gbk; one of "
                                                         + ", ".join(TEXT_ENCODINGS)})
    sheet = ma.fields.String(load_default=None, metadata={"description": "XLSX sheet (default: the first)"})
    timezone = ma.fields.String(load_default=None, validate=validate_timezone,
                                metadata={"description": "IANA name, for naive times (default: the shop's)"})
    empty_cells = ma.fields.String(load_default="keep", validate=ma.validate.OneOf(EMPTY_CELLS),
                                   metadata={"description": "keep: an empty cell leaves the stored value as it is; "
                                                            "clear: it sets the value to null. Columns the file "
                                                            "does not have are never touched."})
    wait = ma.fields.Float(load_default=0, validate=ma.validate.Range(min=0, max=MAX_WAIT_S))


class PreviewArgsSchema(ma.Schema):
    entity = ma.fields.String(load_default=None, validate=ma.validate.OneOf(list(ENTITY_FIELDS)),
                              metadata={"description": "what the file holds; default: guessed from its columns"})
    preset = ma.fields.String(load_default="auto", validate=ma.validate.OneOf(list(PRESETS)))
    encoding = ma.fields.String(load_default=None, validate=validate_encoding)
    sheet = ma.fields.String(load_default=None)


class PreviewColumnSchema(ma.Schema):
    name = ma.fields.String()
    field = ma.fields.String(allow_none=True, metadata={"description": "the field it feeds; null: not imported"})
    role = ma.fields.String(metadata={"description": "field, hashed (a buyer id, stored pseudonymised), address "
                                                     "(province and city only), close_reason, personal (never "
                                                     "stored) or ignored"})
    samples = ma.fields.List(ma.fields.String(), metadata={"description": "the first rows' values; masked for "
                                                                          "hashed, address and personal columns"})


class EntityGuessSchema(ma.Schema):
    entity = ma.fields.String()
    preset = ma.fields.String()
    score = ma.fields.Float()


class ImportPreviewSchema(ma.Schema):
    entity = ma.fields.String()
    entity_guessed = ma.fields.Boolean()
    candidates = ma.fields.List(ma.fields.Nested(EntityGuessSchema))
    format = ma.fields.String()
    compression = ma.fields.String(allow_none=True)
    encoding = ma.fields.String(allow_none=True)
    header = ma.fields.Boolean(metadata={"description": "false for a headerless file (the behaviour log)"})
    rows_sampled = ma.fields.Integer()
    preset = ma.fields.String()
    preset_confidence = ma.fields.Float()
    preset_reason = ma.fields.String()
    columns = ma.fields.List(ma.fields.Nested(PreviewColumnSchema))
    fields_required = ma.fields.List(ma.fields.String())
    fields_optional = ma.fields.List(ma.fields.String())
    fields_missing = ma.fields.List(ma.fields.String())
    ready = ma.fields.Boolean(metadata={"description": "every required field has a column"})


class EntityFieldsSchema(ma.Schema):
    entity = ma.fields.String()
    required = ma.fields.List(ma.fields.String())
    optional = ma.fields.List(ma.fields.String())


class PresetSchema(ma.Schema):
    preset = ma.fields.String()
    description = ma.fields.String()


class ImportFormatsSchema(ma.Schema):
    entities = ma.fields.List(ma.fields.Nested(EntityFieldsSchema))
    presets = ma.fields.List(ma.fields.Nested(PresetSchema))


class EventSchema(StrictSchema):
    user_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                               metadata={"description": "the shop's own user id (stored pseudonymised)"})
    item_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(EVENT_TYPES))
    ts = ma.fields.Raw(load_default=None, allow_none=True,
                       metadata={"description": "ISO time (shop time zone if no offset) or unix s/ms; default now"})
    category_id = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=64))


class EventBatchSchema(StrictSchema):
    events = ma.fields.List(ma.fields.Nested(EventSchema), required=True,
                            validate=ma.validate.Length(min=1, max=1000))


class EventsAcceptedSchema(ma.Schema):
    accepted = ma.fields.Integer()
    duplicates = ma.fields.Integer(metadata={"description": "events already recorded (same user, item, type, time)"})
