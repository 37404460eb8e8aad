"""Forecasts through the gateway on the demo shop, trained by a job (a real worker in CI)."""

import pytest

from tests.conftest import make_shop
from tests.support.demo_shops import catalogue_titles, import_demo
from tests.support.imports import csv_bytes, import_file, retrain, write


@pytest.fixture(scope="module")
def demo(app, demo_data):
    client = app.test_client()
    out = demo_data.files(seed=5, scale=0.08)
    shop = make_shop(client, "预测测试店")
    import_demo(client, shop, out, ["products", "orders", "order_items", "inventory"])
    job = retrain(client, shop.headers(), "forecasting")
    assert job["status"] == "succeeded", job
    top = client.get("/v1/forecasts/categories?horizon=28", headers=shop.headers()).get_json()
    return {"client": client, "shop": shop, "job": job, "categories": top, "titles": catalogue_titles(out)}


def test_training_backtests_against_baselines(demo):
    result = demo["job"]["result"]
    metrics = result["metrics"]
    assert {"wape", "seasonal_naive_wape", "moving_average_wape", "coverage"} <= set(metrics)
    assert result["promoted"] == (metrics["wape"] < metrics["seasonal_naive_wape"])
    backtest = demo["client"].get("/v1/forecasts/backtest", headers=demo["shop"].headers("analyst")).get_json()
    for horizon in ("1", "7", "28"):
        row = backtest["horizons"][horizon]
        assert set(row) == {"model", "seasonal_naive", "moving_average"}
        assert {"wape", "mase", "bias"} <= set(row["model"]) and "coverage" in row["model"]


def test_item_forecast_starts_after_the_last_day_of_data(demo):
    client, h = demo["client"], demo["shop"].headers("analyst")
    item = demo["categories"]["categories"][0]["drivers"][0]["item_id"]
    body = client.get(f"/v1/forecasts/items/{item}?horizon=14", headers=h).get_json()
    assert body["as_of"] == "2026-11-20" and body["points"][0]["date"] == "2026-11-21" and len(body["points"]) == 14
    assert body["title"] == demo["titles"][item]
    assert all(p["p10"] <= p["p50"] <= p["p90"] for p in body["points"])
    assert body["explanation"] and all(e["text"] and "feature" in e for e in body["explanation"])


def test_bad_requests(demo):
    client, h = demo["client"], demo["shop"].headers("analyst")
    assert client.get("/v1/forecasts/items/x?horizon=0", headers=h).status_code == 422
    assert client.get("/v1/forecasts/items/x?horizon=91", headers=h).status_code == 422
    missing = client.get("/v1/forecasts/items/no-such-item", headers=h)
    assert missing.status_code == 404 and "no-such-item" in missing.get_json()["detail"]
    assert client.get("/v1/replenishment?service_level=1.5", headers=h).status_code == 422


def test_replenishment_and_category_outlook(demo):
    client, h = demo["client"], demo["shop"].headers("analyst")
    plans = client.get("/v1/replenishment?service_level=0.95&limit=100", headers=h).get_json()["items"]
    assert plans and all({"item_id", "on_hand", "on_order", "forecast_over_lead_time", "safety_stock", "reorder_qty",
                          "stockout_date", "risk"} <= set(p) for p in plans)
    assert all(p["title"] == demo["titles"][p["item_id"]] for p in plans)  # named as the catalogue names it
    risks = [p["risk"] for p in plans]
    assert risks == sorted(risks, key=["high", "medium", "low"].index)
    longer = client.get(f"/v1/replenishment?item_id={plans[0]['item_id']}&lead_time_days=30", headers=h).get_json()
    assert longer["items"][0]["lead_time_days"] == 30
    assert longer["items"][0]["forecast_over_lead_time"] >= plans[0]["forecast_over_lead_time"]
    outlook = demo["categories"]["categories"]
    growths = [c["growth"] for c in outlook if c["growth"] is not None]
    assert growths == sorted(growths, reverse=True)


def test_a_shop_without_enough_history_gets_a_clear_409(client, tmp_path):
    shop = make_shop(client, "新开的店")
    assert client.get("/v1/forecasts/items/a", headers=shop.headers()).status_code == 409
    orders = write(tmp_path / "o.csv", csv_bytes(["order_id", "created_at", "status"],
                                                  [["1", "2026-11-01 10:00:00", "paid"]]))
    lines = write(tmp_path / "l.csv", csv_bytes(["order_id", "item_id", "quantity", "unit_price"],
                                                 [["1", "a", "1", "9"]]))
    import_file(client, shop.headers(), orders, "orders")
    import_file(client, shop.headers(), lines, "order_items")
    job = retrain(client, shop.headers(), "forecasting")
    assert job["status"] == "failed" and job["error"]["status"] == 409 and "8 周" in job["error"]["detail"]
