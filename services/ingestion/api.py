"""HTTP routes of the ingestion service (docs/imports.md)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path, PurePosixPath

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.ingestion import loader
from services.ingestion.presets import ENTITY_FIELDS, PRESETS, preset_description
from services.ingestion.reader import MAX_COLUMNS, ImportFileError, decompressed_limit, gzip_declared_size
from services.ingestion.schemas import EventBatchSchema, EventsAcceptedSchema, ImportArgsSchema, ImportFormatsSchema
from services.ingestion.tasks import open_source
from shared import jobs
from shared.auth import current_shop_id
from shared.db import request_session
from shared.errors import InvalidInput, NotFound
from shared.i18n import current_language, t
from shared.schemas import JobEnvelopeSchema
from shared.web import retry_after_unless

blp = Blueprint("ingestion", __name__, url_prefix="/v1", description="Imports and real-time events")


def _settings():
    return current_app.config["SETTINGS"]


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
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput(t("ingestion.no_file"), errors={"file": [t("ingestion.missing")]})
        upload.stream.flush()
        path = Path(upload.stream.name)
        # The upload's name in the upload folder, never its path: params are shown with the job.
        params = {**args, "upload": path.name, "filename": _display_name(upload.filename),
                  "mapping": _mapping_field()}
        _preflight(path, params)
        job = jobs.start(request_session(), _settings(), current_shop_id(), "ingestion.import", params)
        request.keep_upload(path)
        if args["wait"]:
            [job], waited = jobs.wait_for(_settings(), current_shop_id(), [job.id], args["wait"])
            if job.status in jobs.FINISHED:
                return {"job": jobs.job_to_dict(job)}, 200
            return {"job": jobs.job_to_dict(job)}, 202, retry_after_unless(waited)
        return {"job": jobs.job_to_dict(job)}


def _mapping_field() -> dict | None:
    raw = request.form.get("mapping")
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except ValueError:
        raise InvalidInput(t("ingestion.mapping_not_json"), errors={"mapping": [t("ingestion.invalid_json")]}) from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in mapping.items()):
        raise InvalidInput(t("ingestion.mapping_not_object"), errors={"mapping": [t("ingestion.not_strings")]})
    if len(mapping) > MAX_COLUMNS:
        raise InvalidInput(t("ingestion.mapping_too_large", count=f"{len(mapping):,}", limit=f"{MAX_COLUMNS:,}"),
                           errors={"mapping": [t("ingestion.mapping_too_large", count=f"{len(mapping):,}",
                                                 limit=f"{MAX_COLUMNS:,}")]})
    return mapping


def _display_name(filename: str | None) -> str | None:
    """The uploaded file's own name as the job shows it: no folders, no control characters, cut."""
    if not filename:
        return None
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name[:200] or None


def _preflight(path: Path, params: dict) -> None:
    """Refuse what can be refused before queuing: empty, unreadable, a bomb, no usable columns."""
    settings = _settings()
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(t("ingestion.file_empty"), errors={"file": [t("ingestion.empty")]})
    if size > settings.max_import_bytes:
        raise ImportFileError(t("ingestion.too_large_file", limit=f"{settings.max_import_bytes:,}"), status=413)
    declared = gzip_declared_size(path)
    limit = decompressed_limit(size, settings.max_import_bytes, settings.max_import_ratio)
    if declared is not None and declared > limit:
        raise ImportFileError(t("ingestion.too_large_import", limit=f"{limit:,}"), status=413)
    reader, _plan = open_source(path, params, settings)  # reads a bounded prefix: detection and header
    reader.close()


@blp.route("/imports/<job_id>/rejections.csv")
class ImportRejections(MethodView):
    @blp.response(200, content_type="text/csv")
    def get(self, job_id):
        """Download the rows an import rejected, with row number, column, raw value and reason."""
        if loader.get_import_job(request_session(), job_id) is None:
            raise NotFound(t("ingestion.no_such_import", job_id=job_id))
        # The generator opens its own session: it runs after this request's context is gone.
        lines = loader.rejection_report(_settings().database_url, current_shop_id(), job_id, current_language())
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
        accepted, duplicates = loader.record_events(request_session(), current_shop_id(), args["events"])
        return {"accepted": accepted, "duplicates": duplicates}

