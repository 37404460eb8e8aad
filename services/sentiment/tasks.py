"""Sentiment jobs; what they do is in ``service``."""

from __future__ import annotations

from services.sentiment import service
from shared.jobs import JobContext, job_task


@job_task("sentiment.train")
def train_sentiment(ctx: JobContext) -> dict:
    return service.train(ctx)


@job_task("sentiment.score")
def score_reviews(ctx: JobContext) -> dict:
    """Score the reviews the active model has not scored (``rescore_all``: every review)."""
    return service.score(ctx)
