"""The forecasting job; what it does is in ``service``."""

from __future__ import annotations

from services.forecasting import service
from shared.jobs import JobContext, job_task


@job_task("forecasting.train")
def train_forecaster(ctx: JobContext) -> dict:
    return service.train(ctx)
