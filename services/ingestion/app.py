"""App factory of the ingestion service."""

import tempfile
from collections.abc import Mapping

from flask import Flask, Request, current_app

from services.ingestion.api import blp
from shared.config import Settings
from shared.web import create_service_app


class UploadRequest(Request):
    """Multipart file parts stream straight into the upload folder (no copy, memory stays flat)."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        folder = current_app.config["SETTINGS"].upload_dir
        folder.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile("wb+", dir=folder, suffix=".upload", delete=False)


def create_app(config: Mapping | Settings | None = None) -> Flask:
    app = create_service_app("ingestion", [blp], config)
    app.request_class = UploadRequest
    return app
