"""Request and response schemas of the ingestion service."""

import marshmallow as ma


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
