"""Answering a question: parse it (``nlq``), read the rows it needs (``data``), compute and word the
answer (``answer``). The glue between them, as tasks.py is for jobs; no HTTP here."""

from __future__ import annotations

import re
import time as time_module
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.insights import data
from services.insights.answer import (
    DIMENSION_NAMES,
    ENGLISH_METRICS,
    EVENT_METRICS,
    ORDER_METRICS,
    REVIEW_METRICS,
    chart,
    event_table,
    event_trend,
    format_value,
    order_table,
    review_table,
    shape_rows,
    span_text,
)
from services.insights.nlq import METRIC_NAMES, TIME_DIMENSIONS, Interpretation, parse

KNOWN_VALUES_TTL_S = 60.0
_known: dict[int, tuple[float, dict]] = {}


def _known_values(session: Session, shop_id: int) -> dict[str, list[str]]:
    """The shop's filterable values, re-read at most once a minute (6 DISTINCT scans per question otherwise)."""
    cached = _known.get(shop_id)
    if cached is None or time_module.monotonic() - cached[0] > KNOWN_VALUES_TTL_S:
        cached = (time_module.monotonic(), data.known_values(session))
        _known[shop_id] = cached
    return cached[1]


def _utc_window(span: tuple[date, date], timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(span[0], time(), zone)
    end = datetime.combine(span[1] + timedelta(days=1), time(), zone)
    return start, end


class Rows:
    """The rows one answer reads, fetched once per time range (a comparison and its driver reuse them)."""

    def __init__(self, session: Session, timezone: str):
        self.session, self.timezone = session, timezone
        self._lines: dict[tuple[date, date], pd.DataFrame] = {}

    def lines(self, span: tuple[date, date]) -> pd.DataFrame:
        if span not in self._lines:
            self._lines[span] = data.order_lines(self.session, *_utc_window(span, self.timezone))
        return self._lines[span]


def table_for(rows: Rows, interp: Interpretation, span: tuple[date, date]) -> pd.DataFrame:
    session, timezone = rows.session, rows.timezone
    start, end = _utc_window(span, timezone)
    if interp.metric in ORDER_METRICS:
        catalogue = data.catalogue(session) if interp.dimension == "item" else None
        return order_table(rows.lines(span), interp, timezone, catalogue)
    if interp.metric in EVENT_METRICS:
        if interp.dimension in TIME_DIMENSIONS:
            return event_trend(data.daily_events(session, start, end), interp, timezone)
        counts = data.event_counts(session, start, end, by_item=interp.dimension == "item")
        return event_table(counts, interp, {})
    if interp.metric in REVIEW_METRICS:
        return review_table(data.reviews(session, start, end), interp, timezone)
    raise ValueError(interp.metric)


def ask(session: Session, shop_id: int, question: str, as_of: date | None) -> dict:
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
    rows_of = Rows(session, timezone)
    table = shape_rows(table_for(rows_of, interp, interp.time_range), interp)
    notes = []
    if interp.shape == "comparison":
        current = float(table["value"].iloc[0])
        previous_table = table_for(rows_of, interp, interp.compare_range)
        previous = float(previous_table["value"].iloc[0])
        change = (current / previous - 1) if previous else None
        table = pd.DataFrame({"period": [span_text(interp.time_range), span_text(interp.compare_range)],
                              "value": [current, previous]})
        rows = table.replace({np.nan: None}).to_dict("records")
        columns = ["period", "value"]
        summary = _comparison_sentence(interp, metric_title, current, previous, change, english)
        if interp.metric in ("revenue", "units", "orders") and change is not None:
            driver = _driver(rows_of, interp)
            if driver:
                summary += (f", mostly from {driver}" if english else f"，主要来自{driver}")
        return {"question": question, "interpretation": interp.to_json(), "columns": columns, "rows": rows,
                "chart": chart(table, interp, metric_title), "summary": summary + ("." if english else "。"),
                "change_pct": round(100 * change, 2) if change is not None else None}
    if table.empty or (interp.metric in ORDER_METRICS and rows_of.lines(interp.time_range).empty):
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
    scope = "".join(f"{v}" for v in interp.filters.values())
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
        total = table["value"].sum() if interp.metric not in ("aov",) and "rate" not in interp.metric else None
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


def _driver(rows: Rows, interp: Interpretation) -> str | None:
    """The category whose change contributed most to the change of a summable metric."""
    by_category = Interpretation(metric=interp.metric, dimension="category", time_range=interp.time_range,
                                 shape="ranking", filters=interp.filters)
    now = table_for(rows, by_category, interp.time_range).set_index("key")["value"]
    before = table_for(rows, by_category, interp.compare_range).set_index("key")["value"]
    delta = now.subtract(before, fill_value=0)
    if delta.empty or delta.abs().max() == 0:
        return None
    total = delta.sum()
    key = delta.idxmax() if total >= 0 else delta.idxmin()
    return str(key)
