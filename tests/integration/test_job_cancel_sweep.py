"""Cancelling jobs, and the sweeper that requeues or fails lost ones: a real worker in CI
(Redis), the in-process runner otherwise."""

from datetime import timedelta

from sqlalchemy import func, select, text, update

from shared import jobs, sweeper
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.models import Job, Product
from tests.support.imports import import_file, products_csv, wait_for_job

SHOP_LANGUAGE = "en"


def _start(settings, shop, kind, params=None) -> str:
    with session_scope(shop.id, settings.database_url) as session:
        return jobs.start(session, settings, shop.id, kind, params or {}).id


def _lost_job(settings, shop, kind="tests.progress", params=None, **row) -> str:
    """A job row whose message never reached the broker (as after a Redis restart)."""
    with session_scope(shop.id, settings.database_url) as session:
        job = Job(kind=kind, params=params or {"steps": 1, "step_s": 0}, status="queued", progress=0.0,
                  attempts=0, **row)
        session.add(job)
    return job.id


def _row(settings, job_id) -> Job:
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        return session.get(Job, job_id)


def _job(client, shop, job_id, wait=0) -> dict:
    return client.get(f"/v1/jobs/{job_id}?wait={wait}", headers=shop.headers()).get_json()


def _until(client, shop, job_id, condition, timeout_s=30) -> dict:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = _job(client, shop, job_id)
        if condition(job):
            return job
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} never got there: {job}")


# --- cancel -----------------------------------------------------------------------------------

def test_a_queued_job_is_cancelled_at_once_and_its_message_is_skipped(client, shop, settings):
    job_id = _lost_job(settings, shop)
    reply = client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers())
    assert reply.status_code == 200, reply.get_json()
    job = reply.get_json()
    assert job["status"] == "cancelled" and job["finished_at"] and job["cancel_requested_at"]
    assert job["message"] == "cancelled before it started"
    jobs.dispatch(settings, "tests.progress", job_id)  # the message arrives after all
    import time

    time.sleep(1.0)
    row = _row(settings, job_id)
    assert (row.status, row.started_at, row.attempts, row.result) == ("cancelled", None, 0, None)


def test_a_running_job_stops_at_its_next_safe_point(client, shop, settings):
    job_id = _start(settings, shop, "tests.progress", {"steps": 200, "step_s": 0.05})
    _until(client, shop, job_id, lambda j: j["status"] == "running" and j["progress"] > 0)
    reply = client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers())
    assert reply.status_code == 202, reply.get_json()
    assert reply.get_json()["cancel_requested_at"] and reply.get_json()["status"] == "running"
    job = _job(client, shop, job_id, wait=30)
    assert job["status"] == "cancelled", job
    assert job["result"] is None and job["error"] is None and job["progress"] < 0.5
    assert "cancelled on request" in job["message"]
    again = client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers())
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


def test_a_finished_job_cannot_be_cancelled(client, shop, settings):
    job_id = _start(settings, shop, "tests.progress", {"steps": 1, "step_s": 0})
    assert _job(client, shop, job_id, wait=30)["status"] == "succeeded"
    reply = client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers())
    assert reply.status_code == 409 and reply.mimetype == "application/problem+json"
    problem = reply.get_json()
    assert "already finished (it succeeded)" in problem["detail"] and "status" in problem["errors"]
    assert _job(client, shop, job_id)["status"] == "succeeded"


def test_cancel_is_for_admins_of_the_jobs_shop(client, shop, other_shop, settings):
    job_id = _lost_job(settings, shop)
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=other_shop.headers()).status_code == 404
    analyst = client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers("analyst"))
    assert analyst.status_code == 403 and analyst.mimetype == "application/problem+json"
    assert client.post("/v1/jobs/nosuchjob/cancel", headers=shop.headers()).status_code == 404
    assert _row(settings, job_id).status == "queued"
    client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers())


def _catalogue(settings, shop) -> tuple[int, set[str]]:
    with session_scope(shop.id, settings.database_url) as session:
        count = session.scalar(select(func.count()).select_from(Product))
        titles = set(session.scalars(select(Product.title).where(Product.item_id.in_([str(i) for i in range(50)]))))
    return count, titles


def test_cancelling_an_import_midway_leaves_the_shop_data_as_it_was(client, shop, settings, tmp_path):
    status, body = import_file(client, shop.headers(), products_csv(tmp_path / "before.csv", 1000, "原标题"),
                               "products", preset="generic")
    assert status == 200 and body["job"]["status"] == "succeeded", body
    before = _catalogue(settings, shop)
    big = products_csv(tmp_path / "big.csv", 400_000, "新标题")
    status, body = import_file(client, shop.headers(), big, "products", preset="generic", wait=0)
    assert status == 202, body
    job_id = body["job"]["id"]
    _until(client, shop, job_id, lambda j: j["status"] == "running" and j["progress"] > 0, 60)
    reply = client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers())
    assert reply.status_code == 202, reply.get_json()
    job = wait_for_job(client, shop.headers(), reply.get_json())
    assert job["status"] == "cancelled", job
    assert job["progress"] < 0.85  # stopped while reading, before anything was applied
    assert _catalogue(settings, shop) == before  # not one row added or changed
    uploads = [p for p in settings.upload_dir.glob("*") if p.stat().st_mtime >= big.stat().st_mtime]
    assert not uploads, uploads  # the upload is gone with the job
    if not settings.is_sqlite:  # PostgreSQL shows every session's temporary tables
        with session_scope(ALL_SHOPS, settings.database_url) as session:
            staged = session.scalar(text("SELECT count(*) FROM pg_class WHERE relname = 'stage_products' "
                                         "AND relpersistence = 't'"))
        assert staged == 0


# --- the sweeper ------------------------------------------------------------------------------

def test_a_queued_job_whose_message_was_lost_is_published_again(client, shop, settings):
    long_ago = utcnow() - timedelta(seconds=settings.job_queued_grace_s + 60)
    job_id = _lost_job(settings, shop, created_at=long_ago)
    counts = sweeper.sweep(settings)
    assert counts["requeue"] >= 1
    job = _job(client, shop, job_id, wait=30)
    assert job["status"] == "succeeded", job
    assert _row(settings, job_id).requeues == 1


def test_a_running_job_whose_worker_died_is_requeued_and_runs_again(client, shop, settings):
    silent = utcnow() - timedelta(seconds=settings.job_stale_s + 60)
    job_id = _lost_job(settings, shop, created_at=silent, started_at=silent, heartbeat_at=silent)
    with session_scope(ALL_SHOPS, settings.database_url) as session:  # as a worker left it when killed
        session.execute(update(Job).where(Job.id == job_id).values(status="running", attempts=1))
    assert sweeper.sweep(settings)["requeue"] >= 1
    job = _job(client, shop, job_id, wait=30)
    assert job["status"] == "succeeded", job
    row = _row(settings, job_id)
    assert (row.attempts, row.requeues) == (2, 1)


def test_a_job_lost_too_often_fails_with_a_reason_to_start_it_again(client, shop, settings):
    silent = utcnow() - timedelta(seconds=settings.job_stale_s + 60)
    job_id = _lost_job(settings, shop, created_at=silent, started_at=silent, heartbeat_at=silent,
                       requeues=settings.job_max_requeues)
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(status="running", attempts=3))
    assert sweeper.sweep(settings)["fail"] >= 1
    job = _job(client, shop, job_id)
    assert job["status"] == "failed" and job["error"]["status"] == 503
    assert "start the job again" in job["error"]["detail"] and "no heartbeat" in job["error"]["detail"]


def test_a_lost_job_that_was_asked_to_stop_is_cancelled(client, shop, settings):
    silent = utcnow() - timedelta(seconds=settings.job_stale_s + 60)
    job_id = _lost_job(settings, shop, created_at=silent, started_at=silent, heartbeat_at=silent,
                       cancel_requested_at=silent)
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        session.execute(update(Job).where(Job.id == job_id).values(status="running", attempts=1))
    sweeper.sweep(settings)
    assert _job(client, shop, job_id)["status"] == "cancelled"


def test_jobs_waiting_for_a_busy_worker_are_left_alone(client, shop, settings):
    busy = [_start(settings, shop, "tests.progress", {"steps": 100, "step_s": 0.05}) for _ in range(2)]
    for job_id in busy:
        _until(client, shop, job_id, lambda j: j["status"] == "running")
    waiting = _start(settings, shop, "tests.progress", {"steps": 1, "step_s": 0})
    long_ago = utcnow() - timedelta(seconds=settings.job_queued_grace_s + 60)
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        session.execute(update(Job).where(Job.id == waiting).values(created_at=long_ago))
    assert waiting in sweeper.held_job_ids(settings)  # its message is in the queue (or the runner)
    sweeper.sweep(settings)
    assert _row(settings, waiting).requeues == 0
    for job_id in busy:
        client.post(f"/v1/jobs/{job_id}/cancel", headers=shop.headers())
    assert _job(client, shop, waiting, wait=30)["status"] == "succeeded"
    assert {_job(client, shop, j, wait=30)["status"] for j in busy} == {"cancelled"}
