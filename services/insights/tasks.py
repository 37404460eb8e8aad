"""The insights job: customer segments (RFM + k-means) saved as a model version, and KPI anomaly alerts."""

from __future__ import annotations

from services.insights import service
from shared.jobs import JobContext, job_task


@job_task("insights.train")
def train_insights(ctx: JobContext) -> dict:
    return service.train(ctx)
