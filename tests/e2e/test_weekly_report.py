"""The weekly report asks forecasting and pricing through their public routes: in-process all-in-one,
over HTTP when they run apart, and a part it cannot get is marked while the rest still renders."""

from dataclasses import replace

from services.forecasting.app import create_app as create_forecasting
from services.gateway.app import create_app as create_gateway
from services.insights.app import create_app as create_insights
from services.pricing.app import create_app as create_pricing
from tests.e2e.test_forecasts import demo  # noqa: F401  (the forecasting demo shop: stock and a forecast model)
from tests.support.browser import LiveServer
from tests.support.imports import retrain

REPLENISHMENT = "/v1/replenishment?risk=high&limit=10"
SUGGESTIONS = "/v1/pricing/suggestions?action=change&limit=5"


def _sections(page: str) -> tuple[str, str]:
    """(the stock-out risk section, the price advice section) of a report page."""
    stock, prices = page.index("<h2>断货风险</h2>"), page.index("<h2>价格建议</h2>")
    return page[stock:prices], page[prices:]


def _lists_forecastings_risks(stock: str, risks: list[dict]) -> None:
    assert risks and stock.count("<tr>") == len(risks) + 1  # a header, then one row per item at risk
    for plan in risks:
        assert f"<td>{plan['on_hand']:,}</td><td>{plan['daily_demand']:.2f}</td>" in stock, plan
        assert f"<td>{plan['reorder_qty']:,}</td></tr>" in stock, plan


def test_stock_risks_are_forecastings_and_a_missing_pricing_model_is_said(demo):  # noqa: F811
    client, h = demo["client"], demo["shop"].headers("analyst")
    risks = client.get(REPLENISHMENT, headers=h).get_json()["items"]
    reply = client.get("/v1/reports/weekly", headers=h)
    assert reply.status_code == 200
    stock, prices = _sections(reply.data.decode())
    _lists_forecastings_risks(stock, risks)
    assert "尚无定价模型" in prices and "<table>" not in prices


def test_services_reached_over_http_answer_the_report(demo, settings):  # noqa: F811
    client, h = demo["client"], demo["shop"].headers()
    job = retrain(client, h, "pricing")
    assert job["status"] == "succeeded", job
    risks = client.get(REPLENISHMENT, headers=h).get_json()["items"]
    changes = client.get(SUGGESTIONS, headers=h).get_json()["items"]
    # As docker compose runs them: each service its own server, found at SHOPMIND_<NAME>_URL.
    forecasting, pricing = LiveServer(create_forecasting(settings)), LiveServer(create_pricing(settings))
    apart = replace(settings, service_urls={"forecasting": forecasting.url, "pricing": pricing.url},
                    service_timeout_s=60)
    insights = LiveServer(create_insights(apart))
    try:
        gateway = create_gateway(replace(apart, service_urls={**apart.service_urls, "insights": insights.url}))
        reply = gateway.test_client().get("/v1/reports/weekly", headers=demo["shop"].headers("analyst"))
    finally:
        for server in (insights, forecasting, pricing):
            server.stop()
    assert reply.status_code == 200
    stock, prices = _sections(reply.data.decode())
    _lists_forecastings_risks(stock, risks)
    assert changes and prices.count("<tr>") == len(changes) + 1
    for change in changes:
        assert f"¥{change['current_price']:,.2f}</td><td>¥{change['price']:,.2f}" in prices


def test_a_service_the_report_cannot_reach_is_marked_and_the_rest_renders(demo, settings):  # noqa: F811
    alone = create_gateway(settings, service_apps={"insights": create_insights(settings)}).test_client()
    reply = alone.get("/v1/reports/weekly", headers=demo["shop"].headers("analyst"))
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    page = reply.data.decode()
    assert "2026-11-14 至 2026-11-20" in page and "核心指标" in page and "<svg" in page
    stock, prices = _sections(page)
    assert "这一部分暂时无法生成" in stock and "SHOPMIND_FORECASTING_URL" in stock and "<table>" not in stock
    assert "这一部分暂时无法生成" in prices and "SHOPMIND_PRICING_URL" in prices and "<table>" not in prices
