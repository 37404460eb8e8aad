"""Insights at scale: `/v1/ask` event questions on a shop with 10 million events, on PostgreSQL.

Run alone with `.venv/bin/python -m pytest tests/bench/test_insights_scale.py -q -s -p no:cacheprovider`
(needs PostgreSQL: DATABASE_URL, else postgresql://postgres@127.0.0.1/test; BENCH_EVENTS changes
the size). A throwaway database gets one shop whose events (300,000 users, 50,000 items with a
long tail, 1 in 14 events a cart, fav or buy, spread over the year to 2026-11-20) are generated
in the database with `generate_series` — this measures questions, not imports — then ANALYZEd,
as an import leaves it. `shopmind serve all-in-one` answers each question over HTTP once to warm
up and then REPEATS times; the report gives each question's median and worst time and the
rows it read, and one answer is checked against a hand-written SQL count.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine, text

from tests.bench.servers import free_port, new_shop, server_env, start_server, throwaway_database

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
BATCH = 1_000_000
REPEATS = 5
FIRST, LAST = datetime(2025, 11, 21, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC)
QUESTIONS = ["本月转化率", "最近7天的收藏数", "最近30天每天的转化率", "本月加购数最多的10个商品",
             "上月收藏数最多的5个商品", "今年每月的加购数", "今年转化率", "Conversion rate last month"]
FILL = """
INSERT INTO events (shop_id, user_id, item_id, type, ts, category_id)
SELECT :shop, 'u' || floor(random() * 300000)::int, 'i' || floor(power(random(), 3) * 50000)::int,
       CASE floor(random() * 14)::int WHEN 11 THEN 'cart' WHEN 12 THEN 'fav' WHEN 13 THEN 'buy' ELSE 'pv' END,
       :first + random() * (:last - :first), 'c' || floor(random() * 50)::int
FROM generate_series(1, :n)
ON CONFLICT DO NOTHING
"""


@pytest.mark.bench
def test_event_questions_on_ten_million_events(tmp_path):
    from services.ingestion.loader import ensure_event_partitions

    url, drop = throwaway_database()
    dsn = url.render_as_string(hide_password=False)
    env = server_env(tmp_path, dsn)
    server = None
    try:
        created = new_shop(env, "ten-million")
        shop_id, key = created["shop"]["id"], created["api_key"]["key"]
        engine = create_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            ensure_event_partitions(conn, FIRST, LAST)
        for done in range(0, EVENTS, BATCH):
            with engine.begin() as conn:
                conn.execute(text(FILL), {"shop": shop_id, "first": FIRST, "last": LAST,
                                          "n": min(BATCH, EVENTS - done)})
            print(f"  {min(done + BATCH, EVENTS):,} events", flush=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE events"))
            stored = conn.execute(text("SELECT count(*) FROM events")).scalar()
            november_carts = conn.execute(text(
                "SELECT count(*) FROM events WHERE type = 'cart' AND ts >= '2026-11-01 00:00+08' "
                "AND ts < '2026-11-21 00:00+08'")).scalar()
            size_mb = conn.execute(text("SELECT sum(pg_total_relation_size(c.oid)) / 1e6 FROM pg_inherits i "
                                        "JOIN pg_class c ON c.oid = i.inhrelid "
                                        "WHERE i.inhparent = 'events'::regclass")).scalar()
        engine.dispose()
        fill_s = time.perf_counter() - started

        port = free_port()
        server = start_server("all-in-one", port, env, tmp_path / "server.log")
        base = f"http://127.0.0.1:{port}"
        results = {}
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            def ask(question):
                reply = client.post("/v1/ask", json={"question": question, "as_of": "2026-11-20"})
                assert reply.status_code == 200, reply.text
                return reply.json()

            for question in QUESTIONS:
                answer = ask(question)
                times = []
                for _ in range(REPEATS):
                    t = time.perf_counter()
                    ask(question)
                    times.append(time.perf_counter() - t)
                results[question] = {"median_ms": round(float(np.median(times)) * 1000, 1),
                                     "max_ms": round(max(times) * 1000, 1),
                                     "time_range": answer["interpretation"]["time_range"],
                                     "rows_answered": len(answer["rows"])}
            carts = ask("本月加购数")["rows"][0]["value"]
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        drop()

    assert stored >= 0.999 * EVENTS
    assert carts == november_carts  # the answer agrees with a hand-written count
    report = {"events": stored, "partitions_mb": round(float(size_mb)), "fill_and_analyze_s": round(fill_s, 1),
              "questions": results,
              "server": "shopmind serve all-in-one on PostgreSQL, one client, sequential; indexes: the events "
                        "primary key only, monthly partitions"}
    print("\n" + json.dumps({"insights_10m_events": report}, indent=2, ensure_ascii=False))
