"""Forecasting speed: training on 10,000 item series × 730 days, and one item's forecast through the gateway.

Run alone with `.venv/bin/python -m pytest tests/bench/test_forecasting_speed.py -q -s -p no:cacheprovider`.
The serving half needs PostgreSQL (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test)
and skips without it; the training half runs anyway.

Training: a synthetic ``History`` built directly (tests/bench/fc_data.synthetic_history: Poisson
demand with a weekly pattern, festival uplift, log-normal levels, launches, 1% stock-out days),
then, each timed on its own with the machine's 1-minute load below 1.0 first (waiting up to 5
minutes; the load measured is reported): ``QuantileForecaster().fit(history)`` (with the time
in ``training_rows`` and the peak memory it reaches), ``backtest(history, cutoffs=3,
horizon=28)``, and ``Forecasts.from_history`` (the 90-day forecast of every item). The model
parameters are DEFAULT_PARAMS (nthread 2).

Serving: the bundle (``Forecasts.to_artifact()``) saved with ``shared.artifacts.save_version``
and promoted as the forecasting version of a shop made with ``python -m services.runtime.cli create-shop``
in a throwaway database (``shared.migrate.upgrade``), then ``python -m services.runtime.cli serve
all-in-one`` on it (with Redis reachable at REDIS_URL, else redis://127.0.0.1:6379/0, as in
production: 2 gthread workers and the Redis rate limiter; without Redis the embedded single
worker). `GET /v1/forecasts/items/{id}?horizon=28` over 2,000 different item ids with an API key,
from 4 keep-alive client processes on the same 2 cores (tests/bench/rec_load.py): first unpaced
for 10 s (capacity), then paced at half that rate for 15 s (latency at a load it can carry).
FC_BENCH_ITEMS (default 10000) and FC_BENCH_QUIET_WAIT_S (default 300) exist only to try the
benchmark out quickly.
Also in-process: ``Forecasts.item`` for those 2,000 items (and its ``explain`` part for 300)
on the bundle as a worker loads it; items whose answer raises there (a service bug, reported
with examples and their HTTP status) are left out of the load. Artifact size on disk and the
workers' resident memory are reported.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import time

import httpx
import numpy as np
import pytest

from tests.bench.fc_data import recording_backtest, synthetic_history, wait_for_quiet
from tests.bench.rec_load import run_paths
from tests.bench.servers import (
    bench_settings,
    child_pids,
    free_port,
    new_shop,
    redis_url,
    server_env,
    start_server,
    status_mb,
    throwaway_database,
)

N_ITEMS = int(os.environ.get("FC_BENCH_ITEMS", "10000"))  # smaller only to try the benchmark out
N_DAYS = 730
SERVED_ITEMS = min(2_000, N_ITEMS)
TRIVIAL = "/v1/imports/presets"  # no model, no shop data: the gateway's and the app's own cost
QUIET_WAIT_S = float(os.environ.get("FC_BENCH_QUIET_WAIT_S", "300"))


def _self_peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _ms(values: list[float]) -> dict:
    q = np.quantile(np.asarray(values) * 1000, [0.5, 0.99])
    return {"p50_ms": round(float(q[0]), 2), "p99_ms": round(float(q[1]), 2)}


@contextlib.contextmanager
def recording_explanations():
    """Time ``Forecasts._explain_all`` (every item's default-horizon explanation, at training)."""
    from services.forecasting.forecasts import Forecasts

    record = {"seconds": 0.0}
    original = Forecasts._explain_all

    def timed(self, horizon):
        started = time.perf_counter()
        try:
            return original(self, horizon)
        finally:
            record["seconds"] += time.perf_counter() - started

    Forecasts._explain_all = timed
    try:
        yield record
    finally:
        Forecasts._explain_all = original


def _sampling_agreement(forecasts, rows: list[int]) -> dict:
    """Per precomputed horizon: the explanation from the sampled days (what ships) against the one
    from every day — same top feature, share of the same top five, and the time of each."""
    from services.forecasting import forecasts as module

    out = {}
    rows = np.array(rows)
    for horizon in module.EXPLAINED_HORIZONS:
        started = time.perf_counter()
        sampled = forecasts._explain_rows(rows, horizon)
        sampled_s = time.perf_counter() - started
        original = module.sampled_days
        module.sampled_days = lambda h: np.arange(1, h + 1)
        try:
            started = time.perf_counter()
            every = forecasts._explain_rows(rows, horizon)
            every_s = time.perf_counter() - started
        finally:
            module.sampled_days = original
        out[horizon] = {
            "same_top_feature": round(float((sampled.features[:, 0] == every.features[:, 0]).mean()), 4),
            "top5_overlap": round(float(np.mean([
                len(set(a) & set(b)) / len(b)
                for a, b in zip(sampled.features.tolist(), every.features.tolist(), strict=True)])), 4),
            "sampled_s": round(sampled_s, 2), "every_day_s": round(every_s, 2)}
    return out


def _train(history) -> dict:
    from services.forecasting.forecasts import Forecasts
    from services.forecasting.model import DEFAULT_PARAMS, QuantileForecaster, backtest

    out: dict = {"params": DEFAULT_PARAMS}
    rss_before = _self_peak_mb()
    out["load_before_fit"] = wait_for_quiet(max_wait_s=QUIET_WAIT_S)
    with recording_backtest() as record:
        started = time.perf_counter()
        model = QuantileForecaster().fit(history)
        fit_s = time.perf_counter() - started
    out["fit"] = {"seconds": round(fit_s, 1), "training_rows_s": round(record["training_rows_s"][0], 1),
                  "xgboost_train_and_rest_s": round(fit_s - record["training_rows_s"][0], 1),
                  "process_peak_rss_mb_before": rss_before, "process_peak_rss_mb_after": _self_peak_mb()}
    out["load_after_fit_1min"] = round(os.getloadavg()[0], 2)

    out["load_before_backtest"] = wait_for_quiet(max_wait_s=QUIET_WAIT_S)
    with recording_backtest() as record:
        started = time.perf_counter()
        report = backtest(history, cutoffs=3, horizon=28)
        backtest_s = time.perf_counter() - started
    out["backtest"] = {"seconds": round(backtest_s, 1), "cutoffs": report["cutoffs"],
                       "fits_s": [round(x, 1) for x in record["fit_s"]],
                       "training_rows_s": [round(x, 1) for x in record["training_rows_s"]],
                       "predicts_s": [round(x, 2) for x in record["predict_s"]],
                       "overall_wape": {k: round(v["wape"], 3) for k, v in report["overall"].items()},
                       "overall_coverage": round(report["overall"]["model"]["coverage"], 3)}
    out["load_after_backtest_1min"] = round(os.getloadavg()[0], 2)

    out["load_before_from_history"] = wait_for_quiet(max_wait_s=QUIET_WAIT_S)
    with recording_explanations() as explaining:
        started = time.perf_counter()
        forecasts = Forecasts.from_history(model, history, report)
    out["from_history_s"] = round(time.perf_counter() - started, 1)
    out["of_which_explanations_s"] = round(explaining["seconds"], 1)
    out["load_after_from_history_1min"] = round(os.getloadavg()[0], 2)
    out["process_peak_rss_mb"] = _self_peak_mb()
    return out, forecasts


@pytest.mark.bench
def test_forecasting_speed(tmp_path):
    started = time.perf_counter()
    history = synthetic_history(N_ITEMS, N_DAYS, seed=42)
    data = {"items": N_ITEMS, "days": N_DAYS, "generate_s": round(time.perf_counter() - started, 1),
            "mean_units_per_item_day": round(float(np.nanmean(history.units)), 3),
            "zero_share": round(float((np.nan_to_num(history.units, nan=1) == 0).mean()), 3),
            "censored_share": round(float(np.isnan(history.units).mean()), 4),
            "categories": int(len(set(history.categories.tolist())))}
    training, forecasts = _train(history)
    item_ids = history.item_ids.copy()
    del history

    arrays, files, params = forecasts.to_artifact()
    report = {"data": data, "training": training, "machine": {"cpus": os.cpu_count()}}

    print("\n" + json.dumps({"forecasting_training": report}, indent=2, ensure_ascii=False))
    url, drop = throwaway_database()  # skips here without PostgreSQL, after the training figures
    url_s = url.render_as_string(hide_password=False)
    redis = redis_url()
    env = server_env(tmp_path, url_s, redis)
    server = None
    try:
        from services.forecasting.forecasts import Forecasts
        from shared import artifacts
        from shared.db import session_scope

        created = new_shop(env, "bench-fc")
        shop_id, key = created["shop"]["id"], created["api_key"]["key"]
        settings = bench_settings(env)
        overall = forecasts.backtest["overall"]
        metrics = {"wape": overall["model"]["wape"], "coverage": overall["model"]["coverage"],
                   "seasonal_naive_wape": overall["seasonal_naive"]["wape"]}
        started = time.perf_counter()
        with session_scope(shop_id, url_s) as session:
            row = artifacts.save_version(session, settings, shop_id, "forecasting", arrays=arrays, files=files,
                                         params=params, metrics=metrics,
                                         data_window={"items": N_ITEMS, "days": N_DAYS})
            artifacts.promote(session, row)
            artifact_dir, version = settings.artifact_dir / row.artifact_path, row.version
        save_s = time.perf_counter() - started
        artifact_files = {p.name: round(sum(f.stat().st_size for f in ([p] if p.is_file() else p.rglob("*"))) / 1e6, 2)
                          for p in sorted(artifact_dir.iterdir())}
        array_mb = {k: round(v.nbytes / 1e6, 2) for k, v in arrays.items()}

        # In process, on the bundle as a worker rebuilds it from the artifact.
        artifact = artifacts.load_artifact(row, settings)
        started = time.perf_counter()
        served = Forecasts.from_artifact(artifact.arrays, artifact.files, artifact.params)
        from_artifact_s = time.perf_counter() - started
        rng = np.random.default_rng(7)
        picked = [str(x) for x in rng.choice(item_ids, SERVED_ITEMS, replace=False)]
        item_s, explain_s, failing = [], [], {}
        for item_id in picked:
            t0 = time.perf_counter()
            try:
                served.item(item_id, 28)
            except Exception as exc:  # a service bug, reported below; these ids are left out of the load
                failing[item_id] = f"{exc.__class__.__name__}: {exc}"
                continue
            item_s.append(time.perf_counter() - t0)
            if len(explain_s) < 300:
                t0 = time.perf_counter()
                served.explain(served.row(item_id), 28)
                explain_s.append(time.perf_counter() - t0)
        answered = [item_id for item_id in picked if item_id not in failing]
        sampling = _sampling_agreement(served, [served.row(item_id) for item_id in picked[:500]])
        in_process = {"items_tried": len(picked), "explanation_sampling_vs_every_day_500_items": sampling,
                      "items_answered": len(answered), "forecasts_item": _ms(item_s),
                      "explain_part_300_items": _ms(explain_s), "from_artifact_s": round(from_artifact_s, 2),
                      "items_failing": len(failing),
                      "failing_examples": dict(list(failing.items())[:3])}
        del served, artifact, forecasts, arrays

        port = free_port()
        server = start_server("all-in-one", port, env, tmp_path / "server.log")
        base = f"http://127.0.0.1:{port}"
        time.sleep(1.0)
        workers = child_pids(server.pid)
        headers = {"Authorization": f"Bearer {key}"}
        paths = [f"/v1/forecasts/items/{item_id}?horizon=28" for item_id in answered]
        rss_idle = {pid: status_mb(pid, "VmRSS") for pid in workers}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            t0 = time.perf_counter()
            first = client.get(paths[0])
            first_s = time.perf_counter() - t0
            assert first.status_code == 200, first.text
            body = first.json()
            assert body["model_version"] == version and len(body["points"]) == 28
            missing = client.get("/v1/forecasts/items/NO-SUCH-ITEM?horizon=28")
            failing_http = {item_id: client.get(f"/v1/forecasts/items/{item_id}?horizon=28").status_code
                            for item_id in list(failing)[:3]}
        warm = run_paths(port, paths, headers, seconds=3)  # every worker loads the bundle
        rss_warm = {pid: status_mb(pid, "VmRSS") for pid in child_pids(server.pid)}

        load_capacity = wait_for_quiet(max_wait_s=QUIET_WAIT_S)
        capacity = run_paths(port, paths, headers, seconds=10)
        load_paced = wait_for_quiet(max_wait_s=QUIET_WAIT_S)
        paced = run_paths(port, paths, headers, seconds=15, rate=max(1.0, capacity["rps"] / 2))
        # The trivial endpoint through the same gateway at the same pace: what a request costs
        # before any forecasting work, so the ratio says what the forecast adds.
        run_paths(port, [TRIVIAL], headers, seconds=1)
        load_trivial = wait_for_quiet(max_wait_s=QUIET_WAIT_S)
        trivial = run_paths(port, [TRIVIAL], headers, seconds=15, rate=max(1.0, capacity["rps"] / 2))
        load_end = round(os.getloadavg()[0], 2)
        workers_end = child_pids(server.pid)
        rss_end = {pid: status_mb(pid, "VmRSS") for pid in workers_end}
        peak = {pid: status_mb(pid, "VmHWM") for pid in workers_end}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()

    report["serving"] = {
        "server": {"target": "all-in-one", "workers": len(workers), "worker_class": "gthread",
                   "redis_rate_limiter": bool(redis), "client_processes": 4},
        "artifact": {"files_mb_on_disk": artifact_files, "total_mb_on_disk":
                     round(sum(artifact_files.values()), 2), "arrays_mb_in_memory": array_mb,
                     "save_version_and_promote_s": round(save_s, 2)},
        "in_process": in_process,
        "first_request_s_including_bundle_load": round(first_s, 2),
        "unknown_item_status": missing.status_code,
        "failing_items_http_status": failing_http,
        "memory_mb": {"worker_rss_idle": rss_idle, "worker_rss_after_warmup": rss_warm,
                      "worker_rss_end": rss_end, "worker_peak_vmhwm": peak},
        "worker_pids_changed": sorted(workers) != sorted(workers_end),
        "warmup": warm,
        "capacity_unpaced": {**capacity, "load_before": load_capacity},
        "paced_half_capacity": {**paced, "load_before": load_paced},
        "trivial_same_pace": {**trivial, "load_before": load_trivial, "loadavg_1min_after": load_end},
        "latency_ratio_forecast_vs_trivial": {q: round(paced[q] / trivial[q], 2) for q in ("p50_ms", "p99_ms")
                                              if trivial.get(q)},
        "sample_answer": {"note": body["note"], "explanation": body["explanation"][:3], "total": body["total"]},
    }
    print("\n" + json.dumps({"forecasting_speed": report}, indent=2, ensure_ascii=False))
    assert training["fit"]["seconds"] > 0 and training["backtest"]["seconds"] > 0
    assert capacity["requests"] > 0 and paced["requests"] > 0
    assert capacity["failures"] == 0 and paced["failures"] == 0
