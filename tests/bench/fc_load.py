"""HTTP load over many paths (tests/bench/load.py extended: each request takes the next path, and an
optional pace).

Each client process holds one keep-alive connection to a server this benchmark started on
127.0.0.1 and walks its own slice of ``paths`` in order. With ``rate`` (requests/s over all
processes) each process sends on a fixed schedule (sleeping until its next slot; a late request
goes at once, with no catch-up burst), so the offered load is about ``rate`` and latency is not
inflated by the client queueing behind itself. Latency is timed from sending a request until its
body is read; non-200 answers are counted, not timed.
"""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import time


def _worker(args) -> tuple[list[float], list[int]]:
    host, port, paths, headers, seconds, interval = args
    conn = http.client.HTTPConnection(host, port, timeout=60)
    latencies, failures = [], []
    started = time.perf_counter()
    deadline = started + seconds
    sent = 0
    while True:
        if interval:
            slot = started + sent * interval
            now = time.perf_counter()
            if slot > now:
                time.sleep(slot - now)
        if time.perf_counter() >= deadline:
            break
        path = paths[sent % len(paths)]
        sent += 1
        begin = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)
            continue
        latencies.append(time.perf_counter() - begin)
    conn.close()
    return latencies, failures


def _nearest_rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * q) - 1))]


def run_paths(port: int, paths: list[str], headers: dict, seconds: float = 5.0, connections: int = 4,
              rate: float | None = None) -> dict:
    """GET ``paths`` for ``seconds`` from ``connections`` client processes; requests/s and latency (ms)."""
    interval = connections / rate if rate else 0.0
    slices = [paths[i::connections] or paths for i in range(connections)]
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        results = pool.map(_worker, [("127.0.0.1", port, s, headers, seconds, interval) for s in slices])
    latencies = sorted(x for r, _ in results for x in r)
    failures = [x for _, f in results for x in f]
    count = len(latencies)
    summary = {"requests": count, "failures": len(failures), "seconds": seconds, "connections": connections,
               "offered_rps": round(rate, 1) if rate else None, "rps": round(count / seconds, 1)}
    if count:
        summary.update({"p50_ms": round(statistics.median(latencies) * 1000, 2),
                        "p90_ms": round(_nearest_rank(latencies, 0.90) * 1000, 2),
                        "p99_ms": round(_nearest_rank(latencies, 0.99) * 1000, 2),
                        "max_ms": round(latencies[-1] * 1000, 2)})
    if failures:
        summary["failure_statuses"] = sorted(set(failures))
    return summary
