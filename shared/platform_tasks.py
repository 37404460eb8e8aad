"""Background work that belongs to the platform rather than a service: webhook delivery."""

from __future__ import annotations

import logging
import threading

from celery import shared_task

from shared import celery_app, webhooks
from shared.config import Settings
from shared.db import ALL_SHOPS, session_scope

log = logging.getLogger(__name__)


def deliver_webhooks_once(settings: Settings) -> int:
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        return webhooks.deliver_due(session, settings)


@shared_task(name="platform.deliver_webhooks", ignore_result=True, acks_late=True)
def deliver_webhooks() -> int:
    """Send due webhook deliveries (scheduled every 10 s by beat)."""
    return deliver_webhooks_once(celery_app.current_settings())


def start_embedded_webhook_loop(settings: Settings, interval_s: float = 5.0) -> threading.Thread:
    """Embedded mode has no beat: a daemon thread delivers webhooks instead."""
    stop = threading.Event()

    def loop():
        while not stop.wait(interval_s):
            try:
                deliver_webhooks_once(settings)
            except Exception:  # keep delivering after a bad round
                log.exception("webhook delivery round failed")

    thread = threading.Thread(target=loop, name="shopmind-webhooks", daemon=True)
    thread.stop = stop
    thread.start()
    return thread
