"""Pricing: elasticity recovery and profit uplift on the demo shop (true demand known), a sanity check on
real transactions, and the time to estimate and advise 10,000 items.

Run alone with `.venv/bin/python -m pytest tests/bench/test_pricing.py -q -s -p no:cacheprovider`.

1. Demo shops ``infra.demo_data.generate(seed, scale=1.0, end_date="2026-11-20")`` for seeds 42, 7, 11:
   paid order lines of
   the Tmall exports (tests/bench/fc_data.demo_lines, price = 价格), inventory.csv, products.csv →
   ``build_panel`` → ``estimate`` (the job's code). Versus ``ground_truth.json`` items[].elasticity:
   median absolute error and sign accuracy over items measured from their own price moves
   (method "pooled"), and 90%-interval coverage over every item.
2. Profit uplift under the generator's TRUE demand curves (not the model's): for each item, the
   advice the API would give (catalogue price and cost of products.csv, latest competitor prices
   as reference, default guardrails), then true daily units D(p) = base_daily_demand ×
   (p / base_price)^true_elasticity on a normal day; uplift = Σ (p_new − cost)·D(p_new) ÷
   Σ (p_now − cost)·D(p_now) − 1 over all items (held items count with no change).
3. UCI Online Retail (real, a public data set): the 400 best-selling StockCodes (fc_data.uci_lines),
   price = UnitPrice, category = StockCode[:2], no stock data: share of negative elasticities and
   their distribution.
4. Speed: a synthetic panel of 10,000 items × 730 days (tests/support/prices.py: 40 categories, Poisson demand, regime
   prices seen only on sale days), timed: ``estimate``, ``DemandCurves.from_panel`` and ``advise``
   for every item.
Targets (issue 7): median abs error ≤ 0.3, sign right ≥ 90%, coverage 80–95%, positive true uplift.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from tests.bench.fc_data import UCI, demo_lines, uci_lines, wait_for_quiet
from tests.support import DEMO_END

SEEDS = (42, 7, 11)


def _advice_for_all(curves, products: pd.DataFrame, rivals: pd.DataFrame) -> pd.DataFrame:
    from services.pricing import competitors, tasks
    from services.pricing.optimise import Guardrails, advise

    latest = competitors.latest(rivals)
    by_item = latest.groupby("item_id")["price"]
    catalogue = products.set_index("item_id")
    rows = []
    for k, item_id in enumerate(curves.estimates.item_ids):
        product = catalogue.loc[item_id]
        mine = by_item.get_group(item_id) if item_id in by_item.groups else pd.Series(dtype=float)
        economics = tasks.economics(curves, k, float(product["price"]), float(product["cost"]), mine)
        if economics.daily_units <= 0:
            continue
        advice = advise(economics, Guardrails())
        rows.append({"item_id": item_id, "now": economics.price, "new": advice["price"], "cost": economics.cost,
                     "action": advice["action"], "model_gain_pct": advice["expected_profit_change_pct"]})
    return pd.DataFrame(rows)


def _demo(seed: int, tmp_path) -> dict:
    from infra.demo_data import generate
    from services.pricing.elasticity import DemandCurves, build_panel, estimate

    out = tmp_path / f"demo{seed}"
    generate(out, seed=seed, scale=1.0, end_date=DEMO_END)
    truth = json.loads((out / "ground_truth.json").read_text())["items"]
    lines, stock, catalogue, _facts = demo_lines(out)
    lines["price"] = lines["revenue"] / lines["units"]
    started = time.perf_counter()
    panel = build_panel(lines, stock, catalogue)
    est = estimate(panel)
    curves = DemandCurves.from_panel(panel, est)
    seconds = time.perf_counter() - started
    true = np.array([truth[i]["elasticity"] for i in est.item_ids])
    pooled = est.method == "pooled"
    covered = (true >= est.ci_low) & (true <= est.ci_high)
    products = pd.read_csv(out / "products.csv", dtype={"item_id": str})
    rivals = pd.read_csv(out / "competitor_prices.csv", dtype={"item_id": str}, parse_dates=["observed_at"])
    advice = _advice_for_all(curves, products, rivals)
    base = advice["item_id"].map(lambda i: truth[i]["base_daily_demand"])
    base_price = advice["item_id"].map(lambda i: truth[i]["base_price"])
    e = advice["item_id"].map(lambda i: truth[i]["elasticity"])
    demand_now = base * (advice["now"] / base_price) ** e
    demand_new = base * (advice["new"] / base_price) ** e
    profit_now = ((advice["now"] - advice["cost"]) * demand_now).sum()
    profit_new = ((advice["new"] - advice["cost"]) * demand_new).sum()
    moved = advice["action"] != "hold"
    per_item = ((advice["new"] - advice["cost"]) * demand_new) / ((advice["now"] - advice["cost"]) * demand_now) - 1
    return {
        "seed": seed, "items": int(len(est.item_ids)), "estimate_s": round(seconds, 2),
        "methods": pd.Series(est.method).value_counts().to_dict(),
        "pooled": {"items": int(pooled.sum()),
                   "median_abs_error": round(float(np.median(np.abs(est.value - true)[pooled])), 3),
                   "mean_error": round(float(np.mean((est.value - true)[pooled])), 3),
                   "sign_right": round(float(np.mean(np.sign(est.value[pooled]) == np.sign(true[pooled]))), 4),
                   "coverage_90": round(float(covered[pooled].mean()), 3),
                   "own_estimate_median_abs_error": round(float(np.nanmedian(np.abs(est.own - true)[pooled])), 3)},
        "all_items": {"median_abs_error": round(float(np.median(np.abs(est.value - true))), 3),
                      "coverage_90": round(float(covered.mean()), 3)},
        "advice": {"items": int(len(advice)), "moved": int(moved.sum()),
                   "raise": int((advice["action"] == "raise").sum()), "lower": int((advice["action"] == "lower").sum()),
                   "true_profit_uplift_pct_all_items": round(100 * (profit_new / profit_now - 1), 3),
                   "moved_items_with_true_gain": round(float((per_item[moved] > 0).mean()), 3) if moved.any() else None,
                   "model_expected_gain_pct_mean_moved": round(float(advice.loc[moved, "model_gain_pct"].mean()), 3)
                   if moved.any() else None,
                   "true_gain_pct_mean_moved": round(float(100 * per_item[moved].mean()), 3) if moved.any() else None},
        "sample": pd.DataFrame({"item_id": est.item_ids, "true": true, "estimate": np.round(est.value, 3),
                                "ci": [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(est.ci_low, est.ci_high, strict=True)],
                                "method": est.method}).head(8).to_dict("records"),
    }


def _uci() -> dict:
    from services.pricing.elasticity import build_panel, estimate

    lines, stock, catalogue, facts = uci_lines(top=400)
    lines["price"] = lines["revenue"] / lines["units"]
    started = time.perf_counter()
    est = estimate(build_panel(lines, stock, catalogue))
    seconds = time.perf_counter() - started
    pooled = est.method == "pooled"
    values = est.value[pooled]
    return {"data": facts["rule"], "items": int(len(est.item_ids)), "estimate_s": round(seconds, 2),
            "methods": pd.Series(est.method).value_counts().to_dict(),
            "pooled_negative_share": round(float((values < 0).mean()), 4),
            "pooled_ci_excludes_zero_negative": round(float((est.ci_high[pooled] < 0).mean()), 4),
            "pooled_quantiles_10_25_50_75_90": [round(float(q), 2) for q in np.quantile(values, [.1, .25, .5, .75, .9])]
            if len(values) else None}


def _speed() -> dict:
    from services.pricing import service as tasks
    from services.pricing.elasticity import DemandCurves, estimate
    from services.pricing.optimise import Guardrails, advise
    from tests.support.prices import synthetic_price_panel

    n, days = 10_000, 730
    panel, beta, _fixed = synthetic_price_panel(n, days, 40, seed=0)
    load = wait_for_quiet(max_wait_s=float(os.environ.get("BENCH_QUIET_WAIT_S", "300")))
    started = time.perf_counter()
    est = estimate(panel)
    estimate_s = time.perf_counter() - started
    started = time.perf_counter()
    curves = DemandCurves.from_panel(panel, est)
    curves_s = time.perf_counter() - started
    started = time.perf_counter()
    advised = 0
    for k in range(n):
        economics = tasks.economics(curves, k, 100.0, 45.0, pd.Series(dtype=float))
        if economics.daily_units > 0:
            advise(economics, Guardrails())
            advised += 1
    advise_s = time.perf_counter() - started
    pooled = est.method == "pooled"
    return {"items": n, "days": days, "categories": 40, "load_before": load, "estimate_s": round(estimate_s, 1),
            "demand_curves_s": round(curves_s, 1), "advise_all_s": round(advise_s, 1), "advised": advised,
            "total_s": round(estimate_s + curves_s + advise_s, 1),
            "synthetic_truth_check": {"pooled": int(pooled.sum()),
                                      "median_abs_error": round(float(np.median(np.abs(est.value - beta)[pooled])), 3),
                                      "mean_error": round(float(np.mean((est.value - beta)[pooled])), 3),
                                      "coverage_90": round(float(np.mean((beta >= est.ci_low) & (beta <= est.ci_high))),
                                                           3)}}


@pytest.mark.bench
def test_pricing(tmp_path):
    report = {"demo_shops": [_demo(seed, tmp_path) for seed in SEEDS]}
    report["uci_online_retail"] = _uci() if UCI.exists() else {"skipped": f"{UCI} not found"}
    report["speed_10k_items"] = _speed()
    report["targets"] = {"median_abs_error_max": 0.3, "sign_right_min": 0.9, "coverage_90": [0.8, 0.95],
                         "true_profit_uplift": "> 0"}
    print("\n" + json.dumps({"pricing": report}, indent=2, ensure_ascii=False, default=str))
    assert all(shop["pooled"]["items"] > 0 for shop in report["demo_shops"])
