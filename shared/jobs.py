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

While it runs, an attempt stamps the job's ``heartbeat_at`` from a background thread; a job whose
heartbeat goes stale lost its worker, and the sweeper (:mod:`shared.sweeper`) puts it back in
the queue. ``ctx.progress()`` and ``ctx.check_cancelled()`` are the job's safe points: there a
cancel request (``POST /v1/jobs/{id}/cancel``) ends it as ``cancelled``, and an attempt that was
superseded (the sweeper requeued the job and another worker took it) stops without writing.
"""

from __future__ import annotations

import functools
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
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shared import celery_app, i18n, waits
from shared.config import Settings
from shared.db import ALL_SHOPS, new_session, session_scope, utcnow
from shared.errors import Conflict, ServiceUnavailable, ShopmindError, problem
from shared.i18n import Message, t
from shared.models import Job, Shop
from shared.web import request_id_var

log = logging.getLogger(__name__)

FINISHED = ("succeeded", "failed", "cancelled")
UNFINISHED = ("queued", "running")
MAX_RETRIES = 5
MAX_ATTEMPTS = MAX_RETRIES + 3
MAX_WAIT_S = 120


def is_transient(exc: BaseException) -> bool:
    """Infrastructure hiccups worth a retry; anything else is the job's own failure."""
    import redis.exceptions

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (OperationalError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                            ConnectionError, TimeoutError, *_driver_connection_errors()))


@functools.cache
def _driver_connection_errors() -> tuple[type[BaseException], ...]:
    """psycopg2's own errors for a lost server: code that uses the raw cursor (the import's
    ``COPY``) gets them unwrapped by SQLAlchemy."""
    try:
        import psycopg2
    except ImportError:
        return ()
    return psycopg2.OperationalError, psycopg2.InterfaceError


# --- starting and reading jobs ----------------------------------------------------------

def start(session: Session, settings: Settings, shop_id: int, kind: str, params: dict | None = None,
          reuse_unfinished: bool = False) -> Job:
    """Create the job row, commit it, then dispatch it. With ``reuse_unfinished``, a queued or
    running job of the same kind for this shop is returned instead of starting a second one."""
    if reuse_unfinished:
        # Only recent ones: a job whose message was lost must not block every later start.
        recent = utcnow() - timedelta(seconds=settings.broker_visibility_timeout_s)
        running = session.scalars(
            select(Job).where(Job.kind == kind, Job.status.in_(UNFINISHED), Job.created_at > recent,
                              Job.cancel_requested_at.is_(None))
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
        "cancel_requested_at": iso(job.cancel_requested_at),
        "result": i18n.render(job.result),
        "error": i18n.render(job.error),
    }


def request_cancel(session: Session, job: Job) -> Job:
    """Cancel ``job`` (a row of the session's shop) and commit: a queued job is ``cancelled`` at
    once (the worker skips its message); a running one is asked to stop at its next safe point.
    A finished job is a 409. Each step is a conditional update, so a worker claiming or finishing
    the job at the same moment cannot be overwritten."""
    now = utcnow()
    stopped = session.execute(
        update(Job).where(Job.id == job.id, Job.status == "queued")
        .values(status="cancelled", cancel_requested_at=now, finished_at=now,
                message=i18n.dumps_text(t("jobs.cancelled_queued")))
    ).rowcount
    if not stopped:
        session.execute(
            update(Job).where(Job.id == job.id, Job.status == "running", Job.cancel_requested_at.is_(None))
            .values(cancel_requested_at=now, message=i18n.dumps_text(t("jobs.cancel_requested")))
        )
    session.commit()
    session.refresh(job)
    if job.status in FINISHED and not stopped:
        raise Conflict(t("jobs.cancel_finished", job_id=job.id, status=t(f"jobs.status_{job.status}")),
                       errors={"status": [t("jobs.cancel_only_unfinished")]})
    return job


# --- running jobs -------------------------------------------------------------------------

class JobCancelled(Exception):
    """Raised at a safe point of a job whose cancellation was requested; ends it ``cancelled``."""


class JobSuperseded(Exception):
    """Raised at a safe point of an attempt that no longer owns its job (the sweeper requeued it
    and another attempt took it, or it was finished elsewhere): it stops without writing."""


@dataclass
class JobContext:
    """What a job function gets: who it runs for, its params, sessions and a progress reporter."""

    job_id: str
    shop_id: int
    kind: str
    params: dict
    settings: Settings
    language: str = i18n.DEFAULT_LANGUAGE  # the shop's: for texts a job writes outside its own row
    attempt: int = 1  # jobs.attempts as this attempt claimed it: who owns the row
    _last_progress: float = field(default=0.0, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work scoped to this job's shop (commits on success)."""
        with session_scope(self.shop_id, self.settings.database_url) as session:
            yield session

    def progress(self, fraction: float, message: str | Message | None = None, force: bool = False) -> None:
        """Record progress (0..1) in its own short transaction; throttled to a few writes a second.
        A message is kept as its catalogue key, so each reader sees it in their language.

        Each write is also a safe point: it raises :class:`JobCancelled` if a cancel was requested
        (the progress is not recorded then)."""
        now = time.monotonic()
        if not force and now - self._last_progress < 0.25:
            return
        self._last_progress = now
        with self.session() as session:
            job = session.get(Job, self.job_id)
            self._stop_if_asked(job)
            job.progress = max(0.0, min(1.0, float(fraction)))
            job.heartbeat_at = utcnow()
            if message:
                job.message = i18n.dumps_text(message)
        log.info("progress %.0f%% %s", fraction * 100, i18n.render(message, "en") or "")

    def check_cancelled(self) -> None:
        """A safe point: raise :class:`JobCancelled` if the job's cancellation was requested."""
        with self.session() as session:
            self._stop_if_asked(session.get(Job, self.job_id))

    def _stop_if_asked(self, job: Job | None) -> None:
        if job is None or job.status != "running" or (job.attempts or 0) != self.attempt:
            raise JobSuperseded(self.job_id)
        if job.cancel_requested_at is not None:
            raise JobCancelled(self.job_id)


@dataclass(frozen=True)
class JobFunction:
    """A registered job: the function, how often a transient failure may be retried, and whether
    an attempt that was interrupted midway may simply run again."""

    fn: Callable[[JobContext], dict | None]
    max_retries: int
    redo_safe: bool = True


# name -> job function; the embedded runner runs these directly, Celery through the task wrapper.
REGISTRY: dict[str, JobFunction] = {}


class RetryLater(Exception):
    """Raised by :func:`run_job` when a transient error should be retried after ``countdown`` s."""

    def __init__(self, exc: BaseException, countdown: float):
        super().__init__(str(exc))
        self.exc, self.countdown = exc, countdown


def job_task(name: str, max_retries: int = MAX_RETRIES, redo_safe: bool = True) -> Callable:
    """Declare ``fn(ctx) -> dict`` as the job ``name``: a Celery task, and a function the
    embedded runner calls without Celery.

    ``redo_safe``: running the job again after an attempt died midway gives the same outcome
    (imports stage, then apply in one transaction; training saves a new version at its end). A job
    that is not is failed, with a reason that says to start it again, instead of being requeued.
    """

    def decorate(fn: Callable[[JobContext], dict | None]):
        REGISTRY[name] = JobFunction(fn, max_retries, redo_safe)

        @shared_task(name=name, bind=True, acks_late=True, max_retries=max_retries, ignore_result=True)
        def task(self, job_id: str):
            retries = self.request.retries or 0
            try:
                run_job(job_id, fn, celery_app.current_settings(), retries, self.max_retries, redo_safe)
            except RetryLater as later:
                raise self.retry(exc=later.exc, countdown=later.countdown) from later.exc

        task.job_function = fn
        return task

    return decorate


def run_job(job_id: str, fn: Callable[[JobContext], dict | None], settings: Settings, retries: int = 0,
            max_retries: int = MAX_RETRIES, redo_safe: bool = True) -> None:
    """Run one attempt of a job; raises :class:`RetryLater` when a transient error deserves another."""
    token = request_id_var.set(f"job:{job_id[:12]}")
    try:
        try:
            ctx = _claim(job_id, settings, redo_safe)
        except Exception as exc:
            if not is_transient(exc) or retries >= max_retries:
                raise
            # The database blinked before the job even started: try again later, nothing was done.
            raise RetryLater(exc, countdown=min(60, 5 * 2**retries)) from exc
        if ctx is None:
            return
        log.info("job %s (%s) started, attempt %d", job_id, ctx.kind, ctx.attempt)
        with Heartbeat(ctx):
            _execute(ctx, fn, retries, max_retries)
    finally:
        request_id_var.reset(token)


def _claim(job_id: str, settings: Settings, redo_safe: bool = True) -> JobContext | None:
    """Mark the job running and return its context; None if there is nothing (left) to do.

    The claim is a compare-and-set on (status, attempts): of two deliveries of one message only
    one gets the job, and a job cancelled or finished meanwhile is left alone."""
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None:
            log.warning("job %s does not exist; message dropped", job_id)
            return None
        if job.status in FINISHED:
            log.info("job %s already %s; nothing to do", job_id, job.status)
            return None
        attempts = job.attempts or 0
        if job.status == "running" and job.heartbeat_at is not None \
                and (utcnow() - job.heartbeat_at).total_seconds() < settings.job_stale_s:
            # A second delivery while an attempt is alive (its heartbeat is fresh): let that one
            # finish. Should it be dead after all, its heartbeat goes stale and the sweeper requeues.
            log.info("job %s is running elsewhere (heartbeat %s); message dropped", job_id, job.heartbeat_at)
            return None
        unfinished = (Job.id == job_id, Job.status == job.status, Job.attempts == attempts)
        if attempts >= MAX_ATTEMPTS:
            # Redelivered again and again: the worker running it keeps dying (out of memory?).
            _fail_unclaimed(session, unfinished, problem(500, t("jobs.lost", attempts=attempts), slug="job-lost"))
            return None
        if job.cancel_requested_at is not None:  # asked to stop while its worker was lost
            session.execute(update(Job).where(*unfinished).values(
                status="cancelled", finished_at=utcnow(), message=i18n.dumps_text(t("jobs.cancelled"))))
            return None
        if not redo_safe and attempts and job.requeues:
            _fail_unclaimed(session, unfinished, problem(503, t("jobs.interrupted"), slug="job-interrupted"))
            return None
        now = utcnow()
        claimed = session.execute(update(Job).where(*unfinished).values(
            status="running", started_at=func.coalesce(Job.started_at, now), attempts=attempts + 1,
            heartbeat_at=now)).rowcount
        if not claimed:
            log.info("job %s was taken or changed by someone else; message dropped", job_id)
            return None
        language = session.scalar(select(Shop.language).where(Shop.id == job.shop_id))
        return JobContext(job_id, job.shop_id, job.kind, dict(job.params or {}), settings,
                          language or i18n.DEFAULT_LANGUAGE, attempt=attempts + 1)


def _fail_unclaimed(session: Session, where: tuple, error: dict) -> None:
    session.execute(update(Job).where(*where).values(status="failed", finished_at=utcnow(),
                                                     error=i18n.to_json(error)))


def _execute(ctx: JobContext, fn: Callable[[JobContext], dict | None], retries: int, max_retries: int) -> None:
    """Run the job function; record success, a domain failure, or ask for a retry of a transient one."""
    try:
        with i18n.use_language(ctx.language):
            result = fn(ctx) or {}
    except JobCancelled:
        log.info("job %s cancelled on request", ctx.job_id)
        _record(ctx, status="cancelled", finished_at=utcnow(), message=i18n.dumps_text(t("jobs.cancelled")))
        return
    except JobSuperseded:
        log.warning("job %s: this attempt (%d) no longer owns the job; stopped without writing", ctx.job_id,
                    ctx.attempt)
        return
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
            _record(ctx, status="queued", heartbeat_at=utcnow(),
                    message=i18n.dumps_text(t("jobs.retrying", error=str(exc))))
            raise RetryLater(exc, countdown) from exc
        _finish(ctx, "failed", error=problem(503, t("jobs.gave_up", retries=retries, error=str(exc))))
        return
    _finish(ctx, "succeeded", result=result)
    log.info("job %s succeeded", ctx.job_id)


def _finish(ctx: JobContext, status: str, result: dict | None = None, error: dict | None = None) -> None:
    values = {"status": status, "finished_at": utcnow(), "result": i18n.to_json(result), "error": i18n.to_json(error),
              # The last progress message ("writing…") must not outlive the job.
              "message": i18n.dumps_text(t("jobs.finished" if status == "succeeded" else "jobs.ended_failed"))}
    if status == "succeeded":
        values["progress"] = 1.0
    _record(ctx, **values)


# How long the outcome of an attempt is retried against a database that is restarting.
RECORD_PATIENCE_S = 30.0


def _record(ctx: JobContext, **values) -> None:
    """Write this attempt's outcome to its row, if the attempt still owns it.

    A database that is restarting is waited for (up to RECORD_PATIENCE_S): the work is done and
    should not be redone for want of one UPDATE. If it stays away the error propagates, the job
    stays ``running`` with a stale heartbeat, and the sweeper requeues it.
    """
    delay, deadline = 0.5, time.monotonic() + RECORD_PATIENCE_S
    while True:
        try:
            with session_scope(ALL_SHOPS, ctx.settings.database_url) as session:
                owned = session.execute(update(Job).where(
                    Job.id == ctx.job_id, Job.status == "running", Job.attempts == ctx.attempt).values(**values))
                if not owned.rowcount:
                    log.warning("job %s: attempt %d no longer owns the job; its outcome (%s) is not recorded",
                                ctx.job_id, ctx.attempt, values.get("status"))
            return
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("job %s: recording %s failed (%s); retrying in %.1fs", ctx.job_id, values.get("status"),
                        exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class Heartbeat:
    """Stamps the job's ``heartbeat_at`` every ``job_heartbeat_s`` while an attempt runs, from a
    daemon thread: long steps without progress calls (a model fit) still show the worker is alive,
    and a killed worker stops stamping, which is how the sweeper knows."""

    def __init__(self, ctx: JobContext):
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{ctx.job_id[:8]}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.ctx.settings.job_heartbeat_s):
            try:
                with session_scope(ALL_SHOPS, self.ctx.settings.database_url) as session:
                    session.execute(update(Job).where(
                        Job.id == self.ctx.job_id, Job.status == "running", Job.attempts == self.ctx.attempt)
                        .values(heartbeat_at=utcnow()))
            except Exception as exc:  # the database is away: the job itself will notice, or not need it
                log.warning("job %s: heartbeat not recorded (%s)", self.ctx.job_id, type(exc).__name__)


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
            run_job(job_id, registered.fn, settings, retries, registered.max_retries, registered.redo_safe)
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
        self._held: set[str] = set()  # submitted and not yet done: what the sweeper must leave alone
        self._held_lock = threading.Lock()

    def submit(self, kind: str, job_id: str, settings: Settings) -> None:
        with self._held_lock:
            if job_id in self._held:  # already waiting or running here: a second copy would only wait
                return
            self._held.add(job_id)
        self._pool.submit(self._run, kind, job_id, settings)

    def holds(self) -> set[str]:
        """The ids of the jobs this runner has waiting or running."""
        with self._held_lock:
            return set(self._held)

    def _run(self, kind: str, job_id: str, settings: Settings) -> None:
        try:
            run_here(kind, job_id, settings)
        except Exception:  # never let a job kill the runner thread
            log.exception("embedded job %s crashed", job_id)
        finally:
            with self._held_lock:
                self._held.discard(job_id)

    def shutdown(self) -> None:
        """Wait for the submitted jobs to finish, then stop the threads."""
        self._pool.shutdown(wait=True)

    def recover_unfinished(self, settings: Settings) -> int:
        """Re-run jobs a previous process left queued or running (tasks are idempotent): the
        previous process is gone, so its running jobs are put back in the queue first."""
        with session_scope(ALL_SHOPS, settings.database_url) as session:
            rows = session.execute(
                select(Job.id, Job.kind).where(Job.status.in_(UNFINISHED))
            ).all()
            session.execute(update(Job).where(Job.status == "running", Job.id.not_in(self.holds()))
                            .values(status="queued", heartbeat_at=utcnow(), requeues=Job.requeues + 1))
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
