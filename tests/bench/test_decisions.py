"""Outcome checks against the truth the demo generator planted, and what a decision costs.

Run alone with `.venv/bin/python -m pytest tests/bench/test_decisions.py -q -s -p no:cacheprovider`.

1. Demo shops ``infra.demo_data.generate(seed=42, scale, end_date="2026-11-20")`` for scales 0.3 and
   1.0, imported through the gateway (products, orders, order lines, inventory), pricing trained.
2. Every clean regular price change of ``ground_truth.json`` (one price through the 28 days before
   and the window after, in stock, listed; tests/support/demo_shops.clean_price_changes) becomes a
   back-dated ``POST /v1/decisions`` at its new price, for windows of 14 and 28 days; then
   ``POST /v1/decisions/outcomes/check``. Against the truth ``(new/old) ** elasticity``: how often
   the measured 90% interval covers it, how many outcomes are conclusive, their median interval
   width (high ÷ low); the same share among the busiest quarter of the decisions (by units a day
   before the change).
3. Cost: ``POST /v1/decisions`` (it asks pricing for the item and a simulation) against ``GET
   /v1/pricing/items/{id}`` alone, and the check's seconds per decision, in the same run.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date

import numpy as np

from infra.demo_data import clean_price_changes
from tests.conftest import make_shop
from tests.support import DEMO_END
from tests.support.demo_shops import import_demo
from tests.support.imports import retrain

END = date.fromisoformat(DEMO_END)


def _shop(app, demo_data, scale: float):
    client = app.test_client()
    out = demo_data.files(seed=42, scale=scale)
    shop = make_shop(client, f"决策基准店 {scale}")
    import_demo(client, shop, out, ["products", "orders", "order_items", "inventory"])
    assert retrain(client, shop.headers(), "pricing")["status"] == "succeeded"
    return client, shop, json.loads((out / "ground_truth.json").read_text())


def _run(client, shop, truth, window: int) -> dict:
    h = shop.headers()
    changes = clean_price_changes(truth, END, 28, window)
    decided, post_ms, get_ms = {}, [], []
    for item_id, day, old, new in changes:
        started = time.perf_counter()
        reply = client.post("/v1/decisions", json={"kind": "price_change", "item_id": item_id, "value": {"price": new},
                                                   "effective_at": day, "outcome_window_days": window}, headers=h)
        post_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        client.get(f"/v1/pricing/items/{item_id}", headers=h)
        get_ms.append((time.perf_counter() - started) * 1000)
        if reply.status_code == 201:
            decided[reply.get_json()["id"]] = (item_id, old, new)
    started = time.perf_counter()
    job = client.post("/v1/decisions/outcomes/check?wait=120", headers=h).get_json()["job"]
    check_s = time.perf_counter() - started
    assert job["status"] == "succeeded", job
    covered, conclusive, widths, rates = [], 0, [], []
    for decision_id, (item_id, old, new) in decided.items():
        outcome = client.get(f"/v1/decisions/{decision_id}", headers=h).get_json()["outcome"]
        truth_ratio = (new / old) ** truth["items"][item_id]["elasticity"]
        low, high = outcome["interval"]["units_ratio"]
        covered.append(low <= truth_ratio <= high)
        widths.append(high / low)
        conclusive += outcome["verdict"] != "inconclusive"
        rates.append((outcome["observed"]["units_per_day_before"], outcome["verdict"] != "inconclusive"))
    busiest = sorted(rates, reverse=True)[:max(1, len(rates) // 4)]
    return {"window": window, "decisions": len(decided), "coverage": float(np.mean(covered)),
            "conclusive_share": conclusive / max(1, len(decided)), "median_width": statistics.median(widths),
            "conclusive_busiest_quarter": float(np.mean([c for _, c in busiest])),
            "busiest_quarter_min_units_per_day": busiest[-1][0],
            "post_ms": statistics.median(post_ms), "get_ms": statistics.median(get_ms),
            "check_ms_per_decision": 1000 * check_s / max(1, len(decided))}


def test_outcome_checks_against_the_planted_truth(app, demo_data):
    rows = []
    for scale in (0.3, 1.0):
        client, shop, truth = _shop(app, demo_data, scale)
        for window in (14, 28):
            row = {"scale": scale, **_run(client, shop, truth, window)}
            rows.append(row)
            print(f"scale {scale} window {window}: {row['decisions']} decisions, coverage {row['coverage']:.1%}, "
                  f"conclusive {row['conclusive_share']:.1%} (busiest quarter, "
                  f"≥{row['busiest_quarter_min_units_per_day']:.2f} units/day before: "
                  f"{row['conclusive_busiest_quarter']:.1%}), median width ×{row['median_width']:.2f}, "
                  f"POST {row['post_ms']:.1f} ms vs GET pricing {row['get_ms']:.1f} ms "
                  f"(×{row['post_ms'] / row['get_ms']:.2f}), check {row['check_ms_per_decision']:.1f} ms/decision")
    for row in rows:
        assert row["decisions"] >= 20 and 0.8 <= row["coverage"] <= 0.98, row
