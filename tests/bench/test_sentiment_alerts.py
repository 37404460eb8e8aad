"""Sentiment on the demo shop, whose review labels, aspects and complaint spike are known.

Run alone with `.venv/bin/python -m pytest tests/bench/test_sentiment_alerts.py -q -s -p no:cacheprovider`.

For each seed, ``infra.demo_data.generate(seed, scale=1.0, end_date="2026-11-20")`` writes a shop; its products and
reviews are imported through the gateway (embedded mode, in process) and scored by the
`sentiment.score` job the import starts (default model: the shop never retrains here). Reported:
- alerts: `GET /v1/sentiment/alerts` vs the planted spike of ``ground_truth.json`` (the item that
  sold most in the last 60 days gets mostly-negative 质量 reviews from 21 days before the end):
  found or not, whether the alert names 质量, and every other alerted item as a false alarm;
- review labels vs the generator's labels (accuracy, macro-F1 over positive/negative);
- aspects vs the generator's (aspect, polarity) pairs per review: precision and recall of the
  pairs the service returns (only the six aspects the generator writes about are counted).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.support import DEMO_END

SEEDS = (42, 7, 11)
GENERATED_ASPECTS = {"物流", "质量", "价格", "客服", "包装", "尺码"}


def _one_shop(app, tmp_path, seed: int) -> dict:
    from infra.demo_data import generate
    from services.sentiment.model import accuracy_and_macro_f1
    from tests.conftest import make_shop
    from tests.support.imports import import_file

    out = tmp_path / f"demo{seed}"
    generate(out, seed=seed, scale=1.0, end_date=DEMO_END)
    truth = json.loads((out / "ground_truth.json").read_text())
    client = app.test_client()
    shop = make_shop(client, f"告警店{seed}")
    for entity, name in (("products", "products.csv"), ("reviews", "reviews.csv")):
        status, body = import_file(client, shop.headers(), out / name, entity, wait=120)
        assert status == 200 and body["job"]["status"] == "succeeded", body
    job = {"id": body["job"]["result"]["follow_up_jobs"][0]["id"], "status": "queued"}
    while job["status"] not in ("succeeded", "failed"):
        job = client.get(f"/v1/jobs/{job['id']}?wait=120", headers=shop.headers()).get_json()
    assert job["status"] == "succeeded", job
    h = shop.headers("analyst")
    alerts = client.get("/v1/sentiment/alerts", headers=h).get_json()["alerts"]
    spike = truth["planted_spike"]
    found = [a for a in alerts if a["item_id"] == spike["item_id"]]

    reviews = pd.read_csv(out / "reviews.csv", dtype=str)
    labels = truth["reviews"]
    results = []
    for start in range(0, len(reviews), 1000):
        chunk = reviews["text"].iloc[start:start + 1000].tolist()
        results += client.post("/v1/sentiment/analyze", json={"texts": chunk}, headers=h).get_json()["results"]
    known = [(labels[r], res) for r, res in zip(reviews["review_id"], results, strict=True) if r in labels]
    y = np.array([1 if t["label"] == "positive" else 0 for t, _ in known])
    p = np.array([res["score"] for _, res in known])
    returned = {(i, a["aspect"], a["label"]) for i, (_t, res) in enumerate(known) for a in res["aspects"]
                if a["aspect"] in GENERATED_ASPECTS}
    expected = {(i, aspect, polarity) for i, (t, _r) in enumerate(known) for aspect, polarity in t["aspects"].items()}
    hits = len(returned & expected)
    return {
        "seed": seed, "reviews": len(reviews), "scoring_job_s": job["result"]["seconds"],
        "planted_spike": {k: spike[k] for k in ("item_id", "aspect", "start_date")},
        "spike_found": bool(found), "aspect_named": found[0]["aspect"] if found else None,
        "false_alarms": [{"item_id": a["item_id"], "aspect": a["aspect"], "recent": a["recent"],
                          "p_value": a["p_value"]} for a in alerts if a["item_id"] != spike["item_id"]],
        "spike_alert": {k: found[0][k] for k in ("recent", "baseline", "p_value", "aspect_counts")} if found else None,
        "labels_vs_truth": {k: round(v, 4) if isinstance(v, float) else v
                            for k, v in accuracy_and_macro_f1(y, p).items()},
        "aspect_pairs": {"returned": len(returned), "expected": len(expected),
                         "precision": round(hits / max(len(returned), 1), 4),
                         "recall": round(hits / max(len(expected), 1), 4)},
    }


@pytest.mark.bench
def test_sentiment_alerts_on_the_demo_shop(app, tmp_path):
    shops = [_one_shop(app, tmp_path, seed) for seed in SEEDS]
    summary = {"spikes_found": sum(s["spike_found"] for s in shops), "shops": len(shops),
               "aspect_named_right": sum(s["aspect_named"] == s["planted_spike"]["aspect"] for s in shops),
               "false_alarms": sum(len(s["false_alarms"]) for s in shops)}
    print("\n" + json.dumps({"sentiment_alerts": {"summary": summary, "shops": shops}}, indent=2,
                            ensure_ascii=False))
    assert all(s["reviews"] > 0 for s in shops)
