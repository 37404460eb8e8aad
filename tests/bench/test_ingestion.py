"""Import speed and memory on PostgreSQL, through the public API, against a bare `psql \\copy`.

Run with `make bench` (needs PostgreSQL: DATABASE_URL, else postgresql://postgres@127.0.0.1/test).
One all-in-one server (gunicorn, embedded job runner) on a fresh database; the same rows are
then copied with psql into an unindexed table in the same run, so the ratio is meaningful.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.bench.servers import child_pids, free_port
from tests.bench.test_gateway_overhead import ROOT

DATA = ROOT.parent / "shared" / "data" / "taobao_userbehavior"
SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _database():
    url = make_url(SERVER_URL).set(drivername="postgresql+psycopg2")
    name = f"shopmind_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no PostgreSQL here
        pytest.skip(f"needs PostgreSQL ({exc.__class__.__name__})")

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return url.set(database=name), drop


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children (the gunicorn worker)."""
    peak = 0.0
    for candidate in [pid, *child_pids(pid)]:
        for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return round(peak, 1)





def _import(base: str, key: str, path: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    with open(path, "rb") as handle:
        reply = httpx.post(f"{base}/v1/imports?entity=events&wait=120", files={"file": (path.name, handle)},
                           headers={"Authorization": f"Bearer {key}"}, timeout=600)
    job = reply.json()["job"]
    while job["status"] not in ("succeeded", "failed"):
        job = httpx.get(f"{base}/v1/jobs/{job['id']}?wait=60", headers={"Authorization": f"Bearer {key}"},
                        timeout=120).json()
    assert job["status"] == "succeeded", job
    return time.perf_counter() - started, job["result"]


def _million_row_file(target: Path, rows: int = 1_000_000) -> Path:
    """The real log repeated with shifted users and times until it has ``rows`` rows."""
    source = (DATA / "userbehavior_head_users.csv").read_text().splitlines()
    with open(target, "w") as out:
        written, shift = 0, 0
        while written < rows:
            for line in source:
                user, item, category, kind, ts = line.split(",")
                out.write(f"{int(user) + shift * 1_000_000},{item},{category},{kind},{int(ts) + shift}\n")
                written += 1
                if written == rows:
                    break
            shift += 1
    return target


@pytest.mark.bench
@pytest.mark.skipif(not DATA.exists(), reason="../shared/data is not beside the repo")
def test_import_events_vs_psql_copy(tmp_path):
    url, drop = _database()
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False), "SHOPMIND_DATA_DIR": str(tmp_path),
           "SHOPMIND_ADMIN_TOKEN": "bench-admin", "SHOPMIND_INTERNAL_TOKEN": "bench-internal",
           "SHOPMIND_LOG_LEVEL": "WARNING", "GUNICORN_ACCESSLOG": "", "SHOPMIND_RATE_LIMIT_PER_MINUTE": "0"}
    env.pop("REDIS_URL", None)
    sample = tmp_path / "userbehavior.csv"
    with open(sample, "wb") as out:  # both real samples: 180,643 rows
        for name in ("userbehavior_head_users.csv", "userbehavior_time_window.csv"):
            out.write((DATA / name).read_bytes())
    rows = sum(1 for _ in open(sample))
    subprocess.run([sys.executable, "-m", "shared.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    key = json.loads(subprocess.run([sys.executable, "-m", "shared.cli", "create-shop", "bench"], cwd=ROOT, env=env,
                                    check=True, capture_output=True, text=True).stdout)["api_key"]["key"]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", "serve", "all-in-one", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        first_s, first = _import(base, key, sample)
        again_s, again = _import(base, key, sample)
        big = _million_row_file(tmp_path / "million.csv")
        big_s, big_result = _import(base, key, big)
        peak_mb = _peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    psql = shutil.which("psql")
    copy_s = None
    if psql:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run([psql, dsn, "-qc", "CREATE TABLE raw_events (user_id text, item_id text, category_id text, "
                                          "type text, ts bigint)"], check=True)
        started = time.perf_counter()
        subprocess.run([psql, dsn, "-qc", f"\\copy raw_events FROM '{sample}' CSV"], check=True)
        copy_s = time.perf_counter() - started
    drop()

    assert first["rows_loaded"] + first["rows_duplicate"] == rows and again["rows_loaded"] == 0
    assert big_result["rows_total"] == 1_000_000
    report = {
        "rows": rows, "import_s": round(first_s, 2), "import_rows_per_s": round(rows / first_s),
        "reimport_s": round(again_s, 2), "reimport_rows_per_s": round(rows / again_s),
        "psql_copy_s": round(copy_s, 3) if copy_s else None,
        "psql_copy_rows_per_s": round(rows / copy_s) if copy_s else None,
        "ratio_import_vs_copy": round(copy_s / first_s, 3) if copy_s else None,
        "phases_first_import_s": first["timings_s"],
        "million_rows_s": round(big_s, 1), "million_rows_per_s": round(1_000_000 / big_s),
        "server_peak_rss_mb": peak_mb,
    }
    print("\n" + json.dumps(report, indent=2))
