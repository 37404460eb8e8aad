"""The sweeper: jobs that would never end by themselves are requeued, or failed with a reason.

A job is lost in one of two ways. It is ``queued`` but nothing will ever run it: Redis restarted
without its data, a queue was flushed, or (embedded mode) the process holding it died. Or it is
``running`` but its heartbeat stopped: the worker was killed (SIGKILL, out of memory, host gone)
and Redis would hand its message to another worker only after the visibility timeout (hours).

Every ``SHOPMIND_SWEEP_INTERVAL_S`` (Celery beat in distributed mode, a thread of the serving
process in embedded mode) :func:`sweep` puts such jobs back in the queue, at most
``SHOPMIND_JOB_MAX_REQUEUES`` times each, and after that fails them with a reason that says to
start them again. Requeuing is safe: every job kind runs again to the same outcome (imports stage,
then apply in one transaction; training saves a new model version at its end), and the claim of
:mod:`shared.jobs` makes sure only one attempt owns a job. :func:`judge` decides, without I/O.

Each round also deletes console sessions that ended, idle or too old, more than
``SHOPMIND_SESSION_PURGE_AFTER_DAYS`` ago (:func:`purge_sessions`): nothing else would, since an
ended session is deleted only when its cookie is presented again. Sessions ended by signing out,
removing the user or changing the password are deleted at once and never wait for this.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from shared import celery_app, i18n, jobs
from shared.config import Settings
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.errors import problem
from shared.i18n import Message, t
from shared.models import ConsoleSession, Job

log = logging.getLogger(__name__)

# Ended sessions are deleted this many at a time (one short transaction each), at most
# SESSION_PURGE_BATCHES times a round: a backlog goes down over a few rounds, never in one long lock.
SESSION_PURGE_BATCH = 500
SESSION_PURGE_BATCHES = 20


@dataclass(frozen=True)
class JobFacts:
    """What the sweeper reads of an unfinished job."""

    id: str
    kind: str
    status: str
    requeues: int
    created_at: datetime
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    cancel_requested_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """What to do with one lost job: ``requeue``, ``fail`` or ``cancel``, and why."""

    job: JobFacts
    action: str
    reason: Message


def judge(unfinished: Iterable[JobFacts], held: set[str], now: datetime, settings: Settings) -> list[Verdict]:
    """The lost jobs among ``unfinished`` and what to do with each.

    ``held``: ids of the queued jobs something will still run (a message in the broker, or a slot
    in the embedded runner). A running job is judged by its heartbeat alone.
    """
    verdicts = []
    for job in unfinished:
        if job.status == "queued":
            waited = (now - (job.heartbeat_at or job.created_at)).total_seconds()
            if job.id in held or waited < settings.job_queued_grace_s:
                continue
            reason = t("jobs.reason_message_lost", seconds=int(waited))
        elif job.status == "running":
            silent = (now - (job.heartbeat_at or job.started_at or job.created_at)).total_seconds()
            if silent < settings.job_stale_s:
                continue
            reason = t("jobs.reason_worker_lost", seconds=int(silent))
            if job.cancel_requested_at is not None:  # it was to stop anyway: nothing to redo
                verdicts.append(Verdict(job, "cancel", reason))
                continue
        else:
            continue
        action = "requeue" if job.requeues < settings.job_max_requeues else "fail"
        verdicts.append(Verdict(job, action, reason))
    return verdicts


def sweep(settings: Settings) -> dict[str, int]:
    """One round: judge every unfinished job, then act on the lost ones; then purge long-ended
    console sessions. Returns counts by action, and ``sessions_purged``."""
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        rows = session.execute(select(
            Job.id, Job.kind, Job.status, Job.requeues, Job.created_at, Job.started_at, Job.heartbeat_at,
            Job.cancel_requested_at).where(Job.status.in_(jobs.UNFINISHED))).all()
    # Read after the jobs: a job seen queued above had its message published before.
    held = held_job_ids(settings)
    counts = {"requeue": 0, "fail": 0, "cancel": 0}
    for verdict in judge([JobFacts(*row) for row in rows], held, utcnow(), settings):
        if _act(verdict, settings):
            counts[verdict.action] += 1
    if any(counts.values()):
        log.warning("sweeper: %s", ", ".join(f"{n} {action}" for action, n in counts.items() if n))
    counts["sessions_purged"] = purge_sessions(settings)
    return counts


def purge_sessions(settings: Settings, now: datetime | None = None, batch: int = SESSION_PURGE_BATCH,
                   batches: int = SESSION_PURGE_BATCHES) -> int:
    """Delete console sessions that ended (idle past SHOPMIND_SESSION_IDLE_S, or older than
    SHOPMIND_SESSION_MAX_S) more than SHOPMIND_SESSION_PURGE_AFTER_DAYS ago, ``batch`` rows per
    transaction, at most ``batches`` transactions. Returns how many were deleted."""
    now = now or utcnow()
    grace = timedelta(days=settings.session_purge_after_days)
    ended_long_ago = or_(ConsoleSession.last_seen_at < now - timedelta(seconds=settings.session_idle_s) - grace,
                         ConsoleSession.created_at < now - timedelta(seconds=settings.session_max_s) - grace)
    purged = 0
    for _ in range(batches):
        with session_scope(ALL_SHOPS, settings.database_url) as session:
            hashes = session.scalars(select(ConsoleSession.token_hash).where(ended_long_ago).limit(batch)).all()
            if hashes:
                session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash.in_(hashes), ended_long_ago))
        purged += len(hashes)
        if len(hashes) < batch:
            break
    if purged:
        log.info("sweeper: deleted %d console sessions that ended over %d days ago", purged,
                 settings.session_purge_after_days)
    return purged


def _act(verdict: Verdict, settings: Settings) -> bool:
    """Apply one verdict if the job is still as judged (compare-and-set); True if it was."""
    job, now = verdict.job, utcnow()
    same = (Job.id == job.id, Job.status == job.status, Job.requeues == job.requeues)
    if job.heartbeat_at is not None:
        same = (*same, Job.heartbeat_at == job.heartbeat_at)
    if verdict.action == "requeue":
        values = {"status": "queued", "requeues": job.requeues + 1, "heartbeat_at": now,
                  "message": i18n.dumps_text(t("jobs.requeued", count=job.requeues + 1,
                                               limit=settings.job_max_requeues, reason=verdict.reason))}
    elif verdict.action == "cancel":
        values = {"status": "cancelled", "finished_at": now, "message": i18n.dumps_text(t("jobs.cancelled"))}
    else:
        values = {"status": "failed", "finished_at": now, "error": i18n.to_json(problem(
            503, t("jobs.abandoned", count=job.requeues, reason=verdict.reason), slug="job-abandoned"))}
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        if not session.execute(update(Job).where(*same).values(**values)).rowcount:
            return False  # it moved on meanwhile (claimed, finished, cancelled): not lost after all
    log.warning("sweeper: job %s (%s) %s: %s", job.id, job.kind, verdict.action, i18n.render(verdict.reason, "en"))
    if verdict.action == "requeue":
        try:
            jobs.dispatch(settings, job.kind, job.id)
        except Exception as exc:  # the broker is away: the job stays queued, the next round tries again
            log.warning("sweeper: could not publish job %s again: %s", job.id, exc)
    return True


def held_job_ids(settings: Settings) -> set[str]:
    """Ids of the jobs something will still run: waiting or running in this process's embedded
    runner, or with a message in a Redis queue or delivered to a worker and not yet acknowledged."""
    if settings.embedded:
        return jobs.embedded_runner().holds()
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        raw = []
        with client.pipeline(transaction=False) as pipe:
            for key in celery_app.queue_keys():
                pipe.lrange(key, 0, -1)
            pipe.hvals(celery_app.UNACKED_KEY)
            for reply in pipe.execute():
                raw.extend(reply or [])
    finally:
        client.close()
    return job_ids_in_messages(raw)


def job_ids_in_messages(raw_messages: Iterable[bytes | str]) -> set[str]:
    """The job ids carried by Celery messages as kombu keeps them in Redis: a queued message is a
    JSON envelope whose body holds ``[args, kwargs, embed]``; an unacknowledged one is
    ``[envelope, exchange, routing_key]``. A message of another shape is skipped."""
    ids = set()
    for raw in raw_messages:
        try:
            envelope = json.loads(raw)
            if isinstance(envelope, list):
                envelope = envelope[0]
            body = envelope["body"]
            if envelope.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            payload = json.loads(body)
            args = payload[0] if isinstance(payload, list) else payload.get("args")
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
        if args and isinstance(args[0], str):
            ids.add(args[0])
    return ids


def start_embedded_sweeper(settings: Settings) -> threading.Thread:
    """Embedded mode has no beat: a daemon thread sweeps every SHOPMIND_SWEEP_INTERVAL_S."""
    stop = threading.Event()

    def loop():
        while not stop.wait(settings.sweep_interval_s):
            try:
                sweep(settings)
            except Exception:  # keep sweeping after a bad round (the database restarting, say)
                log.exception("sweeper round failed")

    thread = threading.Thread(target=loop, name="shopmind-sweeper", daemon=True)
    thread.stop = stop
    thread.start()
    return thread
