"""A load test of the distributed deployment with Locust: throughput, latency per route, no 5xx.

Run alone with `.venv/bin/python -m pytest tests/bench/test_load.py -q -s -p no:cacheprovider`
(`LOAD_RUN_S`, default 300, the measured run; `LOAD_USERS`, default 20, concurrent Locust users;
`LOAD_SCALE`, default 0.5, the demo shop's size). Needs PostgreSQL and Redis (DATABASE_URL and
REDIS_URL, else the local defaults; skips without them).

The deployment as docker-compose runs it, without containers: the gateway and each of the six
services as its own `shopmind serve` (gunicorn, infra/gunicorn.conf.py) on a throwaway PostgreSQL
database, a Celery worker on Redis. The demo shop (infra/demo_data.py) is imported through the
gateway and every model trained by the retrain job, then Locust (headless, tests/bench/locustfile.py:
70% recommendations, 15% events, 5% each forecasts, sentiment and questions) runs against the
gateway for LOAD_RUN_S after a 20 s warm-up, writing its CSV files next to the test's logs.
"""

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from infra.demo_data import generate
from tests.bench.servers import ROOT, free_port, redis_url, throwaway_database
from tests.support import DEMO_END
from tests.support.demo_shops import DEMO_FILES
from tests.support.fault_stack import ShopmindProcess

RUN_S = int(os.environ.get("LOAD_RUN_S", "300"))
USERS = int(os.environ.get("LOAD_USERS", "20"))
SCALE = float(os.environ.get("LOAD_SCALE", "0.5"))
WARMUP_S = 20
SERVICES = ("ingestion", "recommendation", "forecasting", "sentiment", "pricing", "insights")
PLATFORM = "load-platform-token"
ENTITIES = ("products", "customers", "orders", "order_items", "events", "reviews", "inventory", "competitor_prices")


def _wait_job(http: httpx.Client, headers: dict, job: dict, timeout_s: float = 900) -> dict:
    deadline = time.monotonic() + timeout_s
    while job["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job['id']}?wait=30", headers=headers).json()
    assert job["status"] == "succeeded", job
    return job


def _prepare_shop(http: httpx.Client, files: Path) -> dict:
    """A shop with the demo data imported and every model trained, through the gateway."""
    reply = http.post("/v1/shops", json={"name": "压测店"}, headers={"Authorization": f"Bearer {PLATFORM}"})
    assert reply.status_code == 201, reply.text
    admin = {"Authorization": f"Bearer {reply.json()['api_key']['key']}"}
    keys = {}
    for role in ("client", "analyst"):
        created = http.post("/v1/keys", json={"role": role}, headers=admin)
        assert created.status_code == 201, created.text
        keys[role] = created.json()["key"]
    for entity in ENTITIES:
        with open(files / DEMO_FILES[entity], "rb") as handle:
            reply = http.post("/v1/imports", params={"entity": entity}, headers=admin,
                              files={"file": (DEMO_FILES[entity], handle)})
        assert reply.status_code in (200, 202), reply.text
        _wait_job(http, admin, reply.json()["job"])
    reply = http.post("/v1/admin/retrain", json={"models": ["all"]}, headers=admin)
    assert reply.status_code == 202, reply.text
    for job in reply.json()["jobs"]:
        _wait_job(http, admin, job)
    return {"admin": admin, **keys}


def _ids(files: Path, out: Path) -> Path:
    """Buyers and the items that sold: what front ends and staff ask about."""
    with open(files / DEMO_FILES["customers"], encoding="utf-8") as handle:
        users = [row["user_id"] for row in csv.DictReader(handle)]
    with open(files / DEMO_FILES["order_items"], encoding="gbk") as handle:  # Taobao's 宝贝报表
        sold = {row["商家编码"].strip() for row in csv.DictReader(handle)}
    with open(files / DEMO_FILES["products"], encoding="utf-8") as handle:
        items = [row["item_id"] for row in csv.DictReader(handle) if row["item_id"] in sold]
    path = out / "ids.json"
    path.write_text(json.dumps({"users": users, "items": items}, ensure_ascii=False), encoding="utf-8")
    return path


def _stats(prefix: Path) -> dict:
    """Locust's _stats.csv: per route and aggregated."""
    rows = {}
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"] if row["Name"] != "Aggregated" else "all"] = {
                "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1), "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"]),
                "max_ms": round(float(row["Max Response Time"]), 1)}
    return rows


@pytest.mark.bench
def test_load(tmp_path):
    redis = redis_url()
    if redis is None:
        pytest.skip("needs Redis (REDIS_URL, else redis://127.0.0.1:6379/0)")
    url, drop = throwaway_database("shopmind_load")
    database = url.render_as_string(hide_password=False)
    ports = {name: free_port() for name in ("gateway", *SERVICES)}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SHOPMIND_")},
           "DATABASE_URL": database, "REDIS_URL": redis, "SHOPMIND_DATA_DIR": str(tmp_path / "data"),
           "ARTIFACT_DIR": str(tmp_path / "data" / "artifacts"), "SHOPMIND_ADMIN_TOKEN": PLATFORM,
           "SHOPMIND_INTERNAL_TOKEN": "load-internal-token", "SHOPMIND_NIGHTLY_RETRAIN_UTC": "off",
           "SHOPMIND_RATE_LIMIT_PER_MINUTE": "1000000000", "GUNICORN_ACCESSLOG": "", "SHOPMIND_LOG_LEVEL": "WARNING",
           **{f"SHOPMIND_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICES}}
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [ShopmindProcess(name, ["serve", name, "--port", str(port)], env, logs, port)
                 for name, port in ports.items()]
    processes.append(ShopmindProcess("worker", ["worker", "--concurrency", "2"], env, logs))
    try:
        from shared.migrate import upgrade

        upgrade(database)
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready(120)
        files = tmp_path / "demo"
        generate(files, seed=42, scale=SCALE, end_date=DEMO_END)
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        started = time.perf_counter()
        with httpx.Client(base_url=gateway, timeout=120) as http:
            keys = _prepare_shop(http, files)
        prepare_s = time.perf_counter() - started
        ids = _ids(files, tmp_path)
        locust_env = {**os.environ, "LOAD_CLIENT_KEY": keys["client"], "LOAD_ANALYST_KEY": keys["analyst"],
                      "LOAD_IDS": str(ids)}
        locust = [str(Path(ROOT) / ".venv" / "bin" / "locust"), "-f", str(Path(__file__).parent / "locustfile.py"),
                  "--headless", "--host", gateway, "-u", str(USERS), "-r", str(USERS), "--only-summary"]
        subprocess.run([*locust, "--run-time", f"{WARMUP_S}s"], env=locust_env, capture_output=True, check=False,
                       timeout=WARMUP_S + 60)
        load_before = os.getloadavg()[0]
        prefix = tmp_path / "load"
        finished = subprocess.run([*locust, "--run-time", f"{RUN_S}s", "--csv", str(prefix)], env=locust_env,
                                  capture_output=True, text=True, timeout=RUN_S + 120)
        load_after = os.getloadavg()[0]
        stats = _stats(prefix)
    finally:
        for process in processes:
            process.stop()
        drop()
    report = {"deployment": {"gateway": 1, "services": list(SERVICES), "gunicorn_workers_each":
                             int(os.environ.get("GUNICORN_WORKERS", "2")), "celery_worker_concurrency": 2,
                             "database": "PostgreSQL", "broker": "Redis"},
              "shop": {"demo_scale": SCALE, "prepare_s": round(prepare_s, 1)},
              "locust": {"users": USERS, "run_s": RUN_S, "warmup_s": WARMUP_S,
                         "exit_code": finished.returncode},
              "loadavg_1min": {"before": round(load_before, 2), "after": round(load_after, 2)},
              "routes": stats}
    print("\n" + json.dumps({"load": report}, indent=2, ensure_ascii=False))
    assert stats["all"]["requests"] > 0, finished.stderr[-2000:]
    assert stats["all"]["failures"] == 0, (stats, finished.stderr[-3000:])
