"""App factory of the ingestion service."""

import tempfile
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, Request, current_app

from services.ingestion.api import blp
from shared.config import Settings
from shared.web import create_service_app


class UploadRequest(Request):
    """Multipart file parts stream straight into the upload folder (no copy, memory stays flat).

    Every part saved is deleted when the request ends, unless the request handed it to a job
    (:meth:`keep_upload`): a refusal at any point (bad arguments, a malformed or oversized body,
    a file under another field name) leaves nothing behind.
    """

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        folder = current_app.config["SETTINGS"].upload_dir
        folder.mkdir(parents=True, exist_ok=True)
        stream = tempfile.NamedTemporaryFile("wb+", dir=folder, suffix=".upload", delete=False)
        self._saved_uploads().append(Path(stream.name))
        return stream

    def _saved_uploads(self) -> list[Path]:
        if "shopmind.uploads" not in self.environ:
            self.environ["shopmind.uploads"] = []
        return self.environ["shopmind.uploads"]

    def keep_upload(self, path: Path) -> None:
        """``path`` now belongs to a job, which deletes it when done."""
        self.environ["shopmind.kept_upload"] = path

    def close(self) -> None:
        try:
            super().close()
        finally:
            kept = self.environ.get("shopmind.kept_upload")
            for path in self.environ.get("shopmind.uploads", ()):
                if path != kept:
                    path.unlink(missing_ok=True)


def create_app(config: Mapping | Settings | None = None) -> Flask:
    app = create_service_app("ingestion", [blp], config)
    app.request_class = UploadRequest
    return app
