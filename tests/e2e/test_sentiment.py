"""Sentiment through the gateway on the demo shop: reviews imported, scored by a job (a real worker in
CI), summarised, a planted complaint spike found, and the model refined from the shop's ratings."""

import json

import pytest

from tests.conftest import make_shop
from tests.support.demo_shops import catalogue_titles, import_demo
from tests.support.imports import csv_bytes, import_file, retrain, wait_for_job, write


@pytest.fixture(scope="module")
def demo(app, demo_data):
    client = app.test_client()
    out = demo_data.files(seed=5, scale=0.2)
    truth = json.loads((out / "ground_truth.json").read_text())
    shop = make_shop(client, "评价测试店")
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["negative_review_spike"],
                                             "secret": "s" * 16}, headers=shop.headers()).get_json()
    body = import_demo(client, shop, out, ["products", "reviews"])
    [follow_up] = body["job"]["result"]["follow_up_jobs"]
    assert follow_up["kind"] == "sentiment.score"
    scoring = wait_for_job(client, shop.headers(), {"id": follow_up["id"], "status": "queued"})
    assert scoring["status"] == "succeeded", scoring
    return {"client": client, "shop": shop, "truth": truth, "scoring": scoring, "hook": hook,
            "reviews": body["job"]["result"]["rows_loaded"], "dir": out}


def test_imported_reviews_are_scored_by_a_job(demo):
    result = demo["scoring"]["result"]
    assert result["model_version"] == 0  # the default model: nothing refined yet
    assert result["reviews_scored"] == demo["reviews"] > 1000


def test_the_planted_spike_is_an_alert_naming_its_aspect_and_a_webhook_event(demo):
    client, h, spike = demo["client"], demo["shop"].headers("analyst"), demo["truth"]["planted_spike"]
    body = client.get("/v1/sentiment/alerts", headers=h).get_json()
    assert body["as_of"] == "2026-11-20"
    assert body["alerts"] and body["alerts"][0]["item_id"] == spike["item_id"]
    assert body["alerts"][0]["aspect"] == spike["aspect"] and body["alerts"][0]["examples"]
    assert body["alerts"][0]["title"] == catalogue_titles(demo["dir"])[spike["item_id"]]
    assert len(body["alerts"]) <= 2  # a handful of false alarms at most
    assert demo["scoring"]["result"]["alerts_sent"] == len(body["alerts"])
    deliveries = client.get(f"/v1/webhooks/{demo['hook']['id']}/deliveries", headers=demo["shop"].headers())
    events = [d for d in deliveries.get_json()["items"] if d["event"] == "negative_review_spike"]
    assert len(events) == len(body["alerts"])


def test_item_summary_shows_the_complaint_and_the_falling_trend(demo):
    client, h, spike = demo["client"], demo["shop"].headers("analyst"), demo["truth"]["planted_spike"]
    body = client.get(f"/v1/sentiment/items/{spike['item_id']}?weeks=12", headers=h).get_json()
    assert body["reviews"] == body["scored"] > 50 and body["title"] == catalogue_titles(demo["dir"])[spike["item_id"]]
    assert body["top_complaints"][0]["aspect"] == spike["aspect"]
    assert body["top_complaints"][0]["count"] >= 10 and body["top_complaints"][0]["examples"]
    trend = [w for w in body["trend"] if w["reviews"]]
    assert len(body["trend"]) == 12 and trend[-1]["positive_rate"] < body["positive_rate"]
    assert sum(body["labels"].values()) == body["scored"]


def test_complaint_examples_carry_the_clause_they_were_read_from(demo):
    client, h, spike = demo["client"], demo["shop"].headers("analyst"), demo["truth"]["planted_spike"]
    top = client.get(f"/v1/sentiment/items/{spike['item_id']}", headers=h).get_json()["top_complaints"][0]
    assert len(top["example_clauses"]) == len(top["examples"])
    marked = [c for c in top["example_clauses"] if c]
    assert marked and all(clause in text for clause, text in zip(top["example_clauses"], top["examples"],
                                                                 strict=True))


def test_categories_rank_by_positive_rate_and_list_the_weakest_items(demo):
    client, h, truth = demo["client"], demo["shop"].headers("analyst"), demo["truth"]
    body = client.get("/v1/sentiment/categories?weeks=8", headers=h).get_json()
    assert body["as_of"] == "2026-11-20" and body["categories"]
    rates = [c["positive_rate"] for c in body["categories"] if c["positive_rate"] is not None]
    assert rates == sorted(rates) and all(len(c["trend"]) == 8 for c in body["categories"])
    spiked = truth["items"][truth["planted_spike"]["item_id"]]["category"]
    assert spiked in {c["category"] for c in body["categories"]}
    items = body["items"]
    assert items and [i["positive_rate"] for i in items] == sorted(i["positive_rate"] for i in items)
    titles = catalogue_titles(demo["dir"])
    assert all(i["reviews"] >= 5 and i["title"] == titles[i["item_id"]] for i in items)
    assert client.get("/v1/sentiment/categories?weeks=0", headers=h).status_code == 422


def test_analyze_reads_aspects_and_refuses_bad_input(demo):
    client, h = demo["client"], demo["shop"].headers("analyst")
    reply = client.post("/v1/sentiment/analyze", json={"texts": ["质量很好，但是物流太慢了", "非常失望，不推荐", ""]},
                        headers=h)
    assert reply.status_code == 200, reply.get_json()
    mixed, negative, empty = reply.get_json()["results"]
    assert {a["aspect"]: a["label"] for a in mixed["aspects"]} == {"质量": "positive", "物流": "negative"}
    assert negative["label"] == "negative" and negative["score"] < 0.3
    assert empty["label"] == "neutral" and "空文本" in empty["note"]
    too_many = client.post("/v1/sentiment/analyze", json={"texts": ["好"] * 1001}, headers=h)
    assert too_many.status_code == 422 and "1000" in json.dumps(too_many.get_json(), ensure_ascii=False)
    not_text = client.post("/v1/sentiment/analyze", json={"texts": ["好", 3]}, headers=h)
    assert not_text.status_code == 422 and "texts.1" in not_text.get_json()["errors"], not_text.get_json()
    assert client.post("/v1/sentiment/analyze", json={"texts": []}, headers=h).status_code == 422
    assert client.post("/v1/sentiment/analyze", json={"texts": ["好"]},
                       headers=demo["shop"].headers("client")).status_code == 403


def test_unknown_item_is_404_and_a_catalogue_item_without_reviews_is_not(demo):
    client, h = demo["client"], demo["shop"].headers("analyst")
    missing = client.get("/v1/sentiment/items/no-such-item", headers=h)
    assert missing.status_code == 404 and "no-such-item" in missing.get_json()["detail"]


def test_shop_aspect_terms_are_used_after_a_rescoring_job(demo):
    client, h = demo["client"], demo["shop"].headers()
    reply = client.put("/v1/sentiment/aspects", json={"aspects": {"售后": ["退货"]}}, headers=h)
    assert reply.status_code == 202, reply.get_json()
    job = wait_for_job(client, h, reply.get_json()["job"])
    assert job["status"] == "succeeded" and job["result"]["reviews_scored"] == demo["reviews"]
    assert client.get("/v1/sentiment/aspects", headers=h).get_json() == {"aspects": {"售后": ["退货"]}}
    [result] = client.post("/v1/sentiment/analyze", json={"texts": ["申请退货了，很失望"]},
                           headers=h).get_json()["results"]
    assert "售后" in {a["aspect"] for a in result["aspects"]}
    assert client.put("/v1/sentiment/aspects", json={"aspects": {"x": "not a list"}}, headers=h).status_code == 422


def test_retrain_refines_with_the_shops_ratings_and_keeps_it_only_if_better(demo):
    client, h = demo["client"], demo["shop"].headers()
    reply = client.post("/v1/admin/retrain?wait=120", json={"models": ["sentiment"]}, headers=h)
    assert reply.status_code in (200, 202), reply.get_json()
    job = wait_for_job(client, h, reply.get_json()["jobs"][0])
    assert job["status"] == "succeeded", job
    result = job["result"]
    held_out = result["held_out"]
    assert {"refined", "default"} <= set(held_out) and result["held_out_reviews"] > 100
    best = max(held_out.values(), key=lambda s: s["accuracy"])["accuracy"]
    assert held_out[result["chosen"]]["accuracy"] == best
    answer = client.post("/v1/sentiment/analyze", json={"texts": ["好"]}, headers=h).get_json()
    assert answer["model_version"] == (result["version"] if result["chosen"] == "refined" else 0)
    assert result["scoring"]["model_version"] == answer["model_version"]


def test_a_shop_with_few_ratings_keeps_the_default_model(client, tmp_path):
    shop = make_shop(client, "新评价店")
    rows = [[f"r{i}", "A1", f"u{i}", "5" if i % 2 else "1", "很好" if i % 2 else "很差", "2026-11-01 10:00:00"]
            for i in range(20)]
    path = write(tmp_path / "reviews.csv", csv_bytes(["review_id", "item_id", "user_id", "rating", "text",
                                                      "created_at"], rows))
    status, body = import_file(client, shop.headers(), path, "reviews", preset="generic", wait=60)
    assert status == 200 and body["job"]["status"] == "succeeded", body
    job = retrain(client, shop.headers(), "sentiment")
    assert job["status"] == "succeeded" and job["result"]["model"] == "default" and "50" in job["result"]["note"]
    summary = client.get("/v1/sentiment/items/A1", headers=shop.headers()).get_json()
    assert summary["scored"] == 20 and summary["positive_rate"] == pytest.approx(0.5)
