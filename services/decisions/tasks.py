"""Decision jobs; what they do is in ``service``."""

from __future__ import annotations

from services.decisions import service
from shared.jobs import JobContext, job_task


@job_task(service.CHECK_JOB)
def check_outcomes(ctx: JobContext) -> dict:
    return service.check_outcomes(ctx)
