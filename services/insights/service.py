"""Use cases of the insights service that requests and jobs share: customer segments (training,
the active model's summary and members) and KPI anomalies (the report and its alerts).

Questions are ``ask.py``'s and the weekly report ``weekly.py``'s. No HTTP here: ``api.py`` parses and
shapes replies, ``tasks.py`` runs jobs; the maths is in the pure modules (``segments``,
``anomalies``) and the SQL in ``data``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.insights import anomalies, data
from services.insights.answer import local_days
from services.insights.segments import segment, summary
from shared import artifacts, webhooks
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.calendar import local_window
from shared.config import Settings
from shared.errors import Conflict, NotFound
from shared.i18n import t
from shared.jobs import JobContext
from shared.models import shop_timezone

SERVICE = "insights"
ALERT_DAYS = 7  # anomalies of the last week alert; older ones are history
ALERT_METRICS = ("revenue", "orders", "refund_rate")
ANOMALY_EVENT = "kpi_anomaly"
MIN_BUYERS = 10
MEMBER_FIELDS = ["user_id", "rfm_group", "cluster", "recency_days", "orders", "spend", "r", "f", "m"]


# --- segments ---------------------------------------------------------------------------------

def _load_segments(artifact):
    return {"customers": pd.DataFrame({k: np.asarray(v) for k, v in artifact.arrays.items()}),
            "params": artifact.params}


SEGMENTS: ActiveModelCache[dict] = ActiveModelCache(SERVICE, _load_segments)


def active_segments(shop_id: int, settings: Settings) -> LoadedModel[dict] | None:
    """The shop's active segments model (None until ``insights.train`` has run)."""
    return SEGMENTS.get(shop_id, settings)


def _required_segments(shop_id: int, settings: Settings) -> LoadedModel[dict]:
    loaded = active_segments(shop_id, settings)
    if loaded is None:
        raise Conflict(t("insights.no_segments"))
    return loaded


def segment_lookup(shop_id: int, settings: Settings) -> Callable[[], pd.Series]:
    """Each buyer's RFM group, read when a question asks by 客户分群 (409 until segments are computed)."""
    def segment_of() -> pd.Series:
        customers = _required_segments(shop_id, settings).model["customers"]
        return pd.Series(customers["rfm_group"].to_numpy(), index=customers["user_id"].to_numpy())

    return segment_of


def segments_overview(session: Session, shop_id: int, settings: Settings, trend_months: int = 0) -> dict:
    """RFM groups and behaviour clusters of the active model: sizes, shares, averages, advice; with
    ``trend_months``, each RFM group's buyers and revenue per month over the months up to as_of."""
    loaded = _required_segments(shop_id, settings)
    customers, params = loaded.model["customers"], loaded.model["params"]
    groups = summary(customers, "rfm_group")
    if trend_months:
        trends = _group_trends(session, shop_id, customers, params["as_of"], trend_months)
        groups = [{**group, "trend": trends.get(group["name"], [])} for group in groups]
    return {"model_version": loaded.version, "as_of": params["as_of"], "customers": int(len(customers)),
            "rfm": groups,
            "clusters": {"k": params["k"], "silhouette": params["silhouette"], "groups": params["cluster_profiles"]}}


def _group_trends(session: Session, shop_id: int, customers: pd.DataFrame, as_of: str, months: int) -> dict:
    """Per RFM group (its members as the model grouped them): buyers and revenue in each of the last
    ``months`` calendar months up to ``as_of`` (the last one to date)."""
    timezone = shop_timezone(session, shop_id)
    last = pd.Timestamp(as_of).to_period("M")
    first = (last - (months - 1)).to_timestamp().date()
    start, end = local_window((first, pd.Timestamp(as_of).date()), timezone)
    orders = data.buyer_orders(session, end, start)
    orders = orders[orders["revenue"] > 0].merge(customers[["user_id", "rfm_group"]], on="user_id")
    orders["month"] = local_days(orders["created_at"], timezone).dt.to_period("M").astype(str)
    summed = orders.groupby(["rfm_group", "month"]).agg(revenue=("revenue", "sum"), buyers=("user_id", "nunique"))
    calendar = [str(last - k) for k in range(months - 1, -1, -1)]
    trends = {}
    for name in customers["rfm_group"].unique():
        trends[str(name)] = [
            {"month": month, "revenue": round(float(summed["revenue"].get((name, month), 0.0)), 2),
             "buyers": int(summed["buyers"].get((name, month), 0))} for month in calendar]
    return trends


def _members(shop_id: int, settings: Settings, name: str) -> pd.DataFrame:
    """Members of an RFM group or cluster, biggest spenders first; 404 naming the segments there are."""
    customers = _required_segments(shop_id, settings).model["customers"]
    column = "cluster" if name.startswith("cluster_") else "rfm_group"
    members = customers[customers[column] == name].sort_values("spend", ascending=False)
    if members.empty:
        known = sorted(set(customers["rfm_group"]) | set(customers["cluster"]))
        raise NotFound(t("insights.unknown_segment", name=name, segments=", ".join(known)))
    return members


def segment_members_page(shop_id: int, settings: Settings, name: str, offset: int, limit: int) -> dict:
    members = _members(shop_id, settings, name)
    page = members.iloc[offset:offset + limit]
    return {"segment": name, "total": int(len(members)),
            "items": [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                      for row in page[MEMBER_FIELDS].to_dict("records")]}


@dataclass(frozen=True)
class CsvExport:
    filename: str
    text: str


def segment_members_csv(shop_id: int, settings: Settings, name: str) -> CsvExport:
    """Every member as CSV, for coupon targeting."""
    members = _members(shop_id, settings, name)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MEMBER_FIELDS)
    writer.writerows(members[MEMBER_FIELDS].itertuples(index=False))
    return CsvExport(f"segment-{len(members)}.csv", buffer.getvalue())


def train(ctx: JobContext) -> dict:
    """Segment the shop's buyers, save and promote the model, then alert on the week's anomalies."""
    ctx.progress(0.05, t("insights.progress_reading"))
    with ctx.session() as session:
        timezone = shop_timezone(session, ctx.shop_id)
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
    with ctx.session() as session:
        alerts = raise_anomaly_alerts(session, ctx.shop_id)
        session.commit()
    return {"version": version, "promoted": True, "metrics": metrics, "rfm_groups": summary(c, "rfm_group"),
            "clusters": result.cluster_profiles, "anomaly_alerts_sent": alerts}


# --- anomalies --------------------------------------------------------------------------------

def anomaly_report(session: Session, shop_id: int, metric: str, days: int, category: str | None = None) -> dict:
    """Flagged days of ``metric`` over the shop's last ``days`` days (of a category, if given)."""
    timezone = shop_timezone(session, shop_id)
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


def raise_anomaly_alerts(session: Session, shop_id: int) -> int:
    """One ``kpi_anomaly`` webhook event per unexpected anomaly of the last week, never twice;
    the caller commits. Returns how many were new."""
    sent = 0
    for metric in ALERT_METRICS:
        for item in anomaly_report(session, shop_id, metric, ALERT_DAYS)["anomalies"]:
            if item["expected_festival"]:
                continue
            sent += webhooks.emit_once(session, shop_id, ANOMALY_EVENT, metric, item["date"],
                                       {"metric": metric, **item})
    return sent


def _num(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)
