"""The public data sets of ../shared/data through the public API, as a new user would use them.

Skipped where the folder is not beside the repository (it is in CI and on development machines).
"""

import gzip
from pathlib import Path

import pytest

from tests.conftest import make_shop
from tests.support.imports import import_file, write

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.exists(), reason="../shared/data is not beside the repository")


def _finish(client, shop, reply):
    body = reply.get_json()
    jobs = body.get("jobs") or [body["job"]]
    done = []
    for job in jobs:
        if job["status"] not in ("succeeded", "failed"):
            job = client.get(f"/v1/jobs/{job['id']}?wait=120", headers=shop.headers()).get_json()
        done.append(job)
    return done


@needs_data
def test_recommendations_on_the_taobao_behaviour_log(client):
    shop = make_shop(client, "淘宝行为日志")
    status, body = import_file(client, shop.headers(), DATA / "taobao_userbehavior" / "userbehavior_head_users.csv",
                               "events", wait=120)
    assert status == 200 and body["job"]["result"]["rows_rejected"] == 0
    [job] = _finish(client, shop, client.post("/v1/admin/retrain?wait=120", json={"models": ["recommendation"]},
                                              headers=shop.headers()))
    assert job["status"] == "succeeded", job
    metrics = job["result"]["metrics"]
    assert "recall@20" in metrics and "popularity" in metrics["baselines"]
    # User 1 of the log, as the shop knows them: the raw id is pseudonymised on the way in.
    answer = client.get("/v1/recommendations/users/1?n=10", headers=shop.headers("client")).get_json()
    assert answer["fallback"] is None and len(answer["items"]) == 10
    assert all(p["reason"] for p in answer["items"])
    item = answer["items"][0]["item_id"]
    similar = client.get(f"/v1/recommendations/items/{item}/similar?n=5", headers=shop.headers("client")).get_json()
    assert similar["items"]


@needs_data
def test_forecasts_on_the_uci_online_retail_invoices(client, tmp_path):
    """The first 100,000 invoice lines (Dec 2010 – Feb 2011): orders and order lines from one file."""
    with gzip.open(DATA / "uci_online_retail" / "online_retail.csv.gz", "rt", encoding="utf-8") as source:
        head = [next(source) for _ in range(100_001)]
    path = write(tmp_path / "invoices.csv", "".join(head).encode())
    shop = make_shop(client, "UK gift shop")
    for entity in ("orders", "order_items"):
        status, body = import_file(client, shop.headers(), path, entity, timezone="Europe/London", wait=120)
        assert status == 200 and body["job"]["status"] == "succeeded", body
    [job] = _finish(client, shop, client.post("/v1/admin/retrain?wait=120", json={"models": ["forecasting"]},
                                              headers=shop.headers()))
    assert job["status"] == "succeeded", job
    assert job["result"]["data_window"]["days"] >= 56
    item = "85123A"  # WHITE HANGING HEART T-LIGHT HOLDER, the best seller
    forecast = client.get(f"/v1/forecasts/items/{item}?horizon=14", headers=shop.headers("analyst")).get_json()
    assert len(forecast["points"]) == 14 and forecast["total"]["p50"] > 0
    assert client.get("/v1/forecasts/categories", headers=shop.headers("analyst")).status_code == 200
