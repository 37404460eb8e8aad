"""The Celery app: one queue per service, late acks, one task at a time per worker process.

Tasks are declared in each service's ``tasks.py`` with :func:`shared.jobs.job_task` and named
``<service>.<verb>``; the name's prefix picks the queue. Which modules hold them is the
composition's business (``services/runtime/registry.py``): the kernel imports no service.
Without ``REDIS_URL`` (embedded mode) no broker and no Celery is used: :mod:`shared.jobs` runs the
same job functions on in-process threads.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, worker_process_init

from shared import db, signals
from shared.config import DOMAIN_SERVICES, Settings

log = logging.getLogger(__name__)

QUEUES = ("platform", *DOMAIN_SERVICES)
# Where kombu keeps messages in Redis: one list per queue and priority step, and a hash of the
# messages delivered to a worker and not yet acknowledged (the sweeper reads both).
PRIORITY_STEPS = (0, 3, 6, 9)
UNACKED_KEY = "unacked"

celery = Celery("shopmind")
_settings: Settings | None = None


def queue_for(task_name: str) -> str:
    prefix = task_name.split(".", 1)[0]
    return prefix if prefix in QUEUES else "platform"


def queue_keys(queues: tuple[str, ...] = QUEUES) -> list[str]:
    """The Redis lists holding the queues' messages (kombu adds a suffix per priority step)."""
    return [queue if not step else f"{queue}\x06\x16{step}" for queue in queues for step in PRIORITY_STEPS]


def _route(name, args, kwargs, options, task=None, **_kw):
    return {"queue": queue_for(name)}


def configure(settings: Settings, task_modules: Iterable[str] = ()) -> Celery:
    """Bind the Celery app to ``settings`` and import ``task_modules`` (idempotent).

    Senders need no task module (``send_task`` goes by name), so a worker imports only its own
    queues' modules: an import worker then does not carry the training libraries' memory.
    """
    global _settings
    _settings = settings
    signals.configure(settings.redis_url)
    celery.conf.update(
        broker_url=settings.redis_url or "memory://",
        broker_connection_retry_on_startup=True,
        # A Redis that accepts connections but never answers must not hang a request that starts a job.
        # The visibility timeout is above the longest job: a message unacknowledged that long is
        # given to another worker. A killed worker's job is requeued sooner by the sweeper.
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_s, "socket_timeout": 5,
                                  "socket_connect_timeout": 5},
        # A worker keeps reconnecting to a Redis that restarts, however long it takes.
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the jobs table
        task_acks_late=True,  # tasks are idempotent, so a killed worker's task simply runs again
        task_reject_on_worker_lost=True,  # a child killed mid-task puts its message back at once
        worker_prefetch_multiplier=1,
        task_routes=(_route,),
        task_default_queue="platform",
        worker_hijack_root_logger=False,
        beat_schedule=_beat_schedule(settings),
        timezone="UTC",
    )
    celery.set_default()
    for module in task_modules:
        importlib.import_module(module)
    return celery


def _beat_schedule(settings: Settings) -> dict:
    schedule = {"deliver-webhooks": {"task": "platform.deliver_webhooks", "schedule": 10.0,
                                     "options": {"expires": 30}},
                "sweep-jobs": {"task": "platform.sweep_jobs", "schedule": settings.sweep_interval_s,
                               "options": {"expires": settings.sweep_interval_s}}}
    when = settings.nightly_retrain_utc.strip().lower()
    if when != "off":
        try:
            hour, minute = (int(part) for part in when.split(":"))
        except ValueError:
            raise ValueError(f"SHOPMIND_NIGHTLY_RETRAIN_UTC must be HH:MM or off, not {when!r}") from None
        schedule["nightly-retrain"] = {"task": "platform.nightly_retrain",
                                       "schedule": crontab(hour=hour, minute=minute),
                                       "options": {"expires": 3600}}
    return schedule


def current_settings() -> Settings:
    """The settings this worker process was configured with."""
    if _settings is None:
        raise RuntimeError("shared.celery_app.configure(settings) was not called in this process")
    return _settings


@worker_process_init.connect
def _fresh_connections_after_fork(**_kw):
    db.dispose_engines()


@task_postrun.connect
def _log_task_end(task_id=None, task=None, state=None, **_kw):
    log.debug("task %s %s finished: %s", task.name if task else "?", task_id, state)
