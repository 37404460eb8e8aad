"""HTTP load over a list of paths (tests/bench/load.py, but each request takes the next path).

Each client process holds one keep-alive connection to a server this benchmark started on
127.0.0.1 and walks its own slice of ``paths`` round robin. With ``rate`` (requests/s over all
processes) every process paces itself on a fixed schedule (sleeping until the next slot; a late
request goes at once, no catch-up burst beyond that), so the offered load is about ``rate``.
Latency is timed from the moment a request is sent until its body is read.
"""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import time


def _worker(args) -> tuple[list[float], list[int]]:
    host, port, paths, headers, seconds, interval = args
    conn = http.client.HTTPConnection(host, port, timeout=30)
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
        for attempt in (1, 2):
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                break
            except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
                # The server closed this keep-alive connection (a worker recycled): reconnect and
                # send again, as browsers and HTTP libraries do; the time lost counts in the latency.
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                if attempt == 2:
                    raise
        response.read()
        if response.status != 200:
            failures.append(response.status)
            continue
        latencies.append(time.perf_counter() - begin)
    conn.close()
    return latencies, failures


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest rank, as load.py's p99."""
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * q) - 1))]


def summarise(latencies: list[float], failures: int, seconds: float, rate: float | None = None) -> dict:
    """Requests/s and latency percentiles (ms) of one run, or of several runs pooled."""
    latencies = sorted(latencies)
    count = len(latencies)
    if count == 0:
        return {"requests": 0, "failures": failures}
    return {
        "requests": count,
        "failures": failures,
        "seconds": seconds,
        "rps": round(count / seconds, 1),
        "offered_rps": round(rate, 1) if rate else None,
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
    }


def run_paths(port: int, paths: list[str], headers: dict, seconds: float = 5.0, connections: int = 4,
              rate: float | None = None, raw: bool = False) -> dict:
    """GET ``paths`` for ``seconds``; non-200 answers are counted as failures, not timed.
    With ``raw`` the sorted latencies (s) come back too, under ``latencies_s``, for pooling."""
    interval = connections / rate if rate else 0.0
    slices = [paths[i::connections] or paths for i in range(connections)]
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        results = pool.map(_worker, [("127.0.0.1", port, s, headers, seconds, interval) for s in slices])
    latencies = sorted(x for r, _ in results for x in r)
    failures = [x for _, f in results for x in f]
    summary = summarise(latencies, len(failures), seconds, rate)
    if failures:
        summary["failure_statuses"] = sorted(set(failures))
    if raw:
        summary["latencies_s"] = latencies
    return summary
