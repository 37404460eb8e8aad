"""The decision pages in a real browser: accept a price suggestion and see it logged and delivered by
webhook, move the what-if slider, change a restock quantity and accept, start a campaign with a
holdout, read the forecast band, and see measured outcomes and the audit on 决策."""

from __future__ import annotations

import csv
import json

import pytest

from shared.platform_tasks import deliver_webhooks_once
from tests.conftest import make_shop
from tests.support.browser import chromium, console_errors, horizontal_overflow, log_in, phone, wait
from tests.support.demo_shops import catalogue_titles, import_demo
from tests.support.imports import retrain, wait_for_job

PASSWORD = "a long enough passphrase 42"


@pytest.fixture(scope="module")
def decision_shop(app, demo_data, webhook_receiver):
    client = app.test_client()
    shop = make_shop(client, "决策控制台店")
    out = demo_data.files(seed=42, scale=0.3)
    body = import_demo(client, shop, out, ["products", "customers", "orders", "order_items", "inventory", "events",
                                           "competitor_prices", "reviews"])
    [scoring] = body["job"]["result"]["follow_up_jobs"]
    assert wait_for_job(client, shop.headers(), {**scoring, "status": "queued"})["status"] == "succeeded"
    for model in ("pricing", "forecasting", "insights", "recommendation"):
        assert retrain(client, shop.headers(), model)["status"] == "succeeded"
    hook = client.post("/v1/webhooks", json={"url": webhook_receiver.url + "/erp", "events": ["price_change_accepted"],
                                             "secret": "whsec-console-decisions-01"}, headers=shop.headers())
    assert hook.status_code == 201
    users = {}
    for role in ("admin", "analyst"):
        users[role] = {"email": f"{role}{shop.id}@decide.example", "password": PASSWORD, "role": role}
        assert client.post("/v1/users", json=users[role], headers=shop.headers()).status_code == 201
    buyer = next(csv.DictReader(open(out / "customers.csv", encoding="utf-8")))["user_id"]
    return {"client": client, "shop": shop, "admin": users["admin"], "analyst": users["analyst"], "buyer": buyer,
            "titles": catalogue_titles(out)}




def _rows(browser, table_id: str):
    from selenium.webdriver.common.by import By

    return wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr"))


def test_accepting_a_price_suggestion_logs_it_and_reaches_the_erp(live_server, decision_shop, settings,
                                                                    webhook_receiver):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/pricing")
        row = _rows(browser, "suggestions")[0]
        item_id = row.get_attribute("data-item")
        shown = row.find_element(By.CSS_SELECTOR, ".item-name .item-title").get_attribute("textContent")
        assert shown == decision_shop["titles"][item_id]  # named as the catalogue names it
        price = row.find_element(By.CSS_SELECTOR, ".price-input")
        advised = float(price.get_attribute("value"))
        row.find_element(By.CSS_SELECTOR, "[data-decision=accepted]").click()
        done = wait(browser, lambda b: row.find_elements(By.CSS_SELECTOR, ".decided.accepted"))[0]
        assert done.text.startswith("已接受 · 决策 #")
        decision_id = int(done.text.rsplit("#", 1)[1])
        deliver_webhooks_once(settings)
        [sent] = [json.loads(r["body"])["data"] for r in webhook_receiver.requests
                  if json.loads(r["body"])["data"]["decision_id"] == decision_id]
        assert sent["item_id"] == item_id and sent["new_price"] == pytest.approx(advised)
        done.click()  # to the log, that decision opened
        wait(browser, lambda b: "/decisions" in b.current_url)
        title = wait(browser, lambda b: b.find_element(By.ID, "detail-title").text and
                      b.find_element(By.ID, "detail-title"))
        client, shop = decision_shop["client"], decision_shop["shop"]
        named = client.get(f"/v1/decisions/{decision_id}", headers=shop.headers()).get_json()["item_title"]
        assert f"#{decision_id}" in title.text and item_id in title.text and named and named in title.text
        logged = [r for r in _rows(browser, "log") if r.get_attribute("data-decision") == str(decision_id)]
        assert logged and "调价" in logged[0].text and "已接受" in logged[0].text
        assert console_errors(browser) == []


def test_the_slider_redraws_the_curve(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/pricing")
        chart = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#whatif-chart svg .role-mark *")
                      and b.find_element(By.ID, "whatif-chart"))
        summary = wait(browser, lambda b: b.find_element(By.ID, "whatif-summary").text)
        slider = browser.find_element(By.ID, "price-slider")
        low = slider.get_attribute("min")
        browser.execute_script("arguments[0].value = arguments[0].min;"
                               "arguments[0].dispatchEvent(new Event('input'))", slider)
        wait(browser, lambda b: chart.get_attribute("data-price") == str(float(low)).rstrip("0").rstrip(".")
              or abs(float(chart.get_attribute("data-price")) - float(low)) < 0.01)
        changed = wait(browser, lambda b: (t := b.find_element(By.ID, "whatif-summary").text) != summary and t)
        assert "预计未来 28 天卖" in changed
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#whatif-chart svg .role-mark *"))
        assert console_errors(browser) == []


def test_changing_a_restock_quantity_and_accepting(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/forecasts")
        row = _rows(browser, "plan")[0]
        item_id = row.get_attribute("data-item")
        shown = row.find_element(By.CSS_SELECTOR, ".item-name .item-title").get_attribute("textContent")
        assert shown == decision_shop["titles"][item_id]
        quantity = row.find_element(By.CSS_SELECTOR, ".qty-input")
        quantity.clear()
        quantity.send_keys("37")
        row.find_element(By.CSS_SELECTOR, "[data-decision=accepted]").click()
        wait(browser, lambda b: row.find_elements(By.CSS_SELECTOR, ".decided.accepted"))
        assert console_errors(browser) == []
    [decision] = client.get(f"/v1/decisions?kind=restock&item_id={item_id}", headers=shop.headers()).get_json()["items"]
    assert decision["value"]["quantity"] == 37 and decision["decided_by"] == f"user:{decision_shop['admin']['email']}"


def test_the_forecast_chart_shows_history_and_the_band(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    item_id = client.get("/v1/replenishment?limit=1", headers=shop.headers()).get_json()["items"][0]["item_id"]
    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], f"/forecasts?item={item_id}")
        chart = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#forecast-chart svg .mark-area path")
                      and b.find_element(By.ID, "forecast-chart"))
        assert chart.get_attribute("data-band") == "28"
        lines = browser.find_elements(By.CSS_SELECTOR, "#forecast-chart svg .mark-line path")
        assert len(lines) >= 2  # the history sold and the median forecast
        assert browser.find_elements(By.CSS_SELECTOR, "#explanation li")
        assert item_id in browser.find_element(By.ID, "forecast-title").text
        total = client.get(f"/v1/forecasts/items/{item_id}?horizon=28", headers=shop.headers()).get_json()["total"]
        note = browser.find_element(By.ID, "forecast-note").text.replace(",", "")
        assert f"预计卖约 {int(total['expected'] + 0.5)} 件" in note  # the mean, not a sum of daily medians
        # Searched by words of a title, as an operator remembers an item.
        plans = client.get("/v1/replenishment?limit=500", headers=shop.headers()).get_json()["items"]
        # a later row and the end of its title, which no row before it holds (the page takes the first match)
        other, words = next((p, p["title"][-6:]) for k, p in enumerate(plans) if k > 0 and p["title"]
                            and not any(p["title"][-6:] in (q["title"] or "") for q in plans[:k]))
        search = browser.find_element(By.ID, "item")
        search.clear()
        search.send_keys(words)
        browser.find_element(By.CSS_SELECTOR, "#item-form button[type=submit]").click()
        wait(browser, lambda b: other["item_id"] in b.find_element(By.ID, "forecast-title").text)
        assert other["title"] in browser.find_element(By.ID, "forecast-title").text
        assert console_errors(browser) == []


def test_starting_a_segment_campaign_with_a_holdout(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/segments")
        _rows(browser, "segments")
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#segments-chart svg .role-mark *"))
        # full months only: the data ends on 20 November, so November (still running) is not drawn
        as_of = client.get("/v1/segments", headers=shop.headers()).get_json()["as_of"]
        months = browser.find_element(By.ID, "segments-chart").get_attribute("data-months").split(",")
        assert as_of == "2026-11-20" and months and "2026-11" not in months and "2026-10" in months
        start = browser.find_elements(By.CSS_SELECTOR, "[data-campaign]")[0]
        segment = start.get_attribute("data-campaign")
        start.click()
        browser.find_element(By.ID, "campaign-offer").send_keys("满199减20")
        holdout = browser.find_element(By.ID, "campaign-holdout")
        holdout.clear()
        holdout.send_keys("20")
        browser.find_element(By.CSS_SELECTOR, "#campaign-form button[type=submit]").click()
        title = wait(browser, lambda b: "已发起" in b.find_element(By.ID, "campaign-title").text
                      and b.find_element(By.ID, "campaign-title"))
        assert "对照组" in title.text
        assert console_errors(browser) == []
    listed = client.get(f"/v1/decisions?kind=campaign&segment={segment}", headers=shop.headers()).get_json()
    [decision] = listed["items"]
    assert decision["holdout_share"] == 0.2 and decision["value"]["offer"] == "满199减20"
    full = client.get(f"/v1/decisions/{decision['id']}", headers=shop.headers()).get_json()
    assert full["members"]["holdout"] == round(0.2 * sum(full["members"].values()))


def test_an_analyst_reads_but_does_not_decide(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["analyst"], "/pricing")
        row = _rows(browser, "suggestions")[0]
        assert not row.find_elements(By.CSS_SELECTOR, "[data-decision]")
        assert "管理员可决策" in row.text
        assert console_errors(browser) == []


def test_measured_outcomes_and_the_audit_on_the_decisions_page(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    item_id = client.get("/v1/pricing/suggestions?limit=1", headers=shop.headers()).get_json()["items"][0]["item_id"]
    back = client.post("/v1/decisions", json={"kind": "price_change", "item_id": item_id, "effective_at": "2026-10-01",
                                              "value": {"price": 99.9}}, headers=shop.headers())
    assert back.status_code == 201
    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/decisions")
        _rows(browser, "log")
        browser.find_element(By.ID, "check-now").click()
        wait(browser, lambda b: "评估了" in b.find_element(By.ID, "check-note").text)
        wanted = str(back.get_json()["id"])

        def measured_row(b):
            rows = b.find_elements(By.CSS_SELECTOR, f"#log tbody tr[data-decision='{wanted}'] [data-verdict]")
            return rows[0] if rows else None
        verdict = wait(browser, measured_row)
        assert verdict.text in ("符合预测", "好于预测", "差于预测", "数据不足，无法判断")
        audit = _rows(browser, "audit")
        assert any("pricing" in r.text for r in audit)
        assert console_errors(browser) == []


def test_the_alerts_centre_lists_the_mornings_alerts_and_keeps_what_was_done(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/alerts")
        items = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#alert-list li"))
        kinds = {i.get_attribute("data-kind") for i in items}
        assert "stockout_risk" in kinds
        count = len(items)
        first = items[0]
        alert_id = first.get_attribute("data-alert")
        first.find_element(By.CSS_SELECTOR, "[data-action=acknowledge]").click()
        wait(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "#alert-list li")) == count - 1)
        browser.find_element(By.CSS_SELECTOR, "#status-tabs [data-status=acknowledged]").click()
        moved = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f"#alert-list li[data-alert='{alert_id}']"))
        moved[0].find_element(By.CSS_SELECTOR, "[data-action=resolve]").click()
        wait(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, f"#alert-list li[data-alert='{alert_id}']"))
        # An alert's link goes where it is acted on: a stock-out to its forecast and restock row.
        browser.find_element(By.CSS_SELECTOR, "#status-tabs [data-status=open]").click()
        links = "#alert-list li[data-kind=stockout_risk] a"
        stockout = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, links))
        item_id = stockout[0].get_attribute("href").rsplit("=", 1)[1]
        stockout[0].click()
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#forecast-chart svg .mark-area path"))
        assert item_id in browser.find_element(By.ID, "forecast-title").text
        assert console_errors(browser) == []


def test_reviews_show_categories_complaints_with_their_clause_and_analyse_pasted_text(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/reviews")
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#categories-chart svg .role-mark *"))
        weakest = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#weakest tbody tr button"))
        weakest[0].click()
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#complaints .complaint"))
        marks = browser.find_elements(By.CSS_SELECTOR, "#complaints .review mark")
        assert marks and all(m.text for m in marks)
        browser.find_element(By.ID, "texts").send_keys("质量很好，很满意\n物流太慢了，包装也破了")
        browser.find_element(By.CSS_SELECTOR, "#analyze-form button").click()
        rows = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#analysis tbody tr"))
        assert len(rows) == 2 and "正面" in rows[0].text and "负面" in rows[1].text and "物流" in rows[1].text
        assert console_errors(browser) == []


def test_recommendations_for_a_buyer_and_an_item_and_the_models_quality(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], f"/recommendations?user={decision_shop['buyer']}")
        picks = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#user-recs tbody tr"))
        assert picks and all(r.find_elements(By.TAG_NAME, "td")[2].text for r in picks)  # each with its reason
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#user-history tbody tr"))
        # a pick is named by its title; clicking it shows what is similar to it and bought with it
        link = picks[0].find_element(By.CSS_SELECTOR, ".item-name")
        item_id = link.get_attribute("data-item")
        assert link.find_element(By.CLASS_NAME, "item-title").get_attribute("textContent") == \
            decision_shop["titles"][item_id]
        link.click()
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#similar tbody tr"))
        assert browser.find_element(By.ID, "item").get_attribute("value") == item_id
        similar = browser.find_elements(By.CSS_SELECTOR, "#similar tbody tr .item-name")
        assert similar and item_id not in {s.get_attribute("data-item") for s in similar}
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#quality-chart svg .role-mark *"))
        assert "v1" in browser.find_element(By.ID, "quality").text
        assert console_errors(browser) == []


def test_the_weekly_report_inside_the_console_and_printable(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/reports/weekly")
        frame = wait(browser, lambda b: b.find_element(By.ID, "report").get_attribute("data-loaded") == "true"
                      and b.find_element(By.ID, "report"))
        assert int(frame.size["height"]) > 400  # as tall as the report
        browser.execute_script("document.getElementById('report').contentWindow.print = "
                               "function () { document.body.dataset.printed = 'yes'; };")
        browser.find_element(By.ID, "print").click()
        assert browser.execute_script("return document.body.dataset.printed") == "yes"
        browser.switch_to.frame(frame)
        # in the user's language (zh-CN), not the headless browser's own Accept-Language (en-US)
        assert browser.find_elements(By.TAG_NAME, "svg") and "周报" in browser.find_element(By.TAG_NAME, "h1").text
        browser.switch_to.default_content()
        assert console_errors(browser) == []


PHONE_PAGES = [("/pricing", "#suggestions tbody tr"), ("/forecasts", "#plan tbody tr"), ("/alerts", "#alert-list li"),
               ("/decisions", "#log tbody tr"), ("/segments", "#segments tbody tr"), ("/reviews", "#weakest tbody tr")]


def test_the_decision_pages_fit_a_phone(live_server, decision_shop):
    """Long item titles and wide tables scroll inside their card; the page itself never sideways."""
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    advice = client.get("/v1/pricing/suggestions?action=change&limit=1", headers=shop.headers()).get_json()["items"]
    logged = client.post("/v1/decisions", json={"kind": "price_change", "status": "rejected", "note": "phone",
                                                "suggestion_id": advice[0]["suggestion_id"]}, headers=shop.headers())
    assert logged.status_code in (200, 201)  # the log has a row to lay out, run alone or after the others
    with chromium() as browser:
        log_in(browser, live_server.url, decision_shop["admin"], "/alerts")
        phone(browser)
        for path, ready in PHONE_PAGES:
            browser.get(f"{live_server.url}{path}")
            wait(browser, lambda b, ready=ready: b.find_elements(By.CSS_SELECTOR, ready), message=path)
            assert horizontal_overflow(browser) == 0, path
        assert console_errors(browser) == []
