"""Recommendation training and tuning jobs; what they do is in ``service``."""

from __future__ import annotations

from services.recommendation import service
from shared.jobs import JobContext, job_task


@job_task("recommendation.train")
def train_recommender(ctx: JobContext) -> dict:
    """Retrain on all of the shop's data (with the active version's tuned parameters)."""
    return service.retrain(ctx)


@job_task("recommendation.tune")
def tune_recommender(ctx: JobContext) -> dict:
    """Random search over ALS and weighting parameters, bounded in time, then train the best."""
    return service.tune(ctx)
