"""Import speed and memory on PostgreSQL, through the public API, against a bare `psql \\copy`.

Run with `make bench` (needs PostgreSQL: DATABASE_URL, else postgresql://postgres@127.0.0.1/test;
Redis: REDIS_URL, else the local default). One all-in-one server and one import worker
(`shopmind worker --queues platform,ingestion`, as deployed) on a fresh database; without Redis
the import runs inside the server (embedded mode) and the report says so. In the same run the
same rows are copied with psql into an unindexed table (the issue's yardstick) and into a table
keyed and partitioned like ``events`` (what any loader that keeps the natural key must pay).
"""

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.bench.servers import (
    ROOT,
    child_pids,
    free_port,
    new_shop,
    redis_url,
    server_env,
    start_server,
    status_mb,
    throwaway_database,
)
from tests.support.commands import SHOPMIND
from tests.support.public_data import MISSING, data_set

DATA = data_set("taobao_userbehavior")
# The shape and key of the events table (infra/migrations), without shopmind's other columns.
KEYED_EVENTS = """
CREATE TABLE keyed_events (shop_id int, user_id varchar(64), item_id varchar(64), type varchar(8),
  ts bigint, category_id varchar(64), PRIMARY KEY (shop_id, user_id, item_id, type, ts)) PARTITION BY RANGE (ts);
CREATE TABLE keyed_events_all PARTITION OF keyed_events FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
CREATE TABLE raw_events (user_id text, item_id text, category_id text, type text, ts bigint);
"""


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


def _psql_copy_s(psql: str, dsn: str, table: str, columns: str, path: Path) -> float:
    started = time.perf_counter()
    subprocess.run([psql, dsn, "-qc", f"\\copy {table} ({columns}) FROM '{path}' CSV"], check=True)
    return time.perf_counter() - started


def _distinct_keys_file(source: Path, target: Path) -> Path:
    """The rows of ``source`` with each (user, item, type, ts) once: a keyed COPY refuses repeats."""
    seen, kept = set(), []
    for line in source.read_text().splitlines():
        user, item, _category, kind, ts = line.split(",")
        if (user, item, kind, ts) not in seen:
            seen.add((user, item, kind, ts))
            kept.append(line)
    target.write_text("\n".join(kept) + "\n")
    return target


@pytest.mark.bench
@pytest.mark.skipif(not DATA.exists(), reason=MISSING)
def test_import_events_vs_psql_copy(tmp_path):
    url, drop = throwaway_database()
    redis = redis_url()
    env = server_env(tmp_path, url.render_as_string(hide_password=False), redis)
    sample = tmp_path / "userbehavior.csv"
    with open(sample, "wb") as out:  # both real samples: 180,643 rows
        for name in ("userbehavior_head_users.csv", "userbehavior_time_window.csv"):
            out.write((DATA / name).read_bytes())
    rows = sum(1 for _ in open(sample))
    key = new_shop(env, "bench")["api_key"]["key"]
    port = free_port()
    server = start_server("all-in-one", port, env, tmp_path / "server.log")
    worker = None
    if redis:  # one import at a time, in a worker that imports only the ingestion tasks
        worker = subprocess.Popen([*SHOPMIND, "worker", "--queues", "platform,ingestion",
                                   "--concurrency", "1"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    importer = worker or server  # whose children run the import
    base = f"http://127.0.0.1:{port}"
    try:
        time.sleep(5)
        idle_mb = max(status_mb(pid, "VmRSS") for pid in child_pids(importer.pid))
        first_s, first = _import(base, key, sample)
        again_s, again = _import(base, key, sample)
        big = _million_row_file(tmp_path / "million.csv")
        big_s, big_result = _import(base, key, big)
        peak_mb = max(status_mb(pid, "VmHWM") for pid in child_pids(importer.pid))
    finally:
        for process in (worker, server):
            if process:
                process.terminate()
                process.wait(timeout=30)

    psql = shutil.which("psql")
    copies = {}
    if psql:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run([psql, dsn, "-qc", KEYED_EVENTS], check=True)
        columns = "user_id, item_id, category_id, type, ts"
        copies["raw"] = _psql_copy_s(psql, dsn, "raw_events", columns, sample)
        distinct = _distinct_keys_file(sample, tmp_path / "distinct.csv")
        subprocess.run([psql, dsn, "-qc", "TRUNCATE raw_events"], check=True)
        copies["raw_distinct"] = _psql_copy_s(psql, dsn, "raw_events", columns, distinct)
        subprocess.run([psql, dsn, "-qc", "ALTER TABLE keyed_events ALTER shop_id SET DEFAULT 1"], check=True)
        copies["keyed_distinct"] = _psql_copy_s(psql, dsn, "keyed_events", columns, distinct)
    drop()

    assert first["rows_loaded"] + first["rows_duplicate"] == rows and again["rows_loaded"] == 0
    assert big_result["rows_total"] == 1_000_000
    copy_s = copies.get("raw")
    report = {
        "mode": "worker (Redis)" if redis else "embedded (import inside the server)",
        "rows": rows, "import_s": round(first_s, 2), "import_rows_per_s": round(rows / first_s),
        "reimport_s": round(again_s, 2), "reimport_rows_per_s": round(rows / again_s),
        "psql_copy_s": round(copy_s, 3) if copy_s else None,
        "psql_copy_rows_per_s": round(rows / copy_s) if copy_s else None,
        "ratio_import_vs_copy": round(copy_s / first_s, 3) if copy_s else None,
        "psql_copy_distinct_keys_s": {k: round(v, 3) for k, v in copies.items() if k != "raw"},
        "ratio_keyed_copy_vs_unindexed_copy": (round(copies["raw_distinct"] / copies["keyed_distinct"], 3)
                                               if copies else None),
        "phases_first_import_s": first["timings_s"],
        "million_rows_s": round(big_s, 1), "million_rows_per_s": round(1_000_000 / big_s),
        "importer_idle_rss_mb": idle_mb, "importer_peak_rss_mb": peak_mb,
    }
    print("\n" + json.dumps(report, indent=2))
