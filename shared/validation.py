"""marshmallow's own error messages ("Not a valid integer.", "Must be one of: ...") in the reader's
language: each default message becomes a catalogue message (validation.*).

marshmallow keeps its defaults as class attributes that fields and validators copy when they are
created, i.e. when a schema module is imported; so this runs on import of ``services`` (before any
service's schemas) and of ``shared.schemas``. Validators format their messages with ``str.format``;
a :class:`~shared.i18n.LazyText` keeps those values and renders when a value fails, in the
request's language.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.i18n import LazyText


def _message(key: str) -> LazyText:
    return LazyText(f"validation.{key}")


def localise() -> None:
    fields.Field.default_error_messages.update(required=_message("required"), null=_message("null"),
                                               validator_failed=_message("invalid"))
    for cls, messages in (
        (fields.String, {"invalid": "not_string", "invalid_utf8": "not_utf8"}),
        (fields.Integer, {"invalid": "not_integer"}),
        (fields.Number, {"invalid": "not_number", "too_large": "too_large"}),
        (fields.Float, {"special": "special_number"}),
        (fields.Decimal, {"special": "special_number"}),
        (fields.Boolean, {"invalid": "not_boolean"}),
        (fields.List, {"invalid": "not_list"}),
        (fields.Tuple, {"invalid": "not_list"}),
        (fields.Mapping, {"invalid": "not_object"}),
        (fields.URL, {"invalid": "not_url"}),
        (fields.Email, {"invalid": "not_email"}),
        (fields.Nested, {"type": "not_object"}),
        (fields._TemporalField, {"invalid": "not_date", "invalid_awareness": "not_date", "format": "not_date"}),
        (fields.Date, {"invalid": "not_date", "format": "not_date"}),
    ):
        cls.default_error_messages = {**cls.default_error_messages,
                                      **{name: _message(key) for name, key in messages.items()}}
    Schema._default_error_messages = {**Schema._default_error_messages, "type": _message("not_object"),
                                      "unknown": _message("unknown_field")}
    validate.Range.message_min = _message("range_min")
    validate.Range.message_max = _message("range_max")
    validate.Range.message_all = _message("range_all")
    validate.Range.message_gte, validate.Range.message_gt = _message("gte"), _message("gt")
    validate.Range.message_lte, validate.Range.message_lt = _message("lte"), _message("lt")
    validate.Length.message_min = _message("length_min")
    validate.Length.message_max = _message("length_max")
    validate.Length.message_all = _message("length_all")
    validate.Length.message_equal = _message("length_equal")
    validate.OneOf.default_message = _message("one_of")
    validate.Regexp.default_message = _message("pattern")
    validate.URL.default_message = _message("not_url")
    validate.Email.default_message = _message("not_email")
    validate.Equal.default_message = _message("equal")
    validate.ContainsOnly.default_message = _message("one_of")
    validate.NoneOf.default_message = _message("invalid")


localise()
