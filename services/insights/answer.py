"""From an interpretation and the sums it needs to the answer: table, Vega-Lite chart, one sentence. Pure.

Metric definitions (docs/insights.md): sales, returns, revenue and units are those of
shared.sales, summed by the database (insights/data.py);
orders = distinct sale orders; AOV = revenue ÷ orders;
buyers = distinct buyers of sale orders; repeat rate = share of those buyers with 2+ sale orders
in the range; refund rate = refunded ÷ (sale + refunded) orders; conversion = distinct buyers
(buy events) ÷ distinct visitors (pv events); 加购数/收藏数 = cart/fav events; positive review
rate = reviews rated 4–5 ÷ rated reviews. Times are the shop's local days.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from services.insights.nlq import RATES, TIME_DIMENSIONS, Interpretation
from services.insights.segments import segment_title
from shared.calendar import local_window  # noqa: F401 (callers import it from here)
from shared.i18n import Message, t

ORDER_METRICS = {"revenue", "units", "orders", "aov", "buyers", "repeat_rate", "refund_rate", "new_buyers",
                 "returning_buyers"}
EVENT_METRICS = {"conversion", "carts", "favs"}
REVIEW_METRICS = {"positive_review_rate"}
SUMMABLE = {"revenue", "units", "orders", "buyers", "new_buyers"}
COUNTS = SUMMABLE | {"returning_buyers"}  # nothing sold is 0 of these (a rate is unknown instead)
# Our codes for values, named in the reader's language (catalogue keys insights.<dimension>_<value>).
NAMED_VALUES = ("channel", "status", "customer", "day_type", "weekday")

UNSEGMENTED = "unsegmented"  # buyers newer than the segments model
ANONYMOUS = "anonymous"  # orders exported without a buyer (UCI rows without CustomerID)
PRODUCT_FILTERS = ("category", "brand")  # what event and review metrics can be filtered by
CHANNELS = ("mobile", "pc")  # the canonical order channels, named in the reader's language


def metric_name(metric: str) -> Message:
    return t(f"insights.metric_{metric}")


def dimension_name(dimension: str) -> Message:
    return t(f"insights.dimension_{dimension}")


def value_label(dimension: str | None, value) -> str | Message:
    """How an answer names a value of a dimension: the shop's own values as they are, our codes in words."""
    if dimension == "channel" and value not in CHANNELS:
        return value
    if dimension in NAMED_VALUES:
        return t(f"insights.{dimension}_{value}")
    if dimension == "segment":
        if value in (UNSEGMENTED, ANONYMOUS):
            return t(f"insights.segment_{value}")
        return segment_title(value)
    return value


class NotAnswerable(ValueError):
    """The interpretation asks for a combination this service cannot compute (says which)."""


DRIVER_MIN_SHARE = 0.5  # "主要来自X" only when X made at least half of the change


def change_driver(now: pd.Series, before: pd.Series) -> str | None:
    """The key (a category) whose change made most of the total change between two periods.

    None when either period has nothing (a drop to zero is everything's drop, not one
    category's), when nothing changed, or when no single key made at least half of the change.
    """
    if now.sum() <= 0 or before.sum() <= 0:
        return None
    delta = now.subtract(before, fill_value=0)
    total = delta.sum()
    if delta.empty or total == 0:
        return None
    key = delta.idxmax() if total > 0 else delta.idxmin()
    return str(key) if delta[key] / total >= DRIVER_MIN_SHARE else None


def local_days(stamps: pd.Series, timezone: str) -> pd.Series:
    return pd.to_datetime(stamps, utc=True).dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()


def bucket(days: pd.Series, dimension: str) -> pd.Series:
    if dimension == "week":
        return days - pd.to_timedelta(days.dt.dayofweek, unit="D")
    if dimension == "month":
        return days.dt.to_period("M").dt.to_timestamp()
    return days


def span_buckets(span: tuple[date, date], dimension: str) -> list:
    """Every day, week (its Monday) or month (its 1st) of a time range, in order; for weekdays,
    the ISO days of the week (1 = Monday) the range has."""
    days = pd.Series(pd.date_range(span[0], span[1], freq="D"))
    if dimension == "weekday":
        return sorted(set(days.dt.dayofweek + 1))
    return [d.date() for d in bucket(days, dimension).drop_duplicates()]


def bucket_key(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def order_values(sums: pd.DataFrame, metric: str) -> pd.Series:
    """One order metric per row of ``data.order_aggregates``' sums (see the module docstring)."""
    if metric in ("revenue", "units", "orders", "buyers", "new_buyers", "returning_buyers"):
        return sums[metric].astype(float)
    if metric == "aov":
        return sums["revenue"] / sums["orders"].where(sums["orders"] > 0)
    if metric == "repeat_rate":
        return sums["repeaters"] / sums["buyers"].where(sums["buyers"] > 0)
    if metric == "refund_rate":
        counted = sums["refunded"] + sums["orders"]
        return sums["refunded"] / counted.where(counted > 0)
    raise NotAnswerable(t("insights.unknown_metric", metric=metric))


def order_value(sums: pd.DataFrame, metric: str) -> float:
    """The metric of a single-row (ungrouped) aggregate; no rows is no sales."""
    if sums.empty:
        return 0.0 if metric in COUNTS else float("nan")
    return float(order_values(sums, metric).iloc[0])


def by_segment(sums_per_buyer: pd.DataFrame, segment_of: pd.Series) -> pd.DataFrame:
    """Per-buyer sums (grouped by user_id) → sums per segment. Buyers the model has not seen (they
    bought after it was computed) form their own group, shown when they bought or refunded."""
    segments = sums_per_buyer["user_id"].map(segment_of).fillna(UNSEGMENTED).where(
        sums_per_buyer["user_id"].notna(), ANONYMOUS)
    columns = [c for c in ("lines", "revenue", "units", "orders", "buyers", "refunded", "repeaters")
               if c in sums_per_buyer]
    return sums_per_buyer[columns].groupby(segments.rename("segment")).sum().reset_index()


def filtered(frame: pd.DataFrame, filters: dict[str, str]) -> pd.DataFrame:
    for column, value in filters.items():
        frame = frame[frame[column] == value]
    return frame


def order_table(sums: pd.DataFrame, interp: Interpretation, catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    """key, label, value for the interpretation's dimension (one row keyed "total" without one), from
    ``data.order_aggregates`` grouped by that dimension. With a ``catalogue``, listed items that
    sold nothing rank too, at 0 (the worst sellers)."""
    if interp.dimension is None:
        return pd.DataFrame({"key": ["total"], "label": ["total"], "value": [order_value(sums, interp.metric)]})
    if interp.dimension in TIME_DIMENSIONS:
        values = dict(zip(sums[interp.dimension].map(_bucket_value), order_values(sums, interp.metric), strict=True))
        every = span_buckets(interp.time_range, interp.dimension)
        empty = 0.0 if interp.metric not in RATES else np.nan
        keys = [bucket_key(d) for d in every]
        return pd.DataFrame({"key": keys, "label": keys, "value": [values.get(d, empty) for d in every]})
    column = "item_id" if interp.dimension == "item" else interp.dimension
    table = pd.DataFrame({"key": sums[column].astype(str), "value": order_values(sums, interp.metric)})
    if interp.values:  # the values compared, each shown even when it sold nothing
        missing = [v for v in interp.values if v not in set(table["key"])]
        empty = 0.0 if interp.metric in COUNTS else np.nan
        table = pd.concat([table, pd.DataFrame({"key": missing, "value": empty})], ignore_index=True)
    if interp.dimension == "item":
        titles = sums.dropna(subset=["title"]).set_index("item_id")["title"]
        if catalogue is not None and interp.metric in SUMMABLE:
            listed = filtered(catalogue, {k: v for k, v in interp.filters.items() if k in catalogue.columns})
            if len(listed) == len(catalogue) or set(interp.filters) <= set(catalogue.columns):
                unsold = listed[~listed["item_id"].isin(table["key"])]
                table = pd.concat([table, pd.DataFrame({"key": unsold["item_id"], "value": 0.0})], ignore_index=True)
                titles = titles.combine_first(catalogue.set_index("item_id")["title"].dropna())
        table["label"] = [titles.get(k, k) for k in table["key"]]
    else:
        table["label"] = table["key"]
    if interp.dimension == "segment":
        table = table[~table["key"].isin([UNSEGMENTED, ANONYMOUS]) | (table["value"].fillna(0) != 0)]
    return table[["key", "label", "value"]]


def _bucket_value(value):
    """A bucket as the database returns it (a date, an ISO string, a weekday number) as span_buckets has it."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if hasattr(value, "date") and not isinstance(value, date):
        return value.date()
    return int(value) if isinstance(value, float | np.integer) else value


def event_values(counts: pd.DataFrame, metric: str, key: str | None) -> pd.Series:
    """An event metric per ``key`` value (one value, indexed "total", without a key) from per-type
    counts: cart/fav events, or conversion = buying users ÷ viewing users."""
    frame = counts.assign(_key=counts[key] if key else "total")
    if frame.empty:
        return pd.Series([0.0 if metric in ("carts", "favs") else np.nan] if key is None else [], dtype=float,
                         index=["total"] if key is None else [])
    if metric in ("carts", "favs"):
        wanted = frame[frame["type"] == metric[:-1]].groupby("_key")["events"].sum()
        return wanted.reindex(frame["_key"].unique(), fill_value=0.0).astype(float)
    users = frame.pivot_table(index="_key", columns="type", values="users", aggfunc="sum", fill_value=0)
    visitors = users["pv"] if "pv" in users else pd.Series(0.0, index=users.index)
    buyers = users["buy"] if "buy" in users else pd.Series(0.0, index=users.index)
    return (buyers / visitors.where(visitors > 0)).astype(float)


def event_table(counts: pd.DataFrame, interp: Interpretation, catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    """Event metrics from ``data.event_aggregates``: per type (and item or time bucket), events and users.
    With a ``catalogue``, listed items without a cart (fav) event rank too, at 0."""
    if interp.dimension is None:
        value = event_values(counts, interp.metric, None).iloc[0]
        return pd.DataFrame({"key": ["total"], "label": ["total"], "value": [value]})
    if interp.dimension in TIME_DIMENSIONS:
        values = event_values(counts, interp.metric, interp.dimension)
        every = span_buckets(interp.time_range, interp.dimension)
        empty = 0.0 if interp.metric in ("carts", "favs") else np.nan
        keys = [d.isoformat() for d in every]
        return pd.DataFrame({"key": keys, "label": keys, "value": [values.get(d, empty) for d in every]})
    if interp.dimension != "item":
        raise NotAnswerable(t("insights.events_breakdown", metric=metric_name(interp.metric)))
    values = event_values(counts, interp.metric, "item_id")
    titles = pd.Series(dtype=object)
    if catalogue is not None:
        listed = filtered(catalogue, interp.filters)
        titles = catalogue.set_index("item_id")["title"].dropna()
        if interp.metric in ("carts", "favs"):
            values = values.reindex(values.index.union(pd.Index(listed["item_id"])), fill_value=0.0)
    keys = values.index.astype(str)
    return pd.DataFrame({"key": keys, "label": [titles.get(k, k) for k in keys], "value": values.to_numpy()})


def review_table(reviews: pd.DataFrame, interp: Interpretation, timezone: str) -> pd.DataFrame:
    rated = filtered(reviews.dropna(subset=["rating"]), interp.filters)

    def value(group: pd.DataFrame) -> float:
        return float((group["rating"] >= 4).mean()) if len(group) else float("nan")

    if interp.dimension is None:
        return pd.DataFrame({"key": ["total"], "label": ["total"], "value": [value(rated)]})
    if interp.dimension in TIME_DIMENSIONS:
        keys = bucket(local_days(rated["created_at"], timezone), interp.dimension)
        rows = [(k.date().isoformat(), k.date().isoformat(), value(g)) for k, g in rated.groupby(keys)]
        return pd.DataFrame(rows, columns=["key", "label", "value"])
    if interp.dimension not in ("item", "category"):
        raise NotAnswerable(t("insights.reviews_breakdown", metric=metric_name(interp.metric)))
    column = "item_id" if interp.dimension == "item" else "category"
    rows = [(k, (g["title"].dropna().iloc[0] if interp.dimension == "item" and g["title"].notna().any() else k),
             value(g)) for k, g in rated.dropna(subset=[column]).groupby(column)]
    return pd.DataFrame(rows, columns=["key", "label", "value"])


RUNNERS_UP = 10  # "哪个品牌最好" shows the best and the nine after it


def shape_rows(table: pd.DataFrame, interp: Interpretation) -> pd.DataFrame:
    """Order, cut and annotate the table for the question's shape."""
    if interp.shape in ("ranking", "share", "argmax", "argmin", "compare_values"):
        ascending = interp.shape == "argmin" or (interp.shape in ("ranking", "share") and interp.sort == "asc")
        if interp.shape != "compare_values":
            table = table.dropna(subset=["value"])
        table = table.sort_values(["value", "key"], ascending=[ascending, True], na_position="last")
        if interp.shape == "share":
            total = table["value"].sum()
            table = table.assign(share=table["value"] / total if total else np.nan)
        if interp.top_n:
            table = table.head(interp.top_n)
        elif interp.shape in ("argmax", "argmin") and interp.dimension not in TIME_DIMENSIONS:
            table = table.head(RUNNERS_UP)
        table = table.assign(rank=np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


AXIS_FORMATS = {"day": "%-m/%-d", "week": "%-m/%-d", "month": "%Y-%m"}


def chart(table: pd.DataFrame, interp: Interpretation, metric_title: Message) -> dict:
    """A Vega-Lite v5 spec with the data inline: bar for rankings, line for trends, arc for shares,
    grouped bars for comparisons."""
    values = table.replace({np.nan: None}).to_dict("records")
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": values},
            "title": metric_title}
    y = {"field": "value", "type": "quantitative", "title": metric_title}
    if interp.shape == "trend":
        x = {"field": "label", "type": "ordinal" if interp.dimension == "weekday" else "temporal",
             "title": dimension_name(interp.dimension), "sort": None}
        if interp.dimension in AXIS_FORMATS:  # one date format on every tick (Vega mixes weekdays and months)
            x["axis"] = {"format": AXIS_FORMATS[interp.dimension]}
        spec.update(mark={"type": "line", "point": True}, encoding={"x": x, "y": y})
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
                                                "title": dimension_name(interp.dimension) if interp.dimension
                                                else ""},
                                          "x": y})
    return spec


def format_value(metric: str, value: float) -> str | Message:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return t("insights.no_value")
    if metric in ("revenue", "aov"):
        return f"¥{value:,.2f}"
    if metric in RATES:
        return f"{value:.1%}"
    return f"{value:,.0f}"


def span_text(span: tuple[date, date]) -> str | Message:
    return span[0].isoformat() if span[0] == span[1] else \
        t("insights.span", start=span[0].isoformat(), end=span[1].isoformat())
