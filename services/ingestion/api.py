"""HTTP routes of the ingestion service (docs/imports.md)."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.ingestion import service
from services.ingestion.presets import ENTITY_FIELDS, PRESETS, preset_description
from services.ingestion.schemas import (
    EventBatchSchema,
    EventsAcceptedSchema,
    ImportArgsSchema,
    ImportFormatsSchema,
    ImportPreviewSchema,
    PreviewArgsSchema,
)
from shared.auth import current_shop_id
from shared.db import request_session
from shared.errors import InvalidInput
from shared.i18n import current_language, t
from shared.schemas import JobEnvelopeSchema
from shared.web import job_reply

blp = Blueprint("ingestion", __name__, url_prefix="/v1", description="Imports and real-time events")


def _settings():
    return current_app.config["SETTINGS"]


def _uploaded_file() -> tuple[Path, str | None]:
    """Where the request saved its multipart field `file`, and the file's own name (422 when
    there is none)."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput(t("ingestion.no_file"), errors={"file": [t("ingestion.missing")]})
    upload.stream.flush()
    return Path(upload.stream.name), upload.filename


@blp.route("/imports")
class Imports(MethodView):
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.response(202, JobEnvelopeSchema)
    @blp.alt_response(200, schema=JobEnvelopeSchema, description="the import finished within ?wait=")
    def post(self, args):
        """Import a shop export (multipart field `file`) as a job.

        CSV (UTF-8, UTF-8 with BOM, GBK, GB18030), XLSX or JSON Lines, optionally gzipped. The file
        is checked before the job is queued: an unreadable file or one whose columns fit no preset
        is refused at once (422, listing the columns seen and the fields needed). A refused
        upload is deleted (the request deletes every file it saved but the one a job takes).
        """
        path, filename = _uploaded_file()
        job = service.start_import(request_session(), _settings(), current_shop_id(), args, path, filename,
                                   request.form.get("mapping"))
        request.keep_upload(path)
        return job_reply(_settings(), job, args["wait"])


@blp.route("/imports/preview")
class ImportPreview(MethodView):
    @blp.arguments(PreviewArgsSchema, location="query")
    @blp.response(200, ImportPreviewSchema)
    def post(self, args):
        """What importing a file would do, without importing it (multipart field `file`, optional
        form field `mapping`): the entity it most likely holds, the preset, each column's field
        with masked sample values, and the required fields still without a column.

        Nothing is stored and the upload is deleted when the answer is sent.
        """
        path, _filename = _uploaded_file()
        return service.preview_import(_settings(), args, path, request.form.get("mapping"))


@blp.route("/imports/<job_id>/rejections.csv")
class ImportRejections(MethodView):
    @blp.response(200, content_type="text/csv")
    def get(self, job_id):
        """Download the rows an import rejected, with row number, column, raw value and reason."""
        lines = service.rejection_lines(request_session(), _settings(), current_shop_id(), job_id,
                                        current_language())
        return Response(lines, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="rejections-{job_id}.csv"'})


@blp.route("/imports/presets")
class ImportFormats(MethodView):
    @blp.response(200, ImportFormatsSchema)
    def get(self):
        """The entities that can be imported, their fields, and the import presets."""
        return {
            "entities": [{"entity": name, "required": list(req), "optional": list(opt)}
                         for name, (req, opt) in ENTITY_FIELDS.items()],
            "presets": [{"preset": name, "description": preset_description(name)} for name in PRESETS],
        }


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventBatchSchema)
    @blp.response(202, EventsAcceptedSchema)
    def post(self, args):
        """Record behaviour events from a front end (client keys may call this).

        The recommender takes them into account for that user without a retrain.
        """
        accepted, duplicates = service.record_events(request_session(), current_shop_id(), _settings(),
                                                     args["events"])
        return {"accepted": accepted, "duplicates": duplicates}

