"""Answering a question: parse it (``nlq``), read the rows it needs (``data``), compute and word the
answer (``answer``). The glue between them, as tasks.py is for jobs; no HTTP here."""

from __future__ import annotations

import re
import time as time_module
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.insights import data
from services.insights.answer import (
    CHANNEL_NAMES,
    DIMENSION_NAMES,
    ENGLISH_METRICS,
    EVENT_METRICS,
    ORDER_METRICS,
    PRODUCT_FILTERS,
    REVIEW_METRICS,
    NotAnswerable,
    by_segment,
    change_driver,
    chart,
    event_table,
    format_value,
    local_window,
    order_table,
    review_table,
    shape_rows,
    span_text,
)
from services.insights.nlq import METRIC_NAMES, RATES, TIME_DIMENSIONS, Interpretation, parse

KNOWN_VALUES_TTL_S = 60.0
_known: dict[int, tuple[float, dict]] = {}


def _known_values(session: Session, shop_id: int) -> dict[str, list[str]]:
    """The shop's filterable values, re-read at most once a minute (6 DISTINCT scans per question otherwise)."""
    cached = _known.get(shop_id)
    if cached is None or time_module.monotonic() - cached[0] > KNOWN_VALUES_TTL_S:
        cached = (time_module.monotonic(), data.known_values(session))
        _known[shop_id] = cached
    return cached[1]


class Sums:
    """The aggregates one answer reads, queried once each (a comparison and its driver reuse them)."""

    def __init__(self, session: Session, timezone: str, segment_of: Callable[[], pd.Series]):
        self.session, self.timezone, self.segment_of = session, timezone, segment_of
        self._orders: dict[tuple, pd.DataFrame] = {}

    def orders(self, span: tuple[date, date], group: tuple[str, ...], filters: dict[str, str],
               metric: str) -> pd.DataFrame:
        cache_key = (span, group, tuple(sorted(filters.items())), metric)
        if cache_key not in self._orders:
            self._orders[cache_key] = data.order_aggregates(self.session, *local_window(span, self.timezone),
                                                            self.timezone, group, filters, metric)
        return self._orders[cache_key]

    def nothing_read(self, span: tuple[date, date]) -> bool:
        """No order row at all in the time range (said in the answer, unlike a genuine zero)."""
        read = [sums["lines"].sum() for (s, *_), sums in self._orders.items() if s == span]
        return bool(read) and max(read) == 0


def table_for(sums: Sums, interp: Interpretation, span: tuple[date, date]) -> pd.DataFrame:
    session, timezone = sums.session, sums.timezone
    start, end = local_window(span, timezone)
    dimension = interp.dimension
    if interp.metric in ORDER_METRICS:
        if dimension == "segment":
            per_buyer = sums.orders(span, ("user_id",), interp.filters, interp.metric)
            return order_table(by_segment(per_buyer, sums.segment_of()), interp)
        group = () if dimension is None else ("item_id",) if dimension == "item" else (dimension,)
        catalogue = data.catalogue(session) if dimension == "item" else None
        return order_table(sums.orders(span, group, interp.filters, interp.metric), interp, catalogue)
    if interp.metric in (*EVENT_METRICS, *REVIEW_METRICS):
        unfit = [k for k in interp.filters if k not in PRODUCT_FILTERS]
        if unfit:  # behaviour logs and reviews carry no buyer address or order channel
            raise NotAnswerable(f"{METRIC_NAMES[interp.metric]} can be filtered by category or brand only, "
                                f"not by {', '.join(unfit)}")
    if interp.metric in EVENT_METRICS:
        group = None if dimension is None else "item_id" if dimension == "item" else dimension
        if group not in (None, "item_id", *TIME_DIMENSIONS):
            return event_table(pd.DataFrame(), interp)  # says which breakdowns there are
        catalogue = data.catalogue(session) if group == "item_id" else None
        counts = data.event_aggregates(session, start, end, timezone, group, interp.metric, interp.filters)
        return event_table(counts, interp, catalogue)
    if interp.metric in REVIEW_METRICS:
        return review_table(data.reviews(session, start, end), interp, timezone)
    raise ValueError(interp.metric)


def ask(session: Session, shop_id: int, question: str, as_of: date | None,
        segment_of: Callable[[], pd.Series]) -> dict:
    """The answer to ``question``; ``segment_of()`` gives each buyer's segment, when asked by segment."""
    timezone = data.shop_timezone(session, shop_id)
    as_of = as_of or datetime.now(ZoneInfo(timezone)).date()
    interp = parse(question, as_of, _known_values(session, shop_id))
    english = not re.search(r"[\u4e00-\u9fff]", question)
    if interp.route:
        route = interp.route
        summary = (f"This is a question for the {route['service']} model: GET {route['path']}" if english else
                   f"这个问题由{route['what']}回答：GET {route['path']}")
        return {"question": question, "interpretation": interp.to_json(), "columns": [], "rows": [], "chart": None,
                "summary": summary, "route": route}
    metric_title = ENGLISH_METRICS[interp.metric] if english else METRIC_NAMES[interp.metric]
    sums = Sums(session, timezone, segment_of)
    table = shape_rows(table_for(sums, interp, interp.time_range), interp)
    if interp.dimension == "channel" and not english:
        table = table.assign(label=table["label"].map(lambda v: CHANNEL_NAMES.get(v, v)))
    notes = []
    if interp.shape == "comparison":
        current = float(table["value"].iloc[0])
        previous_table = table_for(sums, interp, interp.compare_range)
        previous = float(previous_table["value"].iloc[0])
        change = (current / previous - 1) if previous else None
        table = pd.DataFrame({"period": [span_text(interp.time_range), span_text(interp.compare_range)],
                              "value": [current, previous]})
        rows = table.replace({np.nan: None}).to_dict("records")
        columns = ["period", "value"]
        summary = _comparison_sentence(interp, metric_title, current, previous, change, english)
        if interp.metric in ("revenue", "units", "orders") and change is not None:
            driver = _driver(sums, interp)
            if driver:
                summary += (f", mostly from {driver}" if english else f"，主要来自{driver}")
        return {"question": question, "interpretation": interp.to_json(), "columns": columns, "rows": rows,
                "chart": chart(table, interp, metric_title), "summary": summary + ("." if english else "。"),
                "change_pct": round(100 * change, 2) if change is not None else None}
    if table.empty or sums.nothing_read(interp.time_range):
        notes.append("no data in this time range" if english else "该时间段没有数据")
    columns = _columns(interp)
    rows = table[[c for c in columns if c in table.columns]].replace({np.nan: None}).to_dict("records")
    summary = _sentence(interp, metric_title, table, english)
    if notes:
        summary += ("; " if english else "；") + "; ".join(notes)
    return {"question": question, "interpretation": interp.to_json(), "columns": columns, "rows": rows,
            "chart": chart(table, interp, metric_title), "summary": summary + ("." if english else "。")}


def _columns(interp: Interpretation) -> list[str]:
    if interp.shape == "ranking":
        return ["rank", "key", "label", "value"]
    if interp.shape == "share":
        return ["rank", "key", "label", "value", "share"]
    if interp.shape == "trend":
        return ["label", "value"]
    return ["value"]


def _sentence(interp: Interpretation, metric_title: str, table: pd.DataFrame, english: bool) -> str:
    when = span_text(interp.time_range)
    scope = "".join(CHANNEL_NAMES.get(v, v) if k == "channel" and not english else v
                    for k, v in interp.filters.items())
    if interp.shape == "total":
        value = format_value(interp.metric, float(table["value"].iloc[0]), english)
        if english:
            where = f"for {scope} " if scope else ""
            return f"{metric_title} {where}from {when.replace(' 至 ', ' to ')}: {value}"
        return f"{when}{scope}{metric_title} {value}"
    if table.empty:
        return f"No {metric_title} in {when}" if english else f"{when}{scope}没有{metric_title}数据"
    first = table.iloc[0]
    best = format_value(interp.metric, float(first["value"]), english)
    if interp.shape == "trend":
        total = table["value"].sum() if interp.metric not in RATES else None  # a sum of daily rates means nothing
        peak = table.loc[table["value"].idxmax()] if table["value"].notna().any() else first
        if english:
            return (f"{metric_title} by {interp.dimension}, {when.replace(' 至 ', ' to ')}: highest on {peak['label']} "
                    f"({format_value(interp.metric, float(peak['value']), True)})")
        head = f"{when}{scope}{metric_title}按{DIMENSION_NAMES[interp.dimension]}走势"
        total_text = f"，合计 {format_value(interp.metric, float(total))}" if total is not None else ""
        return f"{head}{total_text}，最高在 {peak['label']}（{format_value(interp.metric, float(peak['value']))}）"
    name = DIMENSION_NAMES[interp.dimension]
    if interp.shape == "share":
        if english:
            return f"{first['label']} has the largest share of {metric_title}: {first['share']:.1%} ({best})"
        return f"{when}{scope}{metric_title}占比最高的{name}是{first['label']}，占 {first['share']:.1%}（{best}）"
    which = ("lowest" if interp.sort == "asc" else "top") if english else ("最低" if interp.sort == "asc" else "第一")
    if english:
        return f"{which} {interp.dimension} by {metric_title}: {first['label']} ({best})"
    return f"{when}{scope}{metric_title}{which}的{name}是{first['label']}（{best}）"


def _comparison_sentence(interp, metric_title, current, previous, change, english) -> str:
    word = ("year over year" if interp.comparison == "previous_year" else "vs the period before") if english else \
        ("同比" if interp.comparison == "previous_year" else "环比")
    now_text = format_value(interp.metric, current, english)
    before_text = format_value(interp.metric, previous, english)
    change_text = f"{change:+.1%}" if change is not None else ("n/a" if english else "无法计算（上期为 0）")
    if english:
        return f"{metric_title} {now_text} ({span_text(interp.time_range)}), {word} {change_text} (from {before_text})"
    return f"{span_text(interp.time_range)}{metric_title} {now_text}，{word} {change_text}（上期 {before_text}）"


def _driver(sums: Sums, interp: Interpretation) -> str | None:
    """The category that made most of the change of a summable metric, if one did."""
    by_category = Interpretation(metric=interp.metric, dimension="category", time_range=interp.time_range,
                                 shape="ranking", filters=interp.filters)
    now = table_for(sums, by_category, interp.time_range).set_index("key")["value"]
    before = table_for(sums, by_category, interp.compare_range).set_index("key")["value"]
    return change_driver(now, before)
