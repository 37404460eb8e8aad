"""Pricing jobs; what they do is in ``service``."""

from __future__ import annotations

from services.pricing import service
from shared.jobs import JobContext, job_task


@job_task("pricing.train")
def train_pricing(ctx: JobContext) -> dict:
    return service.train(ctx)


@job_task("pricing.watch")
def watch_competitors(ctx: JobContext) -> dict:
    return service.watch(ctx)
