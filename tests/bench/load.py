"""A small, bounded HTTP load generator (keep-alive connections in several processes).

Used only against servers this benchmark started on 127.0.0.1. Each process runs one
connection for a fixed number of seconds; the result is requests per second and latency
percentiles over all processes.
"""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import time


def _worker(args) -> list[float]:
    host, port, path, headers, seconds = args
    conn = http.client.HTTPConnection(host, port, timeout=10)
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies


def run_load(port: int, path: str, headers: dict, seconds: float = 5.0, connections: int = 4) -> dict:
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        results = pool.map(_worker, [("127.0.0.1", port, path, headers, seconds)] * connections)
    latencies = sorted(x for r in results for x in r)
    count = len(latencies)
    return {
        "requests": count,
        "rps": round(count / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(count * 0.99) - 1] * 1000, 2),
    }
