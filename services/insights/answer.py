"""From an interpretation and the rows it needs to the answer: table, Vega-Lite chart, one sentence. Pure.

Metric definitions (docs/insights.md): sales are orders whose status is paid, shipped, completed,
or unknown with lines that net to a positive quantity (invoice exports; a negative net is a
return or cancellation and counts as refunded); revenue = Σ line paid amount (else unit price ×
quantity); units = Σ quantity > 0; orders = distinct sale orders; AOV = revenue ÷ orders;
buyers = distinct buyers of sale orders; repeat rate = share of those buyers with 2+ sale orders
in the range; refund rate = refunded ÷ (sale + refunded) orders; conversion = distinct buyers
(buy events) ÷ distinct visitors (pv events); 加购数/收藏数 = cart/fav events; positive review
rate = reviews rated 4–5 ÷ rated reviews. Times are the shop's local days.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from services.insights.nlq import METRIC_NAMES, RATES, TIME_DIMENSIONS, Interpretation

SALE_STATUSES = {"paid", "shipped", "completed"}
ORDER_METRICS = {"revenue", "units", "orders", "aov", "buyers", "repeat_rate", "refund_rate"}
EVENT_METRICS = {"conversion", "carts", "favs"}
REVIEW_METRICS = {"positive_review_rate"}
SUMMABLE = {"revenue", "units", "orders", "buyers"}
DIMENSION_NAMES = {"item": "商品", "category": "品类", "brand": "品牌", "province": "省份", "city": "城市",
                   "channel": "渠道", "day": "日期", "week": "周", "month": "月份", "segment": "客户分群"}
ENGLISH_METRICS = {"revenue": "revenue", "units": "units sold", "orders": "orders", "aov": "average order value",
                   "buyers": "buyers", "repeat_rate": "repeat rate", "refund_rate": "refund rate",
                   "conversion": "conversion rate", "carts": "add-to-carts", "favs": "favourites",
                   "positive_review_rate": "positive review rate"}


class NotAnswerable(ValueError):
    """The interpretation asks for a combination this service cannot compute (says which)."""


def local_days(stamps: pd.Series, timezone: str) -> pd.Series:
    return pd.to_datetime(stamps, utc=True).dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()


def bucket(days: pd.Series, dimension: str) -> pd.Series:
    if dimension == "week":
        return days - pd.to_timedelta(days.dt.dayofweek, unit="D")
    if dimension == "month":
        return days.dt.to_period("M").dt.to_timestamp()
    return days


def sale_mask(lines: pd.DataFrame) -> pd.Series:
    """Lines of sale orders. An order without a status (invoice exports) is a sale unless its lines
    net to a negative quantity: then it is a cancellation or return (UCI's "C" invoices)."""
    unknown = lines["status"].isna()
    if not unknown.any():
        return lines["status"].isin(SALE_STATUSES)
    by_order = lines.groupby("order_id")["quantity"]
    net, has_lines = by_order.transform("sum"), by_order.transform("count") > 0
    return lines["status"].isin(SALE_STATUSES) | (unknown & (~has_lines | (net > 0)))


def returned_mask(lines: pd.DataFrame) -> pd.Series:
    """Lines of refunded orders, and of status-less orders whose lines net negative (returns)."""
    if not lines["status"].isna().any():
        return lines["status"] == "refunded"
    net = lines.groupby("order_id")["quantity"].transform("sum")
    return (lines["status"] == "refunded") | (lines["status"].isna() & (net < 0))


def order_metric(lines: pd.DataFrame, metric: str) -> float:
    """One order metric over a set of order lines (see the module docstring)."""
    sold = lines[sale_mask(lines)]
    if metric == "revenue":
        return float(sold["revenue"].fillna(0).sum())
    if metric == "units":
        return float(sold.loc[sold["quantity"] > 0, "quantity"].sum())
    if metric == "orders":
        return float(sold["order_id"].nunique())
    if metric == "aov":
        orders = sold["order_id"].nunique()
        return float(sold["revenue"].fillna(0).sum() / orders) if orders else float("nan")
    if metric == "buyers":
        return float(sold["user_id"].nunique())
    if metric == "repeat_rate":
        per_buyer = sold.groupby("user_id")["order_id"].nunique()
        return float((per_buyer >= 2).mean()) if len(per_buyer) else float("nan")
    if metric == "refund_rate":
        refunded = lines.loc[returned_mask(lines), "order_id"].nunique()
        counted = refunded + sold["order_id"].nunique()
        return float(refunded / counted) if counted else float("nan")
    raise NotAnswerable(f"unknown order metric {metric}")


def filtered(lines: pd.DataFrame, filters: dict[str, str]) -> pd.DataFrame:
    for column, value in filters.items():
        lines = lines[lines[column] == value]
    return lines


def order_table(lines: pd.DataFrame, interp: Interpretation, timezone: str,
                catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    """key, label, value for the interpretation's dimension (one row keyed "total" without one).
    With a ``catalogue``, listed items that sold nothing rank too, at 0 (the worst sellers)."""
    lines = filtered(lines, interp.filters)
    if interp.dimension is None:
        return pd.DataFrame({"key": ["total"], "label": ["total"], "value": [order_metric(lines, interp.metric)]})
    if interp.dimension == "segment":
        raise NotAnswerable("breakdowns by customer segment: see GET /v1/segments")
    if interp.dimension in TIME_DIMENSIONS:
        keys = bucket(local_days(lines["created_at"], timezone), interp.dimension)
        span = pd.date_range(interp.time_range[0], interp.time_range[1], freq="D")
        every = bucket(pd.Series(span), interp.dimension).drop_duplicates()
        values = {k: order_metric(group, interp.metric) for k, group in lines.groupby(keys)}
        return pd.DataFrame({"key": every.dt.date.astype(str).to_numpy(), "label": every.dt.date.astype(str).to_numpy(),
                             "value": [values.get(k, 0.0 if interp.metric not in RATES else np.nan) for k in every]})
    column = "item_id" if interp.dimension == "item" else interp.dimension
    present = lines.dropna(subset=[column])
    rows = [(key, order_metric(group, interp.metric)) for key, group in present.groupby(column)]
    table = pd.DataFrame(rows, columns=["key", "value"])
    if interp.dimension == "item":
        titles = present.dropna(subset=["title"]).drop_duplicates("item_id").set_index("item_id")["title"]
        if catalogue is not None and interp.metric in SUMMABLE:
            listed = filtered(catalogue, {k: v for k, v in interp.filters.items() if k in catalogue.columns})
            if len(listed) == len(catalogue) or set(interp.filters) <= set(catalogue.columns):
                unsold = listed[~listed["item_id"].isin(table["key"])]
                table = pd.concat([table, pd.DataFrame({"key": unsold["item_id"], "value": 0.0})], ignore_index=True)
                titles = titles.combine_first(catalogue.set_index("item_id")["title"].dropna())
        table["label"] = [titles.get(k, k) for k in table["key"]]
    else:
        table["label"] = table["key"]
    return table[["key", "label", "value"]]


def event_table(counts: pd.DataFrame, interp: Interpretation, catalogue_titles: dict[str, str]) -> pd.DataFrame:
    """Event metrics from per-type (and per-item) counts."""
    def value(group: pd.DataFrame) -> float:
        by_type = group.set_index("type")
        if interp.metric == "carts":
            return float(by_type["events"].get("cart", 0))
        if interp.metric == "favs":
            return float(by_type["events"].get("fav", 0))
        visitors = by_type["users"].get("pv", 0)
        return float(by_type["users"].get("buy", 0) / visitors) if visitors else float("nan")

    if interp.dimension is None:
        return pd.DataFrame({"key": ["total"], "label": ["total"], "value": [value(counts)]})
    if interp.dimension != "item":
        raise NotAnswerable(f"{METRIC_NAMES[interp.metric]} can be broken down by item or by day/week/month only")
    rows = [(k, catalogue_titles.get(k, k), value(g)) for k, g in counts.groupby("item_id")]
    return pd.DataFrame(rows, columns=["key", "label", "value"])


def event_trend(events: pd.DataFrame, interp: Interpretation, timezone: str) -> pd.DataFrame:
    events = events.assign(day=bucket(local_days(events["ts"], timezone), interp.dimension))
    span = bucket(pd.Series(pd.date_range(interp.time_range[0], interp.time_range[1], freq="D")),
                  interp.dimension).drop_duplicates()
    rows = []
    for day in span:
        part = events[events["day"] == day]
        if interp.metric in ("carts", "favs"):
            value = float((part["type"] == interp.metric[:-1]).sum())
        else:
            visitors = part.loc[part["type"] == "pv", "user_id"].nunique()
            value = part.loc[part["type"] == "buy", "user_id"].nunique() / visitors if visitors else float("nan")
        rows.append((day.date().isoformat(), day.date().isoformat(), value))
    return pd.DataFrame(rows, columns=["key", "label", "value"])


def review_table(reviews: pd.DataFrame, interp: Interpretation, timezone: str) -> pd.DataFrame:
    rated = reviews.dropna(subset=["rating"])

    def value(group: pd.DataFrame) -> float:
        return float((group["rating"] >= 4).mean()) if len(group) else float("nan")

    if interp.dimension is None:
        return pd.DataFrame({"key": ["total"], "label": ["total"], "value": [value(rated)]})
    if interp.dimension in TIME_DIMENSIONS:
        keys = bucket(local_days(rated["created_at"], timezone), interp.dimension)
        rows = [(k.date().isoformat(), k.date().isoformat(), value(g)) for k, g in rated.groupby(keys)]
        return pd.DataFrame(rows, columns=["key", "label", "value"])
    if interp.dimension not in ("item", "category"):
        raise NotAnswerable("好评率 can be broken down by item, category or time only")
    column = "item_id" if interp.dimension == "item" else "category"
    rows = [(k, (g["title"].dropna().iloc[0] if interp.dimension == "item" and g["title"].notna().any() else k),
             value(g)) for k, g in rated.dropna(subset=[column]).groupby(column)]
    return pd.DataFrame(rows, columns=["key", "label", "value"])


def shape_rows(table: pd.DataFrame, interp: Interpretation) -> pd.DataFrame:
    """Order, cut and annotate the table for the question's shape."""
    if interp.shape in ("ranking", "share"):
        table = table.dropna(subset=["value"]).sort_values(["value", "key"], ascending=[interp.sort == "asc", True])
        if interp.shape == "share":
            total = table["value"].sum()
            table = table.assign(share=table["value"] / total if total else np.nan)
        if interp.top_n:
            table = table.head(interp.top_n)
        table = table.assign(rank=np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def chart(table: pd.DataFrame, interp: Interpretation, metric_title: str) -> dict:
    """A Vega-Lite v5 spec with the data inline: bar for rankings, line for trends, arc for shares,
    grouped bars for comparisons."""
    values = table.replace({np.nan: None}).to_dict("records")
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": values},
            "title": metric_title}
    y = {"field": "value", "type": "quantitative", "title": metric_title}
    if interp.shape == "trend":
        spec.update(mark={"type": "line", "point": True},
                    encoding={"x": {"field": "label", "type": "temporal", "title": DIMENSION_NAMES[interp.dimension]},
                              "y": y})
    elif interp.shape == "share":
        spec.update(mark={"type": "arc"}, encoding={"theta": {"field": "value", "type": "quantitative"},
                                                    "color": {"field": "label", "type": "nominal"},
                                                    "tooltip": [{"field": "label"},
                                                                {"field": "share", "format": ".1%"}]})
    elif interp.shape == "comparison":
        spec.update(mark="bar", encoding={"x": {"field": "period", "type": "nominal", "sort": None}, "y": y,
                                          "color": {"field": "period", "type": "nominal"}})
    else:
        spec.update(mark="bar", encoding={"y": {"field": "label", "type": "nominal", "sort": None,
                                                "title": DIMENSION_NAMES.get(interp.dimension or "", "")},
                                          "x": y})
    return spec


def format_value(metric: str, value: float, english: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a" if english else "无数据"
    if metric in ("revenue", "aov"):
        return f"¥{value:,.2f}"
    if metric in RATES:
        return f"{value:.1%}"
    return f"{value:,.0f}"


def span_text(span: tuple[date, date]) -> str:
    return span[0].isoformat() if span[0] == span[1] else f"{span[0].isoformat()} 至 {span[1].isoformat()}"
