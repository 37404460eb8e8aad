"""The sweeper's decisions and the job timing settings: pure code, no database or broker."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.config import load_settings
from shared.sweeper import JobFacts, job_ids_in_messages, judge

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def limits(tmp_path_factory):
    return load_settings({"SHOPMIND_DATA_DIR": str(tmp_path_factory.mktemp("sweeper")), "REDIS_URL": "",
                          "SHOPMIND_ADMIN_TOKEN": "a", "SHOPMIND_INTERNAL_TOKEN": "b"})


def _job(status="queued", requeues=0, age_s=0.0, heartbeat_s=None, cancel=False, job_id="j1") -> JobFacts:
    created = NOW - timedelta(seconds=age_s)
    heartbeat = NOW - timedelta(seconds=heartbeat_s) if heartbeat_s is not None else None
    return JobFacts(job_id, "ingestion.import", status, requeues, created, created if status == "running" else None,
                    heartbeat, created if cancel else None)


def _actions(verdicts) -> list[tuple[str, str]]:
    return [(v.job.id, v.action) for v in verdicts]


def test_a_queued_job_is_lost_only_when_nothing_holds_it_past_the_grace(limits):
    grace = limits.job_queued_grace_s
    assert judge([_job(age_s=grace - 1)], set(), NOW, limits) == []  # the publish may be on its way
    assert judge([_job(age_s=grace + 1)], {"j1"}, NOW, limits) == []  # its message waits in a queue
    assert _actions(judge([_job(age_s=grace + 1)], set(), NOW, limits)) == [("j1", "requeue")]
    # A requeued job gets a fresh grace from its requeue (stamped in heartbeat_at).
    assert judge([_job(age_s=10 * grace, heartbeat_s=1)], set(), NOW, limits) == []


def test_a_running_job_is_lost_when_its_heartbeat_is_stale_whatever_the_broker_holds(limits):
    stale = limits.job_stale_s
    assert judge([_job("running", age_s=10 * stale, heartbeat_s=stale - 1)], set(), NOW, limits) == []
    lost = judge([_job("running", age_s=10 * stale, heartbeat_s=stale + 1)], {"j1"}, NOW, limits)
    assert _actions(lost) == [("j1", "requeue")]
    assert "no heartbeat" in lost[0].reason.render("en") and str(int(stale + 1)) in lost[0].reason.render("en")


def test_requeues_are_bounded_then_the_job_fails(limits):
    at_limit = _job("running", requeues=limits.job_max_requeues, age_s=1e4, heartbeat_s=1e4)
    assert _actions(judge([at_limit], set(), NOW, limits)) == [("j1", "fail")]
    none_allowed = replace(limits, job_max_requeues=0)
    assert _actions(judge([_job(age_s=1e4)], set(), NOW, none_allowed)) == [("j1", "fail")]


def test_a_lost_job_asked_to_stop_is_cancelled_not_redone(limits):
    job = _job("running", age_s=1e4, heartbeat_s=1e4, cancel=True)
    assert _actions(judge([job], set(), NOW, limits)) == [("j1", "cancel")]


def test_finished_statuses_are_never_touched(limits):
    for status in ("succeeded", "failed", "cancelled"):
        assert judge([_job(status, age_s=1e6)], set(), NOW, limits) == []


def test_job_ids_are_read_from_celery_messages_as_kombu_stores_them():
    from celery import Celery

    app = Celery("sweeper-test", broker="memory://")
    app.send_task("ingestion.import", args=["a" * 32], queue="sweeper-test")
    with app.connection_for_write() as connection:
        envelope = connection.default_channel._get("sweeper-test")
    queued = json.dumps(envelope)  # what a Redis queue list holds
    unacked = json.dumps([envelope, "", "ingestion"])  # what the unacked hash holds
    assert job_ids_in_messages([queued, unacked.encode(), b"not json", b'{"body": 1}']) == {"a" * 32}


@pytest.mark.parametrize(("overrides", "named"), [
    ({"SHOPMIND_JOB_HEARTBEAT_S": "10", "SHOPMIND_JOB_STALE_S": "20"}, "SHOPMIND_JOB_STALE_S"),
    ({"SHOPMIND_SWEEP_INTERVAL_S": "0"}, "SHOPMIND_SWEEP_INTERVAL_S"),
    ({"SHOPMIND_JOB_MAX_REQUEUES": "-1"}, "SHOPMIND_JOB_MAX_REQUEUES"),
])
def test_job_timings_that_would_take_live_jobs_for_dead_ones_stop_the_process(tmp_path, overrides, named):
    with pytest.raises(ValueError, match=named):
        load_settings({"SHOPMIND_DATA_DIR": str(tmp_path), "SHOPMIND_ADMIN_TOKEN": "a",
                       "SHOPMIND_INTERNAL_TOKEN": "b", **overrides})
