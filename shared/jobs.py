"""The one job mechanism: a ``jobs`` row (status, progress, result, error) plus a Celery task.

Starting a job commits its row first, then hands its id to a worker: Celery over Redis in
distributed mode, an in-process thread in embedded mode. Either way the caller gets the
queued job at once (202). A task declared with :func:`job_task` takes only the job id,
re-reads everything else, returns at once if the job already finished (so a redelivered
message changes nothing), retries transient infrastructure errors with backoff, and turns any
other exception into a failed job whose ``error`` is a problem document.

    @job_task("recommendation.train")
    def train(ctx: JobContext) -> dict:
        with ctx.session() as session:
            ...
            ctx.progress(0.5, "fitting ALS")
        return {"model_version": 3}
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shared import celery_app, i18n, waits
from shared.config import Settings
from shared.db import ALL_SHOPS, new_session, session_scope, utcnow
from shared.errors import ServiceUnavailable, ShopmindError, problem
from shared.i18n import Message, t
from shared.models import Job, Shop
from shared.web import request_id_var

log = logging.getLogger(__name__)

FINISHED = ("succeeded", "failed")
MAX_RETRIES = 5
MAX_ATTEMPTS = MAX_RETRIES + 3
MAX_WAIT_S = 120


def is_transient(exc: BaseException) -> bool:
    """Infrastructure hiccups worth a retry; anything else is the job's own failure."""
    import redis.exceptions

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (OperationalError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                            ConnectionError, TimeoutError))


# --- starting and reading jobs ----------------------------------------------------------

def start(session: Session, settings: Settings, shop_id: int, kind: str, params: dict | None = None,
          reuse_unfinished: bool = False) -> Job:
    """Create the job row, commit it, then dispatch it. With ``reuse_unfinished``, a queued or
    running job of the same kind for this shop is returned instead of starting a second one."""
    if reuse_unfinished:
        # Only recent ones: a job whose message was lost must not block every later start.
        recent = utcnow() - timedelta(seconds=celery_app.VISIBILITY_TIMEOUT_S)
        running = session.scalars(
            select(Job).where(Job.kind == kind, Job.status.in_(("queued", "running")), Job.created_at > recent)
            .order_by(Job.created_at.desc()).limit(1)
        ).first()
        if running is not None:
            return running
    job = Job(shop_id=shop_id, kind=kind, params=params or {}, status="queued", progress=0.0, attempts=0)
    session.add(job)
    session.commit()  # the worker must find the row before it gets the message
    try:
        dispatch(settings, kind, job.id)
    except Exception as exc:  # broker down: the job must not sit "queued" forever
        job.status, job.finished_at = "failed", utcnow()
        job.error = i18n.to_json(problem(503, t("jobs.not_queued", error=f"{type(exc).__name__}: {exc}")))
        session.commit()
        raise ServiceUnavailable(t("jobs.queue_unavailable", error=type(exc).__name__)) from exc
    return job


def dispatch(settings: Settings, kind: str, job_id: str) -> None:
    if settings.embedded:
        embedded_runner().submit(kind, job_id, settings)
    else:
        celery_app.celery.send_task(kind, args=[job_id], queue=celery_app.queue_for(kind))


def wait(shop_id: int, job_id: str, seconds: float, database_url: str) -> Job | None:
    """Poll the job until it finishes or ``seconds`` pass; returns the latest row."""
    deadline = time.monotonic() + min(seconds, MAX_WAIT_S)
    delay = 0.05
    while True:
        with session_scope(shop_id, database_url) as session:
            job = session.get(Job, job_id)
        if job is None or job.status in FINISHED or time.monotonic() >= deadline:
            return job
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


def wait_for(settings: Settings, shop_id: int, job_ids: list[str], seconds: float) -> tuple[list[Job | None], bool]:
    """Wait, with one budget for all, for the jobs to finish, if this process has a wait slot
    free for the shop; (the latest rows, whether it waited). Without a slot it answers at once:
    a long poll must never take the threads every other request needs."""
    slots = waits.slots_for(settings.max_waiters, settings.max_waiters_per_shop)
    with slots.hold(shop_id) as granted:
        deadline = time.monotonic() + (min(seconds, MAX_WAIT_S) if granted else 0.0)
        latest = [wait(shop_id, job_id, max(0.0, deadline - time.monotonic()), settings.database_url)
                  for job_id in job_ids]
    return latest, granted


def job_to_dict(job: Job) -> dict[str, Any]:
    """A job as the API returns it, its texts in the reader's language."""
    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": round(job.progress or 0.0, 4),
        "message": i18n.loads_text(job.message),
        "params": job.params or {},
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "result": i18n.render(job.result),
        "error": i18n.render(job.error),
    }


# --- running jobs -------------------------------------------------------------------------

@dataclass
class JobContext:
    """What a job function gets: who it runs for, its params, sessions and a progress reporter."""

    job_id: str
    shop_id: int
    kind: str
    params: dict
    settings: Settings
    language: str = i18n.DEFAULT_LANGUAGE  # the shop's: for texts a job writes outside its own row
    _last_progress: float = field(default=0.0, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work scoped to this job's shop (commits on success)."""
        with session_scope(self.shop_id, self.settings.database_url) as session:
            yield session

    def progress(self, fraction: float, message: str | Message | None = None, force: bool = False) -> None:
        """Record progress (0..1) in its own short transaction; throttled to a few writes a second.
        A message is kept as its catalogue key, so each reader sees it in their language."""
        now = time.monotonic()
        if not force and now - self._last_progress < 0.25:
            return
        self._last_progress = now
        with self.session() as session:
            job = session.get(Job, self.job_id)
            job.progress = max(0.0, min(1.0, float(fraction)))
            if message:
                job.message = i18n.dumps_text(message)
        log.info("progress %.0f%% %s", fraction * 100, i18n.render(message, "en") or "")


@dataclass(frozen=True)
class JobFunction:
    """A registered job: the function and how often a transient failure may be retried."""

    fn: Callable[[JobContext], dict | None]
    max_retries: int


# name -> job function; the embedded runner runs these directly, Celery through the task wrapper.
REGISTRY: dict[str, JobFunction] = {}


class RetryLater(Exception):
    """Raised by :func:`run_job` when a transient error should be retried after ``countdown`` s."""

    def __init__(self, exc: BaseException, countdown: float):
        super().__init__(str(exc))
        self.exc, self.countdown = exc, countdown


def job_task(name: str, max_retries: int = MAX_RETRIES) -> Callable:
    """Declare ``fn(ctx) -> dict`` as the job ``name``: a Celery task, and a function the
    embedded runner calls without Celery."""

    def decorate(fn: Callable[[JobContext], dict | None]):
        REGISTRY[name] = JobFunction(fn, max_retries)

        @shared_task(name=name, bind=True, acks_late=True, max_retries=max_retries, ignore_result=True)
        def task(self, job_id: str):
            retries = self.request.retries or 0
            try:
                run_job(job_id, fn, celery_app.current_settings(), retries, self.max_retries)
            except RetryLater as later:
                raise self.retry(exc=later.exc, countdown=later.countdown) from later.exc

        task.job_function = fn
        return task

    return decorate


def run_job(job_id: str, fn: Callable[[JobContext], dict | None], settings: Settings, retries: int = 0,
            max_retries: int = MAX_RETRIES) -> None:
    """Run one attempt of a job; raises :class:`RetryLater` when a transient error deserves another."""
    token = request_id_var.set(f"job:{job_id[:12]}")
    try:
        try:
            ctx = _claim(job_id, settings)
        except Exception as exc:
            if not is_transient(exc) or retries >= max_retries:
                raise
            # The database blinked before the job even started: try again later, nothing was done.
            raise RetryLater(exc, countdown=min(60, 5 * 2**retries)) from exc
        if ctx is None:
            return
        log.info("job %s (%s) started", job_id, ctx.kind)
        _execute(ctx, fn, retries, max_retries)
    finally:
        request_id_var.reset(token)


def _claim(job_id: str, settings: Settings) -> JobContext | None:
    """Mark the job running and return its context; None if there is nothing (left) to do."""
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None:
            log.warning("job %s does not exist; message dropped", job_id)
            return None
        if job.status in FINISHED:
            log.info("job %s already %s; nothing to do", job_id, job.status)
            return None
        if (job.attempts or 0) >= MAX_ATTEMPTS:
            # Redelivered again and again: the worker running it keeps dying (out of memory?).
            job.status, job.finished_at = "failed", utcnow()
            job.error = i18n.to_json(problem(500, t("jobs.lost", attempts=job.attempts), slug="job-lost"))
            return None
        job.status, job.started_at = "running", job.started_at or utcnow()
        job.attempts = (job.attempts or 0) + 1
        language = session.scalar(select(Shop.language).where(Shop.id == job.shop_id))
        return JobContext(job_id, job.shop_id, job.kind, dict(job.params or {}), settings,
                          language or i18n.DEFAULT_LANGUAGE)


def _execute(ctx: JobContext, fn: Callable[[JobContext], dict | None], retries: int, max_retries: int) -> None:
    """Run the job function; record success, a domain failure, or ask for a retry of a transient one."""
    try:
        with i18n.use_language(ctx.language):
            result = fn(ctx) or {}
    except ShopmindError as exc:
        _finish(ctx, "failed", error=exc.to_problem())
        return
    except Exception as exc:
        if not is_transient(exc):
            log.exception("job %s failed", ctx.job_id)
            _finish(ctx, "failed", error=problem(500, t("jobs.crashed", error=f"{type(exc).__name__}: {exc}"),
                                                 slug="job-failed"))
            return
        if retries < max_retries:
            countdown = min(300, 5 * 2**retries) * (0.5 + random.random())
            log.warning("job %s hit a transient error (%s); retry %d in %.0fs", ctx.job_id, exc, retries + 1,
                        countdown)
            _set_status(ctx, "queued", t("jobs.retrying", error=str(exc)))
            raise RetryLater(exc, countdown) from exc
        _finish(ctx, "failed", error=problem(503, t("jobs.gave_up", retries=retries, error=str(exc))))
        return
    _finish(ctx, "succeeded", result=result)
    log.info("job %s succeeded", ctx.job_id)


def _set_status(ctx: JobContext, status: str, message: Message) -> None:
    with ctx.session() as session:
        job = session.get(Job, ctx.job_id)
        job.status, job.message = status, i18n.dumps_text(message)


def _finish(ctx: JobContext, status: str, result: dict | None = None, error: dict | None = None) -> None:
    with ctx.session() as session:
        job = session.get(Job, ctx.job_id)
        job.status, job.finished_at = status, utcnow()
        job.result, job.error = i18n.to_json(result), i18n.to_json(error)
        if status == "succeeded":
            job.progress = 1.0


# --- embedded mode: an in-process worker ----------------------------------------------------

EMBEDDED_MAX_RETRY_WAIT_S = 30  # a thread sleeping out a long backoff would hold one of two workers


def run_here(kind: str, job_id: str, settings: Settings) -> None:
    """Run a job to its end in this thread, retrying transient errors (what embedded workers do)."""
    registered = REGISTRY.get(kind)
    if registered is None:
        _fail_unknown_kind(kind, job_id, settings)
        return
    retries = 0
    while True:
        try:
            run_job(job_id, registered.fn, settings, retries, registered.max_retries)
            return
        except RetryLater as later:
            time.sleep(min(later.countdown, EMBEDDED_MAX_RETRY_WAIT_S))
            retries += 1


class EmbeddedRunner:
    """Runs jobs on background threads of this process (embedded mode, no broker).

    Threads do not survive ``fork()``: a runner belongs to the process that created it, and
    :func:`embedded_runner` makes a new one in a forked child (gunicorn's worker, for one).
    """

    def __init__(self, max_workers: int = 2):
        self.pid = os.getpid()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="shopmind-job")

    def submit(self, kind: str, job_id: str, settings: Settings) -> None:
        self._pool.submit(self._run, kind, job_id, settings)

    @staticmethod
    def _run(kind: str, job_id: str, settings: Settings) -> None:
        try:
            run_here(kind, job_id, settings)
        except Exception:  # never let a job kill the runner thread
            log.exception("embedded job %s crashed", job_id)

    def shutdown(self) -> None:
        """Wait for the submitted jobs to finish, then stop the threads."""
        self._pool.shutdown(wait=True)

    def recover_unfinished(self, settings: Settings) -> int:
        """Re-run jobs a previous process left queued or running (tasks are idempotent)."""
        with session_scope(ALL_SHOPS, settings.database_url) as session:
            rows = session.execute(
                select(Job.id, Job.kind).where(Job.status.in_(("queued", "running")))
            ).all()
        for job_id, kind in rows:
            self.submit(kind, job_id, settings)
        return len(rows)


def _fail_unknown_kind(kind: str, job_id: str, settings: Settings) -> None:
    session = new_session(ALL_SHOPS, settings.database_url)
    try:
        job = session.get(Job, job_id)
        job.status, job.finished_at = "failed", utcnow()
        job.error = i18n.to_json(problem(500, t("jobs.unknown_kind", kind=kind)))
        session.commit()
    finally:
        session.close()


_runner: EmbeddedRunner | None = None
_runner_lock = threading.Lock()


def embedded_runner() -> EmbeddedRunner:
    """This process's in-process worker, created on first use in each process."""
    global _runner
    with _runner_lock:
        if _runner is None or _runner.pid != os.getpid():
            _runner = EmbeddedRunner()
        return _runner


def shutdown_embedded_runner() -> None:
    """Let this process's runner finish its jobs and stop (before a fork, or at exit)."""
    global _runner
    with _runner_lock:
        runner, _runner = _runner, None
    if runner is not None and runner.pid == os.getpid():
        runner.shutdown()


def _after_fork_in_child() -> None:
    # The parent's runner has no threads here, and its lock may have been held at the fork.
    global _runner, _runner_lock
    _runner, _runner_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
