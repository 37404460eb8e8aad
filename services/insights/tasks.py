"""The insights job: customer segments (RFM + k-means) saved as a model version, and KPI anomaly alerts."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from services.insights import anomalies, data
from services.insights.answer import (
    format_value,
    local_days,
    local_window,
    metric_name,
    order_value,
    span_buckets,
)
from services.insights.report import render
from services.insights.segments import segment, summary
from services.pricing import data as pricing_data
from services.pricing import service as pricing_tasks
from services.pricing.elasticity import DemandCurves
from shared import artifacts, webhooks
from shared.errors import Conflict
from shared.i18n import t
from shared.jobs import JobContext, job_task
from shared.models import Shop

log = logging.getLogger(__name__)
SERVICE = "insights"
ALERT_DAYS = 7  # anomalies of the last week alert; older ones are history
ANOMALY_EVENT = "kpi_anomaly"
MIN_BUYERS = 10
PRICE_CHANGES = 5  # price suggestions the weekly report lists
RISK_DAYS = 28  # an item's daily units over these last days say how long its stock lasts


@job_task("insights.train")
def train_insights(ctx: JobContext) -> dict:
    ctx.progress(0.05, t("insights.progress_reading"))
    with ctx.session() as session:
        timezone = data.shop_timezone(session, ctx.shop_id)
        latest = data.latest_order_time(session)
        if latest is None:
            raise Conflict(t("insights.segments_need_orders"))
        orders = data.buyer_orders(session, latest + timedelta(seconds=1))
        behaviour = data.behaviour_per_user(session)
    orders = orders[orders["revenue"] > 0]  # a status-less order worth ≤ 0 is a return (UCI's "C" invoices)
    if orders["user_id"].nunique() < MIN_BUYERS:
        raise Conflict(t("insights.segments_need_buyers", needed=MIN_BUYERS, has=orders["user_id"].nunique()))
    orders["day"] = local_days(orders["created_at"], timezone)
    as_of = orders["day"].max()
    ctx.progress(0.3, t("insights.progress_scoring", buyers=f"{orders['user_id'].nunique():,}"))
    result = segment(orders, behaviour, as_of)
    c = result.customers
    arrays = {"user_id": np.array(c["user_id"].tolist(), dtype=str), "recency_days": c["recency_days"].to_numpy(int),
              "orders": c["orders"].to_numpy(int), "spend": c["spend"].to_numpy(float), "r": c["r"].to_numpy(int),
              "f": c["f"].to_numpy(int), "m": c["m"].to_numpy(int),
              "rfm_group": np.array(c["rfm_group"].tolist(), dtype=str),
              "cluster": np.array(c["cluster"].tolist(), dtype=str)}  # no object arrays: artifacts load unpickled
    params = {"as_of": result.as_of, "k": result.k, "silhouette": result.silhouette,
              "cluster_profiles": result.cluster_profiles}
    metrics = {"buyers": int(len(c)), "k": result.k, "silhouette": result.silhouette}
    with ctx.session() as session:
        row = artifacts.save_version(session, ctx.settings, ctx.shop_id, SERVICE, arrays=arrays, params=params,
                                     metrics=metrics, job_id=ctx.job_id, data_window={"to": result.as_of})
        artifacts.promote(session, row)
        version = row.version
    ctx.progress(0.8, t("insights.progress_anomalies"))
    alerts = raise_anomaly_alerts(ctx, timezone)
    return {"version": version, "promoted": True, "metrics": metrics, "rfm_groups": summary(c, "rfm_group"),
            "clusters": result.cluster_profiles, "anomaly_alerts_sent": alerts}


def anomaly_report(session, shop_id: int, metric: str, days: int, category: str | None = None) -> dict:
    """Flagged days of ``metric`` over the shop's last ``days`` days (of a category, if given)."""
    timezone = data.shop_timezone(session, shop_id)
    latest = data.latest_order_time(session)
    if latest is None:
        return {"metric": metric, "days": [], "note": t("insights.no_orders_yet")}
    last_day = latest.astimezone(ZoneInfo(timezone)).date()
    first_day = last_day - timedelta(days=days + anomalies.WINDOW * 2)
    start, end = local_window((first_day, last_day), timezone)
    filters = {"category": category} if category else {}
    day_sums = data.order_aggregates(session, start, end, timezone, ("day",), filters)
    day_events = None
    if metric == "conversion":
        day_events = data.event_aggregates(session, start, end, timezone, "day", "conversion")
    span = pd.date_range(first_day, last_day, freq="D")
    kpis = anomalies.daily_kpis(day_sums, day_events, span)
    found = anomalies.detect(kpis[metric], metric)
    recent = found[found.index > pd.Timestamp(last_day - timedelta(days=days))]
    flagged, day_item_sums = [], None
    for day, row in recent[recent["anomaly"]].iterrows():
        item = {"date": day.date().isoformat(), "value": _num(row["value"]), "expected": _num(row["expected"]),
                "z": _num(row["z"]), "direction": row["direction"], "expected_festival": row["festival"]}
        if metric in ("revenue", "orders") and not row["festival"]:
            if day_item_sums is None:
                day_item_sums = data.order_aggregates(session, start, end, timezone, ("day", "item_id"), filters)
            item["drivers"] = anomalies.drivers(day_item_sums, day, metric, row["direction"])
        flagged.append(item)
    return {"metric": metric, "scope": category or "shop", "from": span[-days].date().isoformat()
            if days <= len(span) else span[0].date().isoformat(), "to": last_day.isoformat(),
            "threshold_z": anomalies.THRESHOLD, "anomalies": flagged}


def raise_anomaly_alerts(ctx: JobContext, timezone: str) -> int:
    sent = 0
    with ctx.session() as session:
        for metric in ("revenue", "orders", "refund_rate"):
            report = anomaly_report(session, ctx.shop_id, metric, ALERT_DAYS)
            for item in report["anomalies"]:
                if item["expected_festival"]:
                    continue
                sent += webhooks.emit_once(session, ctx.shop_id, ANOMALY_EVENT, metric, item["date"],
                                           {"metric": metric, **item})
        session.commit()
    return sent


def _num(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def weekly_report(session, shop_id: int, segments: list[dict] | None, pricing: DemandCurves | None) -> str:
    """The HTML weekly report for the 7 days ending on the shop's latest order day; ``pricing``: the
    shop's active pricing model, whose top price changes the report lists (None: not trained yet)."""
    timezone = data.shop_timezone(session, shop_id)
    latest = data.latest_order_time(session)
    if latest is None:
        raise Conflict(t("report.needs_orders"))
    last_day = latest.astimezone(ZoneInfo(timezone)).date()
    week_start = last_day - timedelta(days=6)

    def window(first: date, last: date) -> tuple[datetime, datetime]:
        return local_window((first, last), timezone)

    this_week = data.order_aggregates(session, *window(week_start, last_day), timezone, ("item_id",))
    last_week = data.order_aggregates(session, *window(week_start - timedelta(days=7), week_start - timedelta(days=1)),
                                      timezone, ("item_id",))
    names = {metric: metric_name(metric) for metric in ("revenue", "orders", "aov", "buyers", "refund_rate")}
    totals = [data.order_aggregates(session, *window(first, first + timedelta(days=6)), timezone)
              for first in (week_start, week_start - timedelta(days=7))]
    kpis = []
    for metric, name in names.items():
        now, before = (order_value(sums, metric) for sums in totals)
        kpis.append({"name": name, "now": now, "before": before, "text_now": format_value(metric, now),
                     "text_before": format_value(metric, before)})
    by_day = data.order_aggregates(session, *window(week_start, last_day), timezone, ("day",))
    revenue = dict(zip(by_day["day"], by_day["revenue"], strict=True))
    daily = [(d.isoformat(), float(revenue.get(d, 0.0))) for d in span_buckets((week_start, last_day), "day")]
    both = pd.DataFrame({"now": this_week.set_index("item_id")["units"],
                         "before": last_week.set_index("item_id")["units"]}).fillna(0)
    titles = pd.concat([this_week, last_week]).dropna(subset=["title"]).drop_duplicates("item_id").set_index(
        "item_id")["title"]
    top = [{"title": titles.get(i, i), "now": r.now, "before": r.before}
           for i, r in both.sort_values("now", ascending=False).head(5).iterrows()]
    falling = [{"title": titles.get(i, i), "now": r.now, "before": r.before}
               for i, r in both.assign(drop=both["before"] - both["now"]).sort_values("drop", ascending=False)
               .head(5).iterrows() if r.before > r.now]
    found = []
    for metric in ("revenue", "orders"):
        found += [{**a, "metric": names[metric]} for a in anomaly_report(session, shop_id, metric, 7)["anomalies"]]
    negative = data.negative_reviews(session, *window(week_start, last_day))
    complaints = []
    for item_id, group in negative.groupby("item_id"):
        aspects = Counter(a["aspect"] for row in group["aspects"] for a in (row or []) if a.get("label") == "negative")
        complaints.append({"title": titles.get(item_id, item_id), "negative": int(len(group)),
                           "aspect": aspects.most_common(1)[0][0] if aspects else None})
    complaints = sorted(complaints, key=lambda c: -c["negative"])[:5]
    stock = data.latest_stock(session)
    month = data.order_aggregates(session, *window(last_day - timedelta(days=RISK_DAYS - 1), last_day), timezone,
                                  ("item_id",))
    daily_units = month.set_index("item_id")["units"] / RISK_DAYS
    titles = titles.combine_first(month.dropna(subset=["title"]).set_index("item_id")["title"])
    risks = []
    for row in stock.itertuples():
        rate = float(daily_units.get(row.item_id, 0.0))
        if rate > 0 and row.on_hand is not None and row.on_hand / rate < 7:
            risks.append({"title": titles.get(row.item_id, row.item_id), "on_hand": int(row.on_hand),
                          "daily": rate, "days_left": row.on_hand / rate})
    risks = sorted(risks, key=lambda r: r["days_left"])[:10]
    advice = None
    if pricing is not None:  # the same advice GET /v1/pricing/suggestions?action=change gives, first 5
        rules = pricing_tasks.guardrails(pricing_data.rules(session))
        advice = [{**a, "title": titles.get(a["item_id"], a["item_id"])} for a in
                  pricing_tasks.suggestions(session, pricing, rules, "change", "expected_profit_gain")[:PRICE_CHANGES]]
    shop = session.get(Shop, shop_id).name
    return render(shop, (week_start.isoformat(), last_day.isoformat()), kpis, daily, top, falling, segments, found,
                  complaints, risks, advice)
