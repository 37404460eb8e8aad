"""The dashboard's KPI cards (yesterday, this week, this month, last 30 days, each against the
period before) agree with what POST /v1/ask answers for the same days, on a shop whose data runs
to yesterday (read on today) and on one whose export ended long ago (read on the day after it)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from infra.demo_data import generate
from tests.conftest import make_shop
from tests.support.demo_shops import import_demo

SHOP_ZONE = ZoneInfo("Asia/Shanghai")
PERIOD_WORDS = {"yesterday": ("昨天", "yesterday"), "this_week": ("本周", "this week"),
                "this_month": ("本月", "this month"), "last_30_days": ("最近30天", "last 30 days")}
METRIC_WORDS = {"revenue": ("销售额", "revenue"), "orders": ("订单数", "orders"), "buyers": ("买家数", "buyers"),
                "average_order_value": ("客单价", "average order value"),
                "conversion": ("转化率", "conversion rate")}


def _span(first: date, last: date) -> str:
    return f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"


def _asked(client, shop, question: str, as_of: str) -> dict:
    reply = client.post("/v1/ask", json={"question": question, "as_of": as_of}, headers=shop.headers("analyst"))
    assert reply.status_code == 200, (question, reply.get_json())
    return reply.get_json()


def _value(answer: dict, metric: str) -> float | None:
    value = answer["rows"][0]["value"]
    if value is None or value != value:  # no views in the range: no conversion
        return None
    return round(value, 4 if metric == "conversion" else 2)


@pytest.fixture(scope="module")
def live_shop(app, tmp_path_factory):
    """The demo shop with orders and behaviour events up to yesterday in the shop's time zone."""
    client = app.test_client()
    yesterday = datetime.now(SHOP_ZONE).date() - timedelta(days=1)
    out = tmp_path_factory.mktemp("dashboard-periods")
    generate(out, seed=11, scale=0.05, end_date=yesterday.isoformat())
    shop = make_shop(client, "看板店")
    import_demo(client, shop, out, ["products", "orders", "order_items", "events"])
    kpis = client.get("/v1/dashboard", headers=shop.headers("analyst")).get_json()["kpis"]
    return {"client": client, "shop": shop, "kpis": kpis, "yesterday": yesterday}


def test_a_live_shop_is_read_on_today(live_shop):
    kpis = live_shop["kpis"]
    assert kpis["today"] == kpis["as_of"] == (live_shop["yesterday"] + timedelta(days=1)).isoformat()
    assert kpis["data_through"] == live_shop["yesterday"].isoformat()
    assert set(kpis["periods"]) == set(PERIOD_WORDS)
    assert kpis["periods"]["yesterday"]["current"]["revenue"] > 0
    assert kpis["periods"]["last_30_days"]["current"]["conversion"] > 0  # the shop has views and buys


@pytest.mark.parametrize("period", list(PERIOD_WORDS))
def test_every_card_agrees_with_the_same_question_asked(live_shop, period):
    kpis, client, shop = live_shop["kpis"], live_shop["client"], live_shop["shop"]
    card = kpis["periods"][period]
    for metric, (chinese, english) in METRIC_WORDS.items():
        asked = _asked(client, shop, f"{PERIOD_WORDS[period][0]}的{chinese}", kpis["as_of"])
        assert asked["interpretation"]["metric"] in (metric, "aov")
        assert asked["interpretation"]["time_range"] == card["range"], (period, metric)
        assert _value(asked, metric) == card["current"][metric], (period, metric)
        # the console's link asks it in the reader's language: the same days and figure
        english_answer = _asked(client, shop, f"{english} {PERIOD_WORDS[period][1]}", kpis["as_of"])
        assert english_answer["interpretation"]["time_range"] == card["range"], (period, metric)
        assert _value(english_answer, metric) == card["current"][metric], (period, metric)
        first, last = (date.fromisoformat(d) for d in card["previous_range"])
        before = _asked(client, shop, f"{_span(first, last)}的{chinese}", kpis["as_of"])
        assert before["interpretation"]["time_range"] == card["previous_range"]
        assert _value(before, metric) == card["previous"][metric], (period, metric)


def test_the_periods_compare_like_with_like(live_shop):
    periods = live_shop["kpis"]["periods"]
    for name, card in periods.items():
        now = [date.fromisoformat(d) for d in card["range"]]
        before = [date.fromisoformat(d) for d in card["previous_range"]]
        assert before[1] < now[0], name
        if name != "this_month":  # months differ in length; the same days of the month before
            assert (now[1] - now[0]) == (before[1] - before[0]), name
        revenue = card["current"]["revenue"], card["previous"]["revenue"]
        expected = round((revenue[0] - revenue[1]) / revenue[1], 4) if revenue[1] else None
        assert card["change"]["revenue"] == expected, name


def test_a_shop_without_orders_has_no_periods(client):
    shop = make_shop(client, "空店")
    kpis = client.get("/v1/dashboard", headers=shop.headers("analyst")).get_json()["kpis"]
    assert kpis["data_through"] is None and kpis["periods"] == {}
