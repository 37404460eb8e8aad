"""One answer to "how much did the shop sell": the dashboard, /v1/ask, the weekly report and the
histories pricing and forecasting train on agree to the cent on the same local days.

The shop is invoice-style (UCI-like: one file holds orders and their lines), with what makes the
definitions drift apart: orders without a status, credit notes (every line negative), a partial
credit line on a sale's own invoice, refunded and closed orders, and orders just after local
midnight in Asia/Shanghai, which fall on the previous day in UTC.
"""

import random
import re
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from shared.db import session_scope
from shared.models import shop_timezone
from shared.sales import paid_lines
from tests.support.imports import csv_bytes, import_file, write

LAST_DAY = date(2026, 3, 31)
FIRST_DAY = LAST_DAY - timedelta(days=65)
ITEMS = {"A100": 12.35, "B200": 99.90, "C300": 5.05, "D400": 238.00}
HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Status"]
SALE_STATUSES = {"completed", "paid", "shipped"}


def _invoices() -> list[list[str]]:
    """Invoice lines, local (shop) times; every kind of order the sale rule has to decide."""
    rng = random.Random(15)
    rows, number = [], 0
    for offset in range((LAST_DAY - FIRST_DAY).days + 1):
        day = FIRST_DAY + timedelta(days=offset)
        for _ in range(rng.randint(2, 4)):
            number += 1
            # Many orders in the first hours after local midnight: the previous day in UTC. On the
            # last day only those, so even the shop's last order is on another day in UTC.
            hour = rng.choice([0, 0, 1, 7, 12, 23] if day < LAST_DAY else [0, 1])
            stamp = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour, minutes=rng.randint(1, 58))
            buyer = f"c{rng.randint(1, 25)}"
            kind = rng.choices(["plain", "credit_note", "partial_credit", "refunded", "closed", "completed"],
                               [10, 2, 2, 1, 1, 2])[0]
            items = rng.sample(sorted(ITEMS), 2)
            quantities = [rng.randint(1, 4), rng.randint(1, 3)]
            if kind == "credit_note":
                quantities = [-q for q in quantities]
            elif kind == "partial_credit":
                quantities[1] = -1
            status = {"refunded": "refunded", "closed": "closed", "completed": "completed"}.get(kind, "")
            invoice = f"{'C' if kind == 'credit_note' else ''}{500000 + number}"
            for item, quantity in zip(items, quantities, strict=True):
                rows.append([invoice, item, f"商品{item}", str(quantity), stamp.strftime("%Y-%m-%d %H:%M"),
                             f"{ITEMS[item]:.2f}", buyer, status])
    return rows


def _expected_revenue_per_day(rows: list[list[str]]) -> pd.Series:
    """The rule, computed from the file: paid/shipped/completed orders, and status-less ones whose
    lines net positive; revenue = Σ quantity × price of their lines, by the local day."""
    lines = pd.DataFrame(rows, columns=HEADER)
    lines["quantity"] = lines["Quantity"].astype(int)
    lines["revenue"] = lines["quantity"] * lines["UnitPrice"].astype(float)
    lines["day"] = pd.to_datetime(lines["InvoiceDate"]).dt.date
    net = lines.groupby("InvoiceNo")["quantity"].transform("sum")
    sale = lines["Status"].isin(SALE_STATUSES) | ((lines["Status"] == "") & (net > 0))
    return lines[sale].groupby("day")["revenue"].sum().round(2)


@pytest.fixture(scope="module")
def invoice_shop(app, settings, tmp_path_factory):
    from tests.conftest import make_shop

    client = app.test_client()
    rows = _invoices()
    path = write(tmp_path_factory.mktemp("sales") / "invoices.csv", csv_bytes(HEADER, rows))
    shop = make_shop(client, "发票店")
    for entity in ("orders", "order_items"):
        status, body = import_file(client, shop.headers(), path, entity, wait=120)
        assert status == 200 and body["job"]["status"] == "succeeded", body
        assert body["job"]["result"]["rows_rejected"] == 0, body
    with session_scope(shop.id, settings.database_url) as session:
        history = paid_lines(session, shop_timezone(session))
    return {"client": client, "shop": shop, "expected": _expected_revenue_per_day(rows), "history": history}


def _ask(shop, question: str) -> dict:
    reply = shop["client"].post("/v1/ask", json={"question": question, "as_of": str(LAST_DAY + timedelta(days=1))},
                                headers=shop["shop"].headers("analyst"))
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _history_revenue(shop, first: date, last: date) -> float:
    history = shop["history"]
    days = history["date"].dt.date
    return round(float(history.loc[(days >= first) & (days <= last), "revenue"].sum()), 2)


def _span(first: date, last: date) -> str:
    return f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"


def test_dashboard_ask_and_histories_agree_on_every_period(invoice_shop):
    expected = invoice_shop["expected"]
    kpis = invoice_shop["client"].get("/v1/dashboard", headers=invoice_shop["shop"].headers("analyst")
                                      ).get_json()["kpis"]
    # The export ended long ago: read on the day after the last order's local day (not its UTC one).
    assert kpis["data_through"] == LAST_DAY.isoformat()
    assert kpis["as_of"] == (LAST_DAY + timedelta(days=1)).isoformat()
    assert kpis["periods"]["yesterday"]["range"] == [LAST_DAY.isoformat()] * 2
    for period, card in kpis["periods"].items():
        for name, span in (("current", card["range"]), ("previous", card["previous_range"])):
            first, last = (date.fromisoformat(d) for d in span)
            truth = round(float(expected[(expected.index >= first) & (expected.index <= last)].sum()), 2)
            asked = _ask(invoice_shop, f"{_span(first, last)}的销售额")
            assert asked["interpretation"]["time_range"] == span
            assert round(asked["rows"][0]["value"], 2) == truth, (period, name)
            assert card[name]["revenue"] == truth, (period, name)
            assert _history_revenue(invoice_shop, first, last) == truth, (period, name)
            assert card[name]["conversion"] is None  # no behaviour events: no conversion


def test_weekly_report_and_daily_answers_agree_day_by_day(invoice_shop):
    expected = invoice_shop["expected"]
    week = [LAST_DAY - timedelta(days=6 - i) for i in range(7)]
    page = invoice_shop["client"].get("/v1/reports/weekly", headers=invoice_shop["shop"].headers("analyst")
                                      ).data.decode()
    assert f"{week[0]} 至 {week[-1]}" in page
    charted = {day: float(value.replace(",", "")) for day, value in
               re.findall(r"<title>(\d{4}-\d{2}-\d{2}): ([\d,.-]+)</title>", page)}
    daily = _ask(invoice_shop, f"{_span(week[0], week[-1])}每天的销售额")
    asked = {row["label"]: row["value"] for row in daily["rows"]}
    for day in week:
        truth = round(float(expected.get(day, 0.0)), 2)
        assert charted[day.isoformat()] == truth, day
        assert round(asked[day.isoformat()], 2) == truth, day
        assert _history_revenue(invoice_shop, day, day) == truth, day
    total = round(float(expected[(expected.index >= week[0]) & (expected.index <= week[-1])].sum()), 2)
    assert f"<td>¥{total:,.2f}</td>" in page
