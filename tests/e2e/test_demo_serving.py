"""`make demo` as a new user meets it: the real `shopmind demo` process, then HTTP once it serves.

The demo prepares the shop on threads of its own process and then gunicorn forks the server:
jobs started after that must still run (threads do not survive a fork). A restarted
`shopmind serve all-in-one` must pick up the jobs a previous run left unfinished.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.support.commands import SHOPMIND
from tests.support.processes import stop_process

STARTUP_S = 420  # generate, import and train a small shop on 2 busy cores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _embedded_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SHOPMIND_LOG_LEVEL")}
    env.update({"SHOPMIND_DATA_DIR": str(data_dir), "ARTIFACT_DIR": str(data_dir / "artifacts"),
                "GUNICORN_ACCESSLOG": "", "PYTHONUNBUFFERED": "1"})
    return env


class Served:
    """A `shopmind` process serving on a port, with its output collected in a file."""

    def __init__(self, args: list[str], data_dir: Path, port: int, log: Path):
        self.port, self.log_path = port, log
        self._log = open(log, "wb")
        self.process = subprocess.Popen([*SHOPMIND, *args], cwd=ROOT,
                                        env=_embedded_env(data_dir), stdout=self._log, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=130)

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_serving(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the process exited ({self.process.returncode}):\n{self.output[-4000:]}")
            try:
                if self.client.get("/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"not serving after {timeout_s} s:\n{self.output[-4000:]}")

    def stop(self) -> None:
        self.client.close()
        stop_process(self.process, timeout_s=30)
        self._log.close()


def _finished(client: httpx.Client, headers: dict, job: dict, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job['id']}?wait=20", headers=headers).json()
    return job


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo")


@pytest.fixture(scope="module")
def demo(demo_dir, tmp_path_factory):
    """`shopmind demo` with its default end date (yesterday), serving."""
    port = _free_port()
    served = Served(["demo", "--port", str(port), "--scale", "0.05", "--seed", "3"], demo_dir, port,
                    tmp_path_factory.mktemp("logs") / "demo.log")
    served.wait_until_serving(STARTUP_S)
    yield served
    served.stop()


def _admin(data_dir: Path) -> dict:
    import json

    keys = json.loads((data_dir / "demo_keys.json").read_text())["keys"]
    return {"Authorization": f"Bearer {keys['admin']}"}


def test_the_demo_prints_its_keys_once_every_model_is_trained(demo, demo_dir):
    out = demo.output
    assert "every model trained" in out, out[-3000:]
    assert "re-running" not in out  # a first start has nothing to recover
    keys_at = out.index("  admin ")
    for service in ("recommendation", "forecasting", "sentiment", "pricing", "insights"):
        assert out.index(f"    {service}: ") < keys_at
    assert "Traceback" not in out and "RuntimeWarning" not in out and "celery.app.trace" not in out


def test_jobs_started_after_the_demo_serves_finish(demo, demo_dir, tmp_path):
    headers = _admin(demo_dir)
    upload = tmp_path / "新品.csv"
    upload.write_text("item_id,title,category,price\nNEW-1,新款羊毛围巾,配饰,129\n", encoding="utf-8")
    with open(upload, "rb") as handle:
        reply = demo.client.post("/v1/imports?entity=products&wait=60", files={"file": (upload.name, handle)},
                                 headers=headers)
    assert reply.status_code in (200, 202), reply.text
    imported = _finished(demo.client, headers, reply.json()["job"])
    assert imported["status"] == "succeeded" and imported["result"]["rows_loaded"] == 1, imported

    reply = demo.client.post("/v1/admin/retrain?wait=60", json={"models": ["recommendation", "forecasting"]},
                             headers=headers)
    trained = [_finished(demo.client, headers, job) for job in reply.json()["jobs"]]
    assert [job["status"] for job in trained] == ["succeeded", "succeeded"], trained


def test_everything_the_demo_writes_is_readable_by_its_user_only(demo, demo_dir):
    """The data dir holds the SQLite database (+wal/shm), artifacts, uploads, exports, keys and
    secrets: shop data, webhook secrets and pseudonymisation salts."""
    written = [demo_dir, *demo_dir.rglob("*")]
    assert any(p.name == "shopmind.db" for p in written) and any(p.suffix == ".joblib" or "artifacts" in p.parts
                                                                  for p in written)
    exposed = [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in written if p.stat().st_mode & 0o077]
    assert not exposed, exposed[:10]


def test_the_demo_shop_has_sales_in_the_last_seven_days(demo, demo_dir):
    reply = demo.client.post("/v1/ask", json={"question": "最近7天的销售额"}, headers=_admin(demo_dir))
    assert reply.status_code == 200, reply.text
    assert reply.json()["rows"][0]["value"] > 0


def test_a_restarted_server_reruns_the_jobs_a_previous_run_left_unfinished(demo, demo_dir, tmp_path):
    """Kill the server with a job queued in the database; `shopmind serve all-in-one` runs it."""
    from shared.config import load_settings
    from shared.db import session_scope
    from shared.models import Job

    demo.stop()
    settings = load_settings({**_embedded_env(demo_dir), "DATABASE_URL": "", "REDIS_URL": ""})  # the demo's SQLite
    upload = settings.upload_dir / "left-over.upload"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes("item_id,title\nLEFT-1,上次没导完的商品\n".encode())
    shop_id = int(__import__("json").loads((demo_dir / "demo_keys.json").read_text())["shop"]["id"])
    with session_scope(shop_id, settings.database_url) as session:
        job = Job(shop_id=shop_id, kind="ingestion.import", status="running", progress=0.4, attempts=1,
                  params={"path": str(upload), "entity": "products", "preset": "auto", "mode": "strict"})
        session.add(job)
        session.flush()
        job_id = job.id

    port = _free_port()
    served = Served(["serve", "all-in-one", "--port", str(port)], demo_dir, port, tmp_path / "serve.log")
    try:
        served.wait_until_serving(120)
        headers = _admin(demo_dir)
        left_over = _finished(served.client, headers, {"id": job_id, "status": "running"})
        assert left_over["status"] == "succeeded" and left_over["result"]["rows_loaded"] == 1, left_over
        assert "re-running 1 unfinished job" in served.output
        fresh = served.client.post("/v1/admin/retrain?wait=60", json={"models": ["pricing"]}, headers=headers)
        assert _finished(served.client, headers, fresh.json()["jobs"][0])["status"] == "succeeded"
    finally:
        served.stop()
