"""The job mechanism end to end: a real worker in CI (Redis), the in-process runner otherwise."""

import time

from shared import jobs
from shared.db import session_scope


def _start(settings, shop, kind, params=None):
    with session_scope(shop.id, settings.database_url) as session:
        job = jobs.start(session, settings, shop.id, kind, params or {})
    assert job.status == "queued" and job.progress == 0
    return job.id


def _poll(client, shop, job_id, timeout_s=60):
    """Every state the API showed, until the job finished."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=shop.headers("analyst")).get_json()
        if not seen or (job["status"], job["progress"]) != (seen[-1]["status"], seen[-1]["progress"]):
            seen.append(job)
        if job["status"] in ("succeeded", "failed"):
            return seen
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} did not finish: {seen[-1]}")


def test_lifecycle_queued_running_progress_succeeded(client, shop, settings):
    job_id = _start(settings, shop, "tests.progress", {"steps": 4, "step_s": 0.4})
    seen = _poll(client, shop, job_id)
    statuses = [j["status"] for j in seen]
    assert "running" in statuses and statuses[-1] == "succeeded"
    partial = [j["progress"] for j in seen if j["status"] == "running" and 0 < j["progress"] < 1]
    assert partial and partial == sorted(partial), seen
    done = seen[-1]
    assert done["progress"] == 1.0 and done["result"] == {"steps": 4, "shop_id": shop.id}
    assert done["error"] is None and done["started_at"] <= done["finished_at"]
    assert done["kind"] == "tests.progress" and done["message"] == "已完成"  # not the last step's "step 4 of 4"


def test_failing_task_ends_failed_with_its_error(client, shop, settings):
    seen = _poll(client, shop, _start(settings, shop, "tests.fail"))
    job = seen[-1]
    assert job["status"] == "failed" and job["result"] is None
    assert job["error"]["status"] == 500 and "ValueError: the input had no rows" in job["error"]["detail"]
    assert job["message"].startswith("失败")


def test_bad_input_fails_the_job_with_a_4xx_problem(client, shop, settings):
    job = _poll(client, shop, _start(settings, shop, "tests.invalid"))[-1]
    assert job["status"] == "failed" and job["error"]["status"] == 422
    assert job["error"]["errors"] == {"订单编号": ["required column is missing"]}


def test_transient_errors_are_retried(client, shop, settings, tmp_path):
    job = _poll(client, shop, _start(settings, shop, "tests.flaky", {"marker": str(tmp_path / "m")}), 90)[-1]
    assert job["status"] == "succeeded" and job["result"] == {"recovered": True}


def test_a_redelivered_task_changes_nothing(client, shop, settings):
    job_id = _start(settings, shop, "tests.progress", {"steps": 1, "step_s": 0})
    first = _poll(client, shop, job_id)[-1]
    jobs.dispatch(settings, "tests.progress", job_id)  # as if the broker delivered the message again
    time.sleep(1.0)
    again = client.get(f"/v1/jobs/{job_id}", headers=shop.headers()).get_json()
    assert again == first


def test_wait_returns_the_finished_job(client, shop, settings):
    job_id = _start(settings, shop, "tests.progress", {"steps": 2, "step_s": 0.2})
    reply = client.get(f"/v1/jobs/{job_id}?wait=30", headers=shop.headers())
    assert reply.status_code == 200 and reply.get_json()["status"] == "succeeded"
    over = client.get(f"/v1/jobs/{job_id}?wait=121", headers=shop.headers())
    assert over.status_code == 422 and "wait" in over.get_json()["errors"]


def test_job_list_filters_and_pages(client, shop, settings):
    ids = [_start(settings, shop, "tests.progress", {"steps": 1, "step_s": 0}) for _ in range(3)]
    failed = _start(settings, shop, "tests.fail")
    for job_id in [*ids, failed]:
        _poll(client, shop, job_id)
    page = client.get("/v1/jobs?limit=2&kind=tests.progress", headers=shop.headers()).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/v1/jobs?limit=2&kind=tests.progress&cursor={page['next_cursor']}",
                      headers=shop.headers()).get_json()
    assert {j["id"] for j in page["items"] + rest["items"]} == set(ids) and rest["next_cursor"] is None
    only_failed = client.get("/v1/jobs?status=failed", headers=shop.headers()).get_json()["items"]
    assert [j["id"] for j in only_failed] == [failed]
    bad = client.get("/v1/jobs?cursor=%%%", headers=shop.headers())
    assert bad.status_code == 422


def test_nightly_retrain_starts_a_job_per_trainable_service_for_shops_with_data(client, shop, other_shop, settings):
    from datetime import UTC, datetime

    from shared.models import Event
    from shared.platform_tasks import start_nightly_retrain

    with session_scope(shop.id, settings.database_url) as session:
        session.add(Event(user_id="u1", item_id="i1", type="pv", ts=datetime(2024, 1, 1, tzinfo=UTC)))
    started = start_nightly_retrain(settings)
    mine = client.get("/v1/jobs?kind=recommendation.train", headers=shop.headers()).get_json()["items"]
    assert {j["id"] for j in mine} & set(started)
    assert mine[0]["params"] == {"trigger": "nightly"}
    assert client.get("/v1/jobs", headers=other_shop.headers()).get_json()["items"] == []  # no data, no job


def test_beat_schedule_has_the_nightly_retrain(settings):
    from dataclasses import replace

    from shared import celery_app

    schedule = celery_app._beat_schedule(replace(settings, nightly_retrain_utc="19:30"))
    assert schedule["nightly-retrain"]["task"] == "platform.nightly_retrain"
    assert "nightly-retrain" not in celery_app._beat_schedule(replace(settings, nightly_retrain_utc="off"))


def test_an_unfinished_job_of_the_same_kind_is_reused(shop, settings):
    with session_scope(shop.id, settings.database_url) as session:
        first = jobs.start(session, settings, shop.id, "tests.progress", {"steps": 2, "step_s": 0.5},
                           reuse_unfinished=True)
        second = jobs.start(session, settings, shop.id, "tests.progress", {"steps": 2, "step_s": 0.5},
                            reuse_unfinished=True)
    assert first.id == second.id


def test_the_embedded_runner_runs_jobs_in_a_forked_child(base_env, tmp_path):
    """gunicorn forks its worker after the demo has used the runner: the child must still run jobs.

    Embedded mode whatever this run uses: its own SQLite database, no Redis.
    """
    import os

    from services.gateway.data import create_shop
    from shared.config import load_settings
    from shared.db import ALL_SHOPS, dispose_engines
    from shared.migrate import upgrade
    from tests.support import job_tasks  # noqa: F401  (registers tests.progress)

    embedded = load_settings({**base_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fork.db'}", "REDIS_URL": ""})
    assert embedded.embedded
    upgrade(embedded.database_url)
    with session_scope(ALL_SHOPS, embedded.database_url) as session:
        shop_id = create_shop(session, "分叉店", "Asia/Shanghai", "CNY")[0].id

    def start_and_wait() -> str:
        with session_scope(shop_id, embedded.database_url) as session:
            job_id = jobs.start(session, embedded, shop_id, "tests.progress", {"steps": 1, "step_s": 0}).id
        return jobs.wait(shop_id, job_id, 20, embedded.database_url).status

    jobs.shutdown_embedded_runner()  # a runner of this test's own, created by the next start
    assert start_and_wait() == "succeeded"  # the parent's runner now has threads
    pid = os.fork()
    if pid == 0:  # the child: start a job and exit 0 only if it finished
        code = 1
        try:
            dispose_engines()
            code = 0 if start_and_wait() == "succeeded" else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "a job started in the forked child never ran"
    jobs.shutdown_embedded_runner()
