"""Job shells of the ingestion service: the work is in :mod:`services.ingestion.service`."""

from __future__ import annotations

from services.ingestion import service
from shared.jobs import JobContext, job_task


@job_task("ingestion.import")
def import_file(ctx: JobContext) -> dict:
    """Import one uploaded file (``service.import_file``)."""
    return service.import_file(ctx)
