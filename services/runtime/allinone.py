"""All-in-one: every service in one process, the gateway calling them in-process.

It composes every service, as docker-compose does in distributed mode, and declares every
service's jobs so this process's in-process runner can run them. Services themselves never
import each other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from services.decisions.app import create_app as create_decisions
from services.forecasting.app import create_app as create_forecasting
from services.gateway.app import create_app as create_gateway
from services.ingestion.app import create_app as create_ingestion
from services.insights.app import create_app as create_insights
from services.pricing.app import create_app as create_pricing
from services.recommendation.app import create_app as create_recommendation
from services.runtime.registry import task_modules
from services.sentiment.app import create_app as create_sentiment
from shared import celery_app
from shared.config import Settings
from shared.web import resolve_settings

log = logging.getLogger(__name__)

SERVICE_FACTORIES = {
    "ingestion": create_ingestion,
    "recommendation": create_recommendation,
    "forecasting": create_forecasting,
    "sentiment": create_sentiment,
    "pricing": create_pricing,
    "insights": create_insights,
    "decisions": create_decisions,
}


def create_app(config: Mapping | Settings | None = None, background: bool = False) -> Flask:
    """The gateway with every service mounted in-process.

    With ``background`` (what ``shopmind serve all-in-one`` uses), embedded mode also starts
    the in-process job runner's recovery, the webhook delivery thread and the job sweeper.
    """
    settings = resolve_settings(config)
    celery_app.configure(settings, task_modules())
    services = {name: factory(settings) for name, factory in SERVICE_FACTORIES.items()}
    gateway = create_gateway(settings, service_apps=services)
    if background and settings.embedded:
        from shared import jobs
        from shared.platform_tasks import start_embedded_webhook_loop
        from shared.sweeper import start_embedded_sweeper

        recovered = jobs.embedded_runner().recover_unfinished(settings)
        if recovered:
            log.info("re-running %d unfinished jobs from a previous run", recovered)
        start_embedded_webhook_loop(settings)
        start_embedded_sweeper(settings)
    return gateway


def create_background_app() -> Flask:
    """What ``shopmind serve all-in-one`` runs in its worker process."""
    return create_app(background=True)
