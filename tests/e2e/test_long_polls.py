"""`?wait=` is best-effort: past this process's cap of waiting requests (overall and per shop),
a long poll answers at once with the job as it is and a Retry-After, instead of taking a thread."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from tests.conftest import make_shop


def _queued_job(settings, shop_id: int) -> str:
    """A job nothing runs (never dispatched): it stays queued until the test finishes it."""
    from shared.db import session_scope
    from shared.models import Job

    with session_scope(shop_id, settings.database_url) as session:
        job = Job(shop_id=shop_id, kind="tests.progress", params={}, status="queued", progress=0.0, attempts=0)
        session.add(job)
        session.flush()
        return job.id


def _finish(settings, shop_id: int, job_id: str) -> None:
    from shared.db import session_scope, utcnow
    from shared.models import Job

    with session_scope(shop_id, settings.database_url) as session:
        job = session.get(Job, job_id)
        job.status, job.progress, job.finished_at, job.result = "succeeded", 1.0, utcnow(), {}


def _until(condition, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the long poll never took its slot"
        time.sleep(0.02)


def test_a_long_poll_past_the_cap_answers_at_once_with_retry_after(settings):
    from services.gateway.app import create_app
    from shared import waits

    app = create_app(replace(settings, max_waiters=2, max_waiters_per_shop=1))
    slots = waits.slots_for(2, 1)
    shop_a, shop_b, shop_c = (make_shop(app.test_client(), name) for name in ("等待A", "等待B", "等待C"))
    jobs = {shop.id: _queued_job(settings, shop.id) for shop in (shop_a, shop_b, shop_c)}
    held = {}

    def long_poll(shop):
        held[shop.id] = app.test_client().get(f"/v1/jobs/{jobs[shop.id]}?wait=30", headers=shop.headers())

    first_a = threading.Thread(target=long_poll, args=(shop_a,))
    first_a.start()
    _until(lambda: slots.in_use(shop_a.id) == 1)

    def answered_at_once(shop):
        started = time.monotonic()
        reply = app.test_client().get(f"/v1/jobs/{jobs[shop.id]}?wait=30", headers=shop.headers())
        assert time.monotonic() - started < 2, "a long poll past the cap waited"
        assert reply.status_code == 200, reply.get_json()
        assert reply.headers["Retry-After"] == str(waits.RETRY_AFTER_S)
        assert reply.get_json()["status"] == "queued"

    answered_at_once(shop_a)  # the shop's one slot is taken
    first_b = threading.Thread(target=long_poll, args=(shop_b,))
    first_b.start()  # another shop still waits: the process has a second slot
    _until(lambda: slots.in_use() == 2)
    answered_at_once(shop_c)  # every slot of the process is taken

    for shop_id, job_id in jobs.items():
        _finish(settings, shop_id, job_id)
    first_a.join(timeout=10)
    first_b.join(timeout=10)
    for shop in (shop_a, shop_b):
        reply = held[shop.id]
        assert reply.status_code == 200 and reply.get_json()["status"] == "succeeded"
        assert "Retry-After" not in reply.headers  # it did wait, to the end of the job
    assert slots.in_use() == 0
