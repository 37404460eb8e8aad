"""One language per answer: every route of a trained demo shop, asked in Chinese and in English,
answers in that language only (the shop's own data aside), and a shop's own setting applies when a
request names no language."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import make_shop
from tests.support.demo_shops import DEMO_FILES, import_demo
from tests.support.imports import wait_for_job
from tests.support.languages import check, walk


@pytest.fixture(scope="module")
def demo(app, demo_data):
    client = app.test_client()
    out = demo_data.files(seed=8, scale=0.1)
    shop = make_shop(client, "双语店")
    body = import_demo(client, shop, out, list(DEMO_FILES))
    reply = client.post("/v1/admin/retrain?wait=120", json={"models": ["all"]}, headers=shop.headers())
    assert reply.status_code in (200, 202), reply.get_json()
    # Five trainings on a two-process worker may outlast one long poll on a slow machine: poll each.
    jobs = [wait_for_job(client, shop.headers(), job) for job in reply.get_json()["jobs"]]
    assert all(job["status"] == "succeeded" for job in jobs), jobs
    products = list(csv.DictReader(open(out / "products.csv", encoding="utf-8")))
    customers = list(csv.DictReader(open(out / "customers.csv", encoding="utf-8")))
    words = {w for p in products for w in (p["title"], p["category"], p["brand"])}
    words |= {w for c in customers for w in (c["province"], c["city"])}
    words |= {r["competitor"] for r in csv.DictReader(open(out / "competitor_prices.csv", encoding="utf-8"))}
    segments = client.get("/v1/segments", headers=shop.headers()).get_json()["rfm"]
    ids = {"item_id": products[0]["item_id"], "user_id": customers[1]["user_id"], "segment": segments[0]["name"],
           "finished_job_id": body["job"]["id"]}
    return {"client": client, "shop": shop, "words": sorted(filter(None, words)), "ids": ids}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_route_answers_in_the_language_asked_for(demo, language):
    client, shop = demo["client"], demo["shop"]

    def call(method, path, body):
        reply = client.open(path, method=method, json=body, headers=shop.headers(language=language))
        assert reply.status_code < 500, (path, reply.get_json())
        assert reply.headers["Content-Language"] == language
        return reply.status_code, reply.get_json(silent=True)

    findings, routes = [], 0
    for route, _status, body, own in walk(call, demo["ids"]):
        routes += 1
        findings += check(route, body, language, demo["words"] + own)
    assert routes > 50
    assert not findings, "\n".join(f"{f.route} {f.field}: {f.text}" for f in findings[:30])


def test_the_weekly_report_is_written_in_one_language(demo):
    client, shop = demo["client"], demo["shop"]
    zh = client.get("/v1/reports/weekly", headers=shop.headers(language="zh-CN")).get_data(as_text=True)
    en = client.get("/v1/reports/weekly", headers=shop.headers(language="en")).get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "核心指标" in zh and "nothing to show" not in zh
    assert '<html lang="en">' in en and "Key figures" in en and "核心指标" not in en


def test_the_shop_setting_applies_when_the_request_names_no_language(demo):
    client, shop = demo["client"], demo["shop"]
    path = "/v1/recommendations/popular?n=3"
    assert "热销" in client.get(path, headers=shop.headers("client")).get_json()["items"][0]["reason"]
    changed = client.patch("/v1/shops/current", json={"language": "en"}, headers=shop.headers())
    assert changed.status_code == 200 and changed.get_json()["language"] == "en"
    try:
        answer = client.get(path, headers=shop.headers("client")).get_json()
        assert answer["items"][0]["reason"].startswith("No. 1 best seller")
        asked = client.get(path, headers=shop.headers("client", "zh-CN")).get_json()  # the request wins
        assert "热销" in asked["items"][0]["reason"]
        bad = client.patch("/v1/shops/current", json={"language": "fr"}, headers=shop.headers())
        assert bad.status_code == 422 and "language" in bad.get_json()["errors"]
    finally:
        client.patch("/v1/shops/current", json={"language": "zh-CN"}, headers=shop.headers())


def test_a_question_is_answered_in_its_own_language_unless_the_reader_asks(demo):
    client, shop = demo["client"], demo["shop"]
    english = client.post("/v1/ask", json={"question": "revenue this month"}, headers=shop.headers()).get_json()
    assert english["summary"].startswith("Total revenue")
    chinese = client.post("/v1/ask", json={"question": "本月销售额"}, headers=shop.headers()).get_json()
    assert "销售额" in chinese["summary"] and chinese["summary"].endswith("。")
    asked = client.post("/v1/ask", json={"question": "本月销售额"}, headers=shop.headers(language="en")).get_json()
    assert asked["summary"].startswith("Total revenue")
