"""Pricing through the gateway on the demo shop, whose true elasticities are known: the estimates
must recover them, the advice must respect its guardrails, and competitor undercuts must alert once."""

import json

import numpy as np
import pytest

from tests.conftest import make_shop
from tests.support.demo_shops import catalogue_titles, import_demo
from tests.support.imports import csv_bytes, import_file, retrain, wait_for_job, write


@pytest.fixture(scope="module")
def demo(app, demo_data):
    client = app.test_client()
    out = demo_data.files(seed=42, scale=1.0)
    truth = json.loads((out / "ground_truth.json").read_text())
    shop = make_shop(client, "定价测试店")
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["competitor_undercut"],
                                             "secret": "s" * 16}, headers=shop.headers()).get_json()
    body = import_demo(client, shop, out, ["products", "orders", "order_items", "inventory", "competitor_prices"])
    watch = wait_for_job(client, shop.headers(), {**body["job"]["result"]["follow_up_jobs"][0], "status": "queued"})
    job = retrain(client, shop.headers(), "pricing")
    assert job["status"] == "succeeded", job
    estimates = {}
    for item_id in truth["items"]:
        answer = client.get(f"/v1/pricing/items/{item_id}", headers=shop.headers("analyst"))
        if answer.status_code == 200:
            estimates[item_id] = answer.get_json()
    return {"client": client, "shop": shop, "truth": truth, "job": job, "watch": watch, "hook": hook,
            "estimates": estimates, "titles": catalogue_titles(out)}


def test_estimates_recover_the_true_elasticities(demo):
    items, estimates = demo["truth"]["items"], demo["estimates"]
    assert len(estimates) >= 0.9 * len(items)
    measured = [i for i, e in estimates.items() if e["elasticity"]["method"] == "pooled"]
    assert len(measured) >= 0.8 * len(estimates)
    true = np.array([items[i]["elasticity"] for i in measured])
    value = np.array([estimates[i]["elasticity"]["value"] for i in measured])
    low = np.array([estimates[i]["elasticity"]["ci_low"] for i in estimates])
    high = np.array([estimates[i]["elasticity"]["ci_high"] for i in estimates])
    every_true = np.array([items[i]["elasticity"] for i in estimates])
    assert np.mean(np.sign(value) == np.sign(true)) >= 0.9
    assert np.median(np.abs(value - true)) <= 0.3
    assert 0.8 <= np.mean((every_true >= low) & (every_true <= high)) <= 0.95


def test_items_whose_price_never_moved_borrow_and_say_so(demo):
    fixed = [i for i, t in demo["truth"]["items"].items() if t["fixed_price"] and i in demo["estimates"]]
    assert fixed
    for item_id in fixed:
        elasticity = demo["estimates"][item_id]["elasticity"]
        assert elasticity["method"].startswith("borrowed") and "借用" in elasticity["note"]
        assert elasticity["ci_high"] - elasticity["ci_low"] > 0.5


def test_advice_stays_inside_the_guardrails(demo):
    client, h = demo["client"], demo["shop"].headers("analyst")
    body = client.get("/v1/pricing/suggestions?limit=1000", headers=h).get_json()
    assert body["items"]
    assert all(r["title"] == demo["titles"][r["item_id"]] for r in body["items"])
    gains = [r["expected_profit_gain_per_day"] for r in body["items"]]
    assert gains == sorted(gains, reverse=True)
    for row in body["items"]:
        current, price = row["current_price"], row["price"]
        assert abs(price / current - 1) <= 0.10 + 1e-9
        product = demo["truth"]["items"][row["item_id"]]
        assert (price - product["cost"]) / price >= 0.10 - 1e-9 or row["action"] == "hold"
        if row["action"] != "hold":
            assert int(round(price)) % 10 in (8, 9) and row["confidence"] >= 0.8 and row["reason"]
    moves = [r for r in body["items"] if r["action"] != "hold"]
    assert moves and all(r["expected_profit_change_pct"] > 0 for r in moves)


def test_simulate_and_bad_input(demo):
    client, h = demo["client"], demo["shop"].headers("analyst")
    item_id = next(i for i, e in demo["estimates"].items() if e["elasticity"]["method"] == "pooled")
    current = demo["estimates"][item_id]["current_price"]
    lower = client.post("/v1/pricing/simulate", json={"item_id": item_id, "price": current * 0.9}, headers=h)
    assert lower.status_code == 200, lower.get_json()
    answer = lower.get_json()
    assert answer["expected"]["units"] > answer["at_current_price"]["units"]  # demand slopes down
    assert answer["low"]["units"] <= answer["expected"]["units"] <= answer["high"]["units"]
    assert client.post("/v1/pricing/simulate", json={"item_id": item_id, "price": 0}, headers=h).status_code == 422
    absurd = client.post("/v1/pricing/simulate", json={"item_id": item_id, "price": current * 50}, headers=h)
    assert absurd.status_code == 422 and "10 倍" in absurd.get_json()["detail"]
    missing = client.post("/v1/pricing/simulate", json={"item_id": "no-such-item", "price": 10}, headers=h)
    assert missing.status_code == 404 and "no-such-item" in missing.get_json()["detail"]
    assert client.get("/v1/pricing/items/no-such-item", headers=h).status_code == 404


def test_competitor_undercuts_alert_once_and_show_in_the_index(demo):
    client, h = demo["client"], demo["shop"].headers()
    watch = demo["watch"]["result"]
    assert watch["undercuts"] > 0 and watch["undercut_alerts_sent"] == watch["undercuts"]
    assert demo["job"]["result"]["undercut_alerts_sent"] == 0  # the retrain saw the same prices: no repeat
    deliveries = client.get(f"/v1/webhooks/{demo['hook']['id']}/deliveries?limit=1000", headers=h).get_json()["items"]
    assert len([d for d in deliveries if d["event"] == "competitor_undercut"]) == watch["undercuts"]
    view = client.get("/v1/pricing/competitors", headers=h).get_json()
    assert view["categories"] and len(view["undercuts"]) == watch["undercuts"]
    assert all(u["below_pct"] > 5 and u["title"] == demo["titles"][u["item_id"]] for u in view["undercuts"])


def test_rules_change_the_advice(demo):
    client, h = demo["client"], demo["shop"].headers()
    assert client.put("/v1/pricing/rules", json={"max_step": 0.05, "endings": [9]}, headers=h).status_code == 200
    assert client.get("/v1/pricing/rules", headers=h).get_json()["max_step"] == 0.05
    body = client.get("/v1/pricing/suggestions?limit=1000&action=change", headers=h).get_json()
    assert all(abs(r["price"] / r["current_price"] - 1) <= 0.05 + 1e-9 for r in body["items"])
    assert all(int(round(r["price"])) % 10 == 9 for r in body["items"])
    assert client.put("/v1/pricing/rules", json={"max_step": 2}, headers=h).status_code == 422
    assert client.put("/v1/pricing/rules", json={"max_step": 0.1, "endings": [9, 8]}, headers=h).status_code == 200


def test_a_shop_with_too_little_history_gets_a_409(client, tmp_path):
    shop = make_shop(client, "新定价店")
    assert client.get("/v1/pricing/items/a", headers=shop.headers()).status_code == 409
    orders = write(tmp_path / "o.csv", csv_bytes(["order_id", "created_at", "status"],
                                                  [["1", "2026-11-01 10:00:00", "paid"]]))
    items = write(tmp_path / "i.csv", csv_bytes(["order_id", "item_id", "quantity", "unit_price"],
                                                 [["1", "A", "1", "9.90"]]))
    for entity, path in (("orders", orders), ("order_items", items)):
        status, body = import_file(client, shop.headers(), path, entity, preset="generic", wait=60)
        assert status == 200 and body["job"]["status"] == "succeeded", body
    job = retrain(client, shop.headers(), "pricing", wait=60)
    assert job["status"] == "failed" and job["error"]["status"] == 409 and "8 周" in job["error"]["detail"]


def test_the_watch_reads_each_rivals_latest_price_only(client, tmp_path):
    """An old undercut a rival has since withdrawn is not an undercut; a rival's latest one is."""
    shop = make_shop(client, "比价店")
    products = write(tmp_path / "p.csv", csv_bytes(["item_id", "title", "category", "price"],
                                                    [["A", "羊毛大衣", "女装", "100.00"]]))
    rivals = write(tmp_path / "c.csv", csv_bytes(["item_id", "competitor", "price", "observed_at"], [
        ["A", "甲店", "50.00", "2026-11-01 10:00:00"], ["A", "甲店", "99.00", "2026-11-10 10:00:00"],
        ["A", "乙店", "99.00", "2026-11-01 10:00:00"], ["A", "乙店", "80.00", "2026-11-10 10:00:00"]]))
    for entity, path in (("products", products), ("competitor_prices", rivals)):
        status, body = import_file(client, shop.headers(), path, entity, preset="generic", wait=60)
        assert status == 200 and body["job"]["status"] == "succeeded", body
    view = client.get("/v1/pricing/competitors", headers=shop.headers("analyst")).get_json()
    assert [(u["competitor"], u["competitor_price"]) for u in view["undercuts"]] == [("乙店", 80.0)]
    assert view["categories"][0]["median_price_index"] == 1.25  # 100 ÷ the cheapest latest price, 80
