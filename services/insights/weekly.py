"""The weekly report (``GET /v1/reports/weekly``): one builder per section, composed by :func:`weekly_report`.

Insights' own figures come from its SQL (``data``); stock-out risks and price advice are other
services' answers, read from their public routes as the caller (forecasting's
``GET /v1/replenishment?risk=high``, pricing's ``GET /v1/pricing/suggestions?action=change``), so
the report says what those services say and never carries a second copy of their rules. A
section whose service has no model yet, or is down, shows why instead; the rest still renders.
Laying the page out is ``report.render``'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.orm import Session

from services.insights import data
from services.insights.answer import format_value, metric_name, order_value, span_buckets
from services.insights.report import Unavailable, render
from services.insights.segments import summary
from services.insights.service import active_segments, anomaly_report
from shared.auth import Principal
from shared.calendar import local_window
from shared.config import Settings
from shared.errors import Conflict, ShopmindError
from shared.i18n import Message, t
from shared.models import Shop, shop_timezone
from shared.service_client import registry

KPI_METRICS = ("revenue", "orders", "aov", "buyers", "refund_rate")
ANOMALY_METRICS = ("revenue", "orders")
TOP_ITEMS = 5
COMPLAINTS = 5
STOCK_RISKS = 10
PRICE_CHANGES = 5
# What the other services are asked; their answers' fields are those docs/forecasting.md and docs/pricing.md list.
STOCK_RISK_ROUTE = f"/v1/replenishment?risk=high&limit={STOCK_RISKS}"
PRICE_ADVICE_ROUTE = f"/v1/pricing/suggestions?action=change&limit={PRICE_CHANGES}"


@dataclass
class Week:
    """The 7 days ending on the shop's latest order day, and the order aggregates sections share."""

    session: Session
    timezone: str
    first: date
    last: date

    def window(self, first: date, last: date) -> tuple[datetime, datetime]:
        return local_window((first, last), self.timezone)

    def item_units(self, first: date) -> pd.DataFrame:
        return data.order_aggregates(self.session, *self.window(first, first + timedelta(days=6)), self.timezone,
                                     ("item_id",))

    @cached_property
    def this_week_items(self) -> pd.DataFrame:
        return self.item_units(self.first)

    @cached_property
    def last_week_items(self) -> pd.DataFrame:
        return self.item_units(self.first - timedelta(days=7))

    @cached_property
    def units(self) -> pd.DataFrame:
        """Units per item: this week ("now") and the week before ("before")."""
        return pd.DataFrame({"now": self.this_week_items.set_index("item_id")["units"],
                             "before": self.last_week_items.set_index("item_id")["units"]}).fillna(0)

    @cached_property
    def titles(self) -> pd.Series:
        """item_id -> title: as sold in these two weeks, else as the catalogue lists it."""
        sold = pd.concat([self.this_week_items, self.last_week_items]).dropna(subset=["title"])
        listed = data.catalogue(self.session).dropna(subset=["title"])
        return sold.drop_duplicates("item_id").set_index("item_id")["title"].combine_first(
            listed.drop_duplicates("item_id").set_index("item_id")["title"])

    def title(self, item_id: str) -> str:
        return self.titles.get(item_id, item_id)


def week_of(session: Session, shop_id: int) -> Week:
    timezone = shop_timezone(session, shop_id)
    latest = data.latest_order_time(session)
    if latest is None:
        raise Conflict(t("report.needs_orders"))
    last_day = latest.astimezone(ZoneInfo(timezone)).date()
    return Week(session, timezone, last_day - timedelta(days=6), last_day)


def key_figures(week: Week) -> list[dict]:
    """Revenue, orders, AOV, buyers and refund rate: this week and the week before."""
    totals = [data.order_aggregates(week.session, *week.window(first, first + timedelta(days=6)), week.timezone)
              for first in (week.first, week.first - timedelta(days=7))]
    kpis = []
    for metric in KPI_METRICS:
        now, before = (order_value(sums, metric) for sums in totals)
        kpis.append({"name": metric_name(metric), "now": now, "before": before,
                     "text_now": format_value(metric, now), "text_before": format_value(metric, before)})
    return kpis


def daily_revenue(week: Week) -> list[tuple[str, float]]:
    by_day = data.order_aggregates(week.session, *week.window(week.first, week.last), week.timezone, ("day",))
    revenue = dict(zip(by_day["day"], by_day["revenue"], strict=True))
    return [(d.isoformat(), float(revenue.get(d, 0.0))) for d in span_buckets((week.first, week.last), "day")]


def top_items(week: Week) -> list[dict]:
    """The week's best sellers by units."""
    return [{"title": week.title(i), "now": r.now, "before": r.before}
            for i, r in week.units.sort_values("now", ascending=False).head(TOP_ITEMS).iterrows()]


def falling_items(week: Week) -> list[dict]:
    """The items whose units fell most against the week before."""
    units = week.units
    return [{"title": week.title(i), "now": r.now, "before": r.before}
            for i, r in units.assign(drop=units["before"] - units["now"]).sort_values("drop", ascending=False)
            .head(TOP_ITEMS).iterrows() if r.before > r.now]


def customer_segments(shop_id: int, settings: Settings) -> list[dict] | Unavailable:
    loaded = active_segments(shop_id, settings)
    if loaded is None:
        return Unavailable(t("report.no_segments"))
    return summary(loaded.model["customers"], "rfm_group")


def week_anomalies(week: Week, shop_id: int) -> list[dict]:
    """Revenue and order anomalies of the week (what ``GET /v1/anomalies?days=7`` flags)."""
    return [{**a, "metric": metric_name(metric)} for metric in ANOMALY_METRICS
            for a in anomaly_report(week.session, shop_id, metric, 7)["anomalies"]]


def complaints(week: Week) -> list[dict]:
    """The items with most reviews the sentiment service scored negative this week, and their main issue."""
    negative = data.negative_reviews(week.session, *week.window(week.first, week.last))
    found = []
    for item_id, group in negative.groupby("item_id"):
        aspects = Counter(a["aspect"] for row in group["aspects"] for a in (row or []) if a.get("label") == "negative")
        found.append({"title": week.title(item_id), "negative": int(len(group)),
                      "aspect": aspects.most_common(1)[0][0] if aspects else None})
    return sorted(found, key=lambda c: -c["negative"])[:COMPLAINTS]


def stock_risks(week: Week, caller: Principal) -> list[dict] | Unavailable:
    """Items forecasting expects to run out before a reorder placed today could arrive, soonest first."""
    answer = _ask("forecasting", STOCK_RISK_ROUTE, caller, t("report.no_forecasting"))
    if isinstance(answer, Unavailable):
        return answer
    return [{"title": week.title(p["item_id"]), "on_hand": p["on_hand"], "daily": p["daily_demand"],
             "days_left": p["days_of_cover"], "reorder_qty": p["reorder_qty"]} for p in answer["items"]]


def price_advice(week: Week, caller: Principal) -> list[dict] | Unavailable:
    """The price changes pricing advises with the largest expected profit gain."""
    answer = _ask("pricing", PRICE_ADVICE_ROUTE, caller, t("report.no_pricing"))
    if isinstance(answer, Unavailable):
        return answer
    return [{**a, "title": week.title(a["item_id"])} for a in answer["items"]]


def _ask(service: str, path: str, caller: Principal, no_model: Message) -> dict | Unavailable:
    """Another service's answer to a public GET, or why there is none (409: it has no model for the shop yet)."""
    try:
        reply = registry().get(service).call("GET", path, caller)
    except ShopmindError as exc:  # not configured, down or too slow
        return Unavailable(t("report.part_unavailable", reason=exc.detail))
    if reply.status == 409:
        return Unavailable(no_model)
    if reply.status != 200:
        detail = reply.body.get("detail") if isinstance(reply.body, dict) else None
        return Unavailable(t("report.part_unavailable",
                             reason=detail or t("gateway.http_status", status=reply.status)))
    return reply.body


def weekly_report(session: Session, shop_id: int, settings: Settings, caller: Principal) -> str:
    """The HTML weekly report of the shop's last 7 days, as ``caller`` may see it."""
    week = week_of(session, shop_id)
    return render(session.get(Shop, shop_id).name, (week.first.isoformat(), week.last.isoformat()),
                  key_figures(week), daily_revenue(week), top_items(week), falling_items(week),
                  customer_segments(shop_id, settings), week_anomalies(week, shop_id), complaints(week),
                  stock_risks(week, caller), price_advice(week, caller))
