"""Answering a question: parse it (``nlq``), read the rows it needs (``data``), compute and word the
answer (``answer``). The use case ``POST /v1/ask`` calls; no HTTP here."""

from __future__ import annotations

import re
import time as time_module
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.insights import data
from services.insights.answer import (
    EVENT_METRICS,
    NAMED_VALUES,
    ORDER_METRICS,
    PRODUCT_FILTERS,
    REVIEW_METRICS,
    NotAnswerable,
    by_segment,
    change_driver,
    chart,
    dimension_name,
    event_table,
    format_value,
    local_window,
    metric_name,
    order_table,
    review_table,
    shape_rows,
    span_text,
    value_label,
)
from services.insights.entities import Vocabulary
from services.insights.nlq import RATES, TIME_DIMENSIONS, Interpretation, parse
from services.insights.time_phrases import festival_question
from shared.calendar import festival_name, shop_today
from shared.i18n import Message, current_language, join, language_was_asked, render, t
from shared.models import shop_timezone

KNOWN_VALUES_TTL_S = 60.0
_known: dict[int, tuple[float, Vocabulary]] = {}


def _vocabulary(session: Session, shop_id: int) -> Vocabulary:
    """The shop's filterable values and item titles, re-read at most once a minute (6 DISTINCT scans
    per question otherwise)."""
    cached = _known.get(shop_id)
    if cached is None or time_module.monotonic() - cached[0] > KNOWN_VALUES_TTL_S:
        catalogue = data.catalogue(session)
        titles = dict(zip(catalogue["item_id"].astype(str), catalogue["title"].fillna(""), strict=True))
        cached = (time_module.monotonic(), Vocabulary.build(data.known_values(session), titles))
        _known[shop_id] = cached
    return cached[1]


def query_filters(interp: Interpretation) -> dict:
    """The interpretation's filters as the aggregate queries name their columns, with the values
    compared as one more filter."""
    filters = {("item_id" if column == "item" else column): value for column, value in interp.filters.items()}
    if interp.values:
        filters[interp.dimension] = list(interp.values)
    return filters


class Sums:
    """The aggregates one answer reads, queried once each (a comparison and its driver reuse them)."""

    def __init__(self, session: Session, timezone: str, segment_of: Callable[[], pd.Series]):
        self.session, self.timezone, self.segment_of = session, timezone, segment_of
        self._orders: dict[tuple, pd.DataFrame] = {}

    def orders(self, span: tuple[date, date], group: tuple[str, ...], filters: dict, metric: str) -> pd.DataFrame:
        cache_key = (span, group, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                               for k, v in filters.items())), metric)
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
    filters = query_filters(interp)
    if interp.metric in ORDER_METRICS:
        if dimension == "segment":
            per_buyer = sums.orders(span, ("user_id",), filters, interp.metric)
            return order_table(by_segment(per_buyer, sums.segment_of()), interp)
        group = () if dimension is None else ("item_id",) if dimension == "item" else (dimension,)
        catalogue = data.catalogue(session) if dimension == "item" else None
        return order_table(sums.orders(span, group, filters, interp.metric), interp, catalogue)
    if interp.metric in (*EVENT_METRICS, *REVIEW_METRICS):
        unfit = [k for k in interp.filters if k not in PRODUCT_FILTERS]
        if unfit:  # behaviour logs and reviews carry no buyer address or order channel
            raise NotAnswerable(t("insights.product_filters_only", metric=metric_name(interp.metric),
                                  filters=join([dimension_name(k) for k in unfit])))
        if interp.values or dimension == "weekday":  # counted per order only: values compared, days of the week
            key = "insights.events_breakdown" if interp.metric in EVENT_METRICS else "insights.reviews_breakdown"
            raise NotAnswerable(t(key, metric=metric_name(interp.metric)))
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
    """The answer to ``question``; ``segment_of()`` gives each buyer's segment, when asked by segment.

    It is written in the language the reader asked for (Accept-Language), else in the question's.
    """
    timezone = shop_timezone(session, shop_id)
    as_of = as_of or shop_today(timezone)
    language = answer_language(question)
    interp = parse(question, as_of, _vocabulary(session, shop_id))
    if interp.route:
        route = interp.route
        summary = t("insights.route", topic=t(f"insights.topic_{route['topic']}"), path=route["path"])
        answer = {"question": question, "interpretation": interp.to_json(), "columns": [], "rows": [],
                  "chart": None, "summary": summary, "route": route}
        return render(answer, language)
    metric_title = metric_name(interp.metric)
    sums = Sums(session, timezone, segment_of)
    table = shape_rows(table_for(sums, interp, interp.time_range), interp)
    if interp.dimension in (*NAMED_VALUES, "segment"):
        table = table.assign(label=[render(value_label(interp.dimension, v), language) for v in table["key"]])
    elif interp.dimension is None:
        table = table.assign(label=t("insights.total_label").render(language))
    if interp.shape == "comparison":
        current = float(table["value"].iloc[0])
        previous_table = table_for(sums, interp, interp.compare_range)
        previous = float(previous_table["value"].iloc[0])
        change = (current / previous - 1) if previous else None
        table = pd.DataFrame({"period": [render(span_text(interp.time_range), language),
                                         render(span_text(interp.compare_range), language)],
                              "value": [current, previous]})
        rows = table.replace({np.nan: None}).to_dict("records")
        summary = _comparison_sentence(interp, metric_title, current, previous, change)
        if interp.metric in ("revenue", "units", "orders") and change is not None:
            driver = _driver(sums, interp)
            if driver:
                summary = t("insights.with_driver", sentence=summary, driver=driver)
        answer = {"question": question, "interpretation": interp.to_json(), "columns": ["period", "value"],
                  "rows": rows, "chart": chart(table, interp, metric_title), "summary": t("insights.end", text=summary),
                  "change_pct": round(100 * change, 2) if change is not None else None,
                  "reading": reading_sentence(interp, language), "alternatives": alternatives(question, interp)}
        return render(answer, language)
    columns = _columns(interp)
    rows = table[[c for c in columns if c in table.columns]].replace({np.nan: None}).to_dict("records")
    summary = _sentence(interp, metric_title, table)
    if table.empty or sums.nothing_read(interp.time_range):
        summary = t("insights.with_note", sentence=summary, note=t("insights.no_data_in_range"))
    answer = {"question": question, "interpretation": interp.to_json(), "columns": columns, "rows": rows,
              "chart": chart(table, interp, metric_title), "summary": t("insights.end", text=summary),
              "reading": reading_sentence(interp, language), "alternatives": alternatives(question, interp)}
    return render(answer, language)


def answer_language(question: str) -> str:
    """The reader's language when they asked for one, else the question's own."""
    if language_was_asked():
        return current_language()
    return "zh-CN" if re.search(r"[\u4e00-\u9fff]", question) else "en"


def _columns(interp: Interpretation) -> list[str]:
    if interp.shape in ("ranking", "argmax", "argmin", "compare_values"):
        return ["rank", "key", "label", "value"]
    if interp.shape == "share":
        return ["rank", "key", "label", "value", "share"]
    if interp.shape == "trend":
        return ["label", "value"]
    return ["value"]


def join_with(parts: list, separator_key: str) -> Message | str:
    """Parts joined by the catalogue's separator (，/, ) in the reader's language."""
    if not parts:
        return ""
    joined = parts[0]
    for part in parts[1:]:
        joined = t("insights.joined", first=joined, separator=t(separator_key), second=part)
    return joined


def reading_sentence(interp: Interpretation, language: str) -> str:
    """How the question was read, in words: the days (a festival's day or its campaign, or the
    30-day default), the filters, what is compared, and what was taken for a misspelt name."""
    span = span_text(interp.time_range)
    if interp.festival and interp.day_reading:
        year = interp.time_phrase.split(" ")[0]
        key = "insights.read_festival_day" if interp.day_reading == "day" else "insights.read_festival_season"
        parts = [t(key, year=year, festival=festival_name(interp.festival), span=span)]
    elif interp.time_default:
        parts = [t("insights.read_default_span", span=span)]
    else:
        parts = [t("insights.read_span", span=span)]
    if interp.shape == "comparison" and interp.compare_range:
        parts.append(t("insights.read_against", span=span_text(interp.compare_range)))
    if interp.filters:
        parts.append(t("insights.read_filters", values=join_with(
            [value_label(k, v) for k, v in interp.filters.items()], "insights.list_separator")))
    if interp.values:
        parts.append(t("insights.read_compared", dimension=dimension_name(interp.dimension), values=join_with(
            [value_label(interp.dimension, v) for v in interp.values], "insights.list_separator")))
    if interp.shape in ("argmax", "argmin"):
        direction = t("insights.read_lowest" if interp.shape == "argmin" else "insights.read_highest")
        parts.append(t("insights.read_best", metric=metric_name(interp.metric), direction=direction,
                       dimension=dimension_name(interp.dimension)))
    for found in interp.linked:
        if found["how"] not in ("exact", "place"):
            parts.append(t("insights.read_linked", words=found["words"], value=found["value"]))
    return render(t("insights.read_as", parts=join_with(parts, "insights.read_parts_separator")), language)


def alternatives(question: str, interp: Interpretation) -> list[dict]:
    """Other readings worth offering: a festival's campaign instead of its day, and the other way round."""
    if not (interp.festival and interp.day_reading):
        return []
    other = "season" if interp.day_reading == "day" else "day"
    rewritten = festival_question(question, interp.festival, other)
    if rewritten is None:
        return []
    key = "insights.alternative_festival_season" if other == "season" else "insights.alternative_festival_day"
    return [{"question": rewritten, "reading": t(key, festival=festival_name(interp.festival))}]


def _scope(interp: Interpretation) -> Message | str:
    """The filters of a question as words ("上海 手机端" / " for 上海, mobile"), or nothing."""
    values = [value_label(k, v) for k, v in interp.filters.items()]
    if not values:
        return ""
    joined = values[0]
    for value in values[1:]:
        joined = t("insights.and_value", first=joined, second=value)
    return t("insights.scope", values=joined)


def _sentence(interp: Interpretation, metric_title: Message, table: pd.DataFrame) -> Message:
    when, scope = span_text(interp.time_range), _scope(interp)
    if interp.shape == "total":
        value = format_value(interp.metric, float(table["value"].iloc[0]))
        return t("insights.total", when=when, scope=scope, metric=metric_title, value=value)
    if table.empty:
        return t("insights.nothing", when=when, scope=scope, metric=metric_title)
    first = table.iloc[0]
    best = format_value(interp.metric, float(first["value"]))
    dimension = dimension_name(interp.dimension)
    if interp.shape == "trend":
        peak = table.loc[table["value"].idxmax()] if table["value"].notna().any() else first
        peak_value = format_value(interp.metric, float(peak["value"]))
        if interp.metric in RATES:  # a sum of daily rates means nothing
            return t("insights.trend", when=when, scope=scope, metric=metric_title, dimension=dimension,
                     peak=peak["label"], peak_value=peak_value)
        total = format_value(interp.metric, float(table["value"].sum()))
        return t("insights.trend_total", when=when, scope=scope, metric=metric_title, dimension=dimension,
                 total=total, peak=peak["label"], peak_value=peak_value)
    label = first["label"]
    if interp.shape in ("argmax", "argmin"):
        key = "insights.worst" if interp.shape == "argmin" else "insights.best"
        return t(key, when=when, scope=scope, metric=metric_title, dimension=dimension, label=label, value=best)
    if interp.shape == "compare_values":
        listed = [t("insights.compare_value", label=row["label"], value=format_value(interp.metric, row["value"]))
                  for _, row in table.iterrows()]
        return t("insights.compare_values", when=when, scope=scope, metric=metric_title,
                 values=join_with(listed, "insights.list_separator"))
    if interp.shape == "share":
        return t("insights.share", when=when, scope=scope, metric=metric_title, dimension=dimension, label=label,
                 share=f"{first['share']:.1%}", value=best)
    key = "insights.lowest" if interp.sort == "asc" else "insights.top"
    return t(key, when=when, scope=scope, metric=metric_title, dimension=dimension, label=label, value=best)


def _comparison_sentence(interp, metric_title, current, previous, change) -> Message:
    word = t({"previous_year": "insights.year_over_year", "previous_week": "insights.week_over_week"}.get(
        interp.comparison, "insights.period_over_period"))
    change_text = f"{change:+.1%}" if change is not None else t("insights.change_unknown")
    return t("insights.comparison", when=span_text(interp.time_range), scope=_scope(interp), metric=metric_title,
             now=format_value(interp.metric, current), word=word, change=change_text,
             before=format_value(interp.metric, previous))


def _driver(sums: Sums, interp: Interpretation) -> str | None:
    """The category that made most of the change of a summable metric, if one did."""
    by_category = Interpretation(metric=interp.metric, dimension="category", time_range=interp.time_range,
                                 shape="ranking", filters=interp.filters)
    now = table_for(sums, by_category, interp.time_range).set_index("key")["value"]
    before = table_for(sums, by_category, interp.compare_range).set_index("key")["value"]
    return change_driver(now, before)
