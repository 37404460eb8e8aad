"""The decision pages in a real browser: accept a price suggestion and see it logged and delivered by
webhook, move the what-if slider, change a restock quantity and accept, start a campaign with a
holdout, read the forecast band, and see measured outcomes and the audit on 决策."""

from __future__ import annotations

import json

import pytest

from shared.platform_tasks import deliver_webhooks_once
from tests.conftest import make_shop
from tests.support.browser import chromium, console_errors
from tests.support.demo_shops import import_demo
from tests.support.http_servers import Recorder
from tests.support.imports import retrain

PASSWORD = "a long enough passphrase 42"


@pytest.fixture(scope="module")
def receiver():
    server = Recorder()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def decision_shop(app, demo_data, receiver):
    client = app.test_client()
    shop = make_shop(client, "决策控制台店")
    out = demo_data.files(seed=42, scale=0.3)
    import_demo(client, shop, out, ["products", "orders", "order_items", "inventory", "competitor_prices"])
    for model in ("pricing", "forecasting", "insights"):
        assert retrain(client, shop.headers(), model)["status"] == "succeeded"
    hook = client.post("/v1/webhooks", json={"url": receiver.url + "/erp", "events": ["price_change_accepted"],
                                             "secret": "whsec-console-decisions-01"}, headers=shop.headers())
    assert hook.status_code == 201
    users = {}
    for role in ("admin", "analyst"):
        users[role] = {"email": f"{role}{shop.id}@decide.example", "password": PASSWORD, "role": role}
        assert client.post("/v1/users", json=users[role], headers=shop.headers()).status_code == 201
    return {"client": client, "shop": shop, "admin": users["admin"], "analyst": users["analyst"]}


def _wait(browser, condition, seconds: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds).until(condition)


def _log_in(browser, url: str, user: dict, next_path: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{url}{next_path}")
    form = _wait(browser, lambda b: b.find_elements(By.ID, "login-form") and b.find_element(By.ID, "login-form"))
    form.find_element(By.NAME, "email").send_keys(user["email"])
    form.find_element(By.NAME, "password").send_keys(user["password"])
    form.find_element(By.TAG_NAME, "button").click()
    _wait(browser, lambda b: "/login" not in b.current_url)


def _rows(browser, table_id: str):
    from selenium.webdriver.common.by import By

    return _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr"))


def test_accepting_a_price_suggestion_logs_it_and_reaches_the_erp(live_server, decision_shop, settings, receiver):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        _log_in(browser, live_server.url, decision_shop["admin"], "/pricing")
        row = _rows(browser, "suggestions")[0]
        item_id = row.get_attribute("data-item")
        price = row.find_element(By.CSS_SELECTOR, ".price-input")
        advised = float(price.get_attribute("value"))
        row.find_element(By.CSS_SELECTOR, "[data-decision=accepted]").click()
        done = _wait(browser, lambda b: row.find_elements(By.CSS_SELECTOR, ".decided.accepted"))[0]
        assert done.text.startswith("已接受 · 决策 #")
        decision_id = int(done.text.rsplit("#", 1)[1])
        deliver_webhooks_once(settings)
        [sent] = [json.loads(r["body"])["data"] for r in receiver.requests
                  if json.loads(r["body"])["data"]["decision_id"] == decision_id]
        assert sent["item_id"] == item_id and sent["new_price"] == pytest.approx(advised)
        done.click()  # to the log, that decision opened
        _wait(browser, lambda b: "/decisions" in b.current_url)
        title = _wait(browser, lambda b: b.find_element(By.ID, "detail-title").text and
                      b.find_element(By.ID, "detail-title"))
        assert f"#{decision_id}" in title.text and item_id in title.text
        logged = [r for r in _rows(browser, "log") if r.get_attribute("data-decision") == str(decision_id)]
        assert logged and "调价" in logged[0].text and "已接受" in logged[0].text
        assert console_errors(browser) == []


def test_the_slider_redraws_the_curve(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    with chromium() as browser:
        _log_in(browser, live_server.url, decision_shop["admin"], "/pricing")
        chart = _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#whatif-chart svg .role-mark *")
                      and b.find_element(By.ID, "whatif-chart"))
        summary = _wait(browser, lambda b: b.find_element(By.ID, "whatif-summary").text)
        slider = browser.find_element(By.ID, "price-slider")
        low = slider.get_attribute("min")
        browser.execute_script("arguments[0].value = arguments[0].min;"
                               "arguments[0].dispatchEvent(new Event('input'))", slider)
        _wait(browser, lambda b: chart.get_attribute("data-price") == str(float(low)).rstrip("0").rstrip(".")
              or abs(float(chart.get_attribute("data-price")) - float(low)) < 0.01)
        changed = _wait(browser, lambda b: (t := b.find_element(By.ID, "whatif-summary").text) != summary and t)
        assert "预计未来 28 天卖" in changed
        _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#whatif-chart svg .role-mark *"))
        assert console_errors(browser) == []


def test_changing_a_restock_quantity_and_accepting(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    with chromium() as browser:
        _log_in(browser, live_server.url, decision_shop["admin"], "/forecasts")
        row = _rows(browser, "plan")[0]
        item_id = row.get_attribute("data-item")
        quantity = row.find_element(By.CSS_SELECTOR, ".qty-input")
        quantity.clear()
        quantity.send_keys("37")
        row.find_element(By.CSS_SELECTOR, "[data-decision=accepted]").click()
        _wait(browser, lambda b: row.find_elements(By.CSS_SELECTOR, ".decided.accepted"))
        assert console_errors(browser) == []
    [decision] = client.get(f"/v1/decisions?kind=restock&item_id={item_id}", headers=shop.headers()).get_json()["items"]
    assert decision["value"]["quantity"] == 37 and decision["decided_by"] == f"user:{decision_shop['admin']['email']}"


def test_the_forecast_chart_shows_history_and_the_band(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    item_id = client.get("/v1/replenishment?limit=1", headers=shop.headers()).get_json()["items"][0]["item_id"]
    with chromium() as browser:
        _log_in(browser, live_server.url, decision_shop["admin"], f"/forecasts?item={item_id}")
        chart = _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#forecast-chart svg .mark-area path")
                      and b.find_element(By.ID, "forecast-chart"))
        assert chart.get_attribute("data-band") == "28"
        lines = browser.find_elements(By.CSS_SELECTOR, "#forecast-chart svg .mark-line path")
        assert len(lines) >= 2  # the history sold and the median forecast
        assert browser.find_elements(By.CSS_SELECTOR, "#explanation li")
        assert item_id in browser.find_element(By.ID, "forecast-title").text
        assert console_errors(browser) == []


def test_starting_a_segment_campaign_with_a_holdout(live_server, decision_shop):
    from selenium.webdriver.common.by import By

    client, shop = decision_shop["client"], decision_shop["shop"]
    with chromium() as browser:
        _log_in(browser, live_server.url, decision_shop["admin"], "/segments")
        _rows(browser, "segments")
        start = browser.find_elements(By.CSS_SELECTOR, "[data-campaign]")[0]
        segment = start.get_attribute("data-campaign")
        start.click()
        browser.find_element(By.ID, "campaign-offer").send_keys("满199减20")
        holdout = browser.find_element(By.ID, "campaign-holdout")
        holdout.clear()
        holdout.send_keys("20")
        browser.find_element(By.CSS_SELECTOR, "#campaign-form button[type=submit]").click()
        title = _wait(browser, lambda b: "已发起" in b.find_element(By.ID, "campaign-title").text
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
        _log_in(browser, live_server.url, decision_shop["analyst"], "/pricing")
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
        _log_in(browser, live_server.url, decision_shop["admin"], "/decisions")
        _rows(browser, "log")
        browser.find_element(By.ID, "check-now").click()
        _wait(browser, lambda b: "评估了" in b.find_element(By.ID, "check-note").text)
        wanted = str(back.get_json()["id"])

        def measured_row(b):
            rows = b.find_elements(By.CSS_SELECTOR, f"#log tbody tr[data-decision='{wanted}'] [data-verdict]")
            return rows[0] if rows else None
        verdict = _wait(browser, measured_row)
        assert verdict.text in ("符合预测", "好于预测", "差于预测", "数据不足，无法判断")
        audit = _rows(browser, "audit")
        assert any("pricing" in r.text for r in audit)
        assert console_errors(browser) == []
