"""Background work that belongs to the platform rather than a service: webhook delivery, the
nightly retrain, and the job sweeper."""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from sqlalchemy import exists, select

from shared import celery_app, jobs, sweeper, webhooks
from shared.config import TRAINABLE_SERVICES, Settings, train_task
from shared.db import ALL_SHOPS, session_scope
from shared.models import Event, Order, Shop

log = logging.getLogger(__name__)


def deliver_webhooks_once(settings: Settings) -> int:
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        return webhooks.deliver_due(session, settings)


@shared_task(name="platform.deliver_webhooks", ignore_result=True, acks_late=True)
def deliver_webhooks() -> int:
    """Send due webhook deliveries (scheduled every 10 s by beat)."""
    return deliver_webhooks_once(celery_app.current_settings())


@shared_task(name="platform.sweep_jobs", ignore_result=True)
def sweep_jobs() -> dict:
    """Requeue or fail jobs whose message or worker was lost (scheduled by beat every
    SHOPMIND_SWEEP_INTERVAL_S)."""
    return sweeper.sweep(celery_app.current_settings())


# Run nightly beside the retrains: decisions whose outcome window has passed get measured.
NIGHTLY_CHECKS = ("decisions.check_outcomes",)


def start_nightly_retrain(settings: Settings) -> list[str]:
    """Start each service's training job, and the nightly checks, for every shop that has data
    (idempotent per shop)."""
    kinds = [kind for kind in (*(train_task(service) for service in TRAINABLE_SERVICES), *NIGHTLY_CHECKS)
             if kind in celery_app.celery.tasks]
    started = []
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        shop_ids = session.scalars(select(Shop.id).where(
            exists().where(Event.shop_id == Shop.id) | exists().where(Order.shop_id == Shop.id))).all()
    for shop_id in shop_ids:
        try:
            with session_scope(shop_id, settings.database_url) as session:
                for kind in kinds:
                    started.append(jobs.start(session, settings, shop_id, kind, {"trigger": "nightly"},
                                              reuse_unfinished=True).id)
        except Exception:  # one shop's trouble must not cost the others their retrain
            log.exception("nightly retrain of shop %s could not start", shop_id)
    log.info("nightly retrain: %d jobs for %d shops", len(started), len(shop_ids))
    return started


@shared_task(name="platform.nightly_retrain", ignore_result=True)
def nightly_retrain() -> int:
    """Retrain every shop's models (scheduled by beat at SHOPMIND_NIGHTLY_RETRAIN_UTC)."""
    return len(start_nightly_retrain(celery_app.current_settings()))


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
