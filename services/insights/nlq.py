"""Plain Chinese or English shop questions → an explicit interpretation. Pure, deterministic.

A question is read by vocabulary, not by a language model: which metric (销售额, 销量, 订单数 ...),
which dimension to break it down by (商品, 品类, 省份, 每天 ...), which time range (本月, 最近7天,
2026年双11, Q3 ...), how many and which end (前10, 最差的5个), which filters (杭州, 女装, 手机端),
and which shape (ranking, trend, share, comparison with 上月/去年同期, or a total). The result is
always returned with the answer, so a wrong reading is visible. Anything that looks like SQL or an
instruction to the system, or that names no metric or topic it knows, is unreadable: the caller
answers 422 with questions it can answer. Questions that belong to a model (补货, 潜力品类, 差评,
定价, 推荐) are routed to that model's route instead.

The words are tables (``vocabulary.py`` for metrics, dimensions, routes and qualifiers,
``time_phrases.py`` for times), read by ``phrases.scan``/``phrases.pick``; this module combines
what they found into the interpretation and checks the filter values against the shop's data.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from services.insights.phrases import Unreadable, chinese_number, first, pick, scan
from services.insights.time_phrases import TIME_WORDS, time_range
from services.insights.vocabulary import (
    CHANNELS,
    COMPARISONS,
    DIMENSIONS,
    INJECTION,
    METRICS,
    RANKING,
    RANKS_ITEMS,
    RATES,
    ROUTES,
    SHARES,
    SORTS,
    TIME_DIMENSIONS,
    TOP_N,
    TREND,
    all_words,
)
from shared.calendar import shift_months
from shared.i18n import entries, t

__all__ = ["RATES", "TIME_DIMENSIONS", "Interpretation", "SeveralValues", "UnknownValue", "Unreadable",
           "chinese_number", "parse", "suggestions", "time_range", "unknown_value"]

MAX_CHARS = 500


class SeveralValues(Unreadable):
    """The question names two or more values of one dimension ("女装和男装的销售额")."""

    def __init__(self, dimension: str, values: list[str]):
        super().__init__(t("insights.several_values", count=len(values), dimension=t(f"insights.dimension_{dimension}"),
                           values=", ".join(values)))
        self.dimension, self.values = dimension, values


class UnknownValue(Unreadable):
    """The question filters on a value the shop's data does not have (a city, category, brand ...)."""

    def __init__(self, value: str, close: list[str], code: bool = False):
        if code:  # "XYZ123", "2389012345": an id or a product code, which no question filters on
            super().__init__(t("insights.unknown_code", value=value))
        elif close:
            super().__init__(t("insights.unknown_value_close", value=value, close=", ".join(close)))
        else:
            super().__init__(t("insights.unknown_value", value=value))
        self.value, self.close = value, close


@dataclass
class Interpretation:
    metric: str
    dimension: str | None
    time_range: tuple[date, date]
    shape: str  # total | ranking | trend | share | comparison
    top_n: int | None = None
    sort: str = "desc"
    filters: dict[str, str] = field(default_factory=dict)
    comparison: str | None = None  # previous_period | previous_year
    compare_range: tuple[date, date] | None = None
    time_phrase: str = ""
    route: dict | None = None

    def to_json(self) -> dict:
        out = asdict(self)
        out["time_range"] = [d.isoformat() for d in self.time_range]
        out["compare_range"] = [d.isoformat() for d in self.compare_range] if self.compare_range else None
        return out


def _previous(span: tuple[date, date], how: str) -> tuple[date, date]:
    start, end = span
    if how == "previous_year":
        return shift_months(start, -12), shift_months(end, -12)
    if start.day == 1 and (end + timedelta(days=1)).day == 1:  # whole months: the months before
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        first = shift_months(start, -months)
        return first, start - timedelta(days=1)
    if start.weekday() == 0 and (end - start).days < 6:  # week to date: the same weekdays a week before
        return start - timedelta(days=7), end - timedelta(days=7)
    if start.day == 1 and end.month == start.month and end.year == start.year:  # month to date
        first = shift_months(start, -1)
        return first, min(shift_months(end, -1), start - timedelta(days=1))
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def parse(question: str, as_of: date, known_values: dict[str, list[str]] | None = None) -> Interpretation:
    """The interpretation of ``question`` asked on ``as_of`` (see the module docstring).

    ``known_values``: dimension → values that exist in the shop (categories, brands, provinces,
    cities), so "杭州的女装销量" filters on city 杭州 and category 女装."""
    text = " ".join(question.split())
    if not text:
        raise Unreadable(t("insights.empty_question"))
    if len(text) > MAX_CHARS:
        raise Unreadable(t("insights.long_question", chars=MAX_CHARS))
    if INJECTION.search(text):
        raise Unreadable(t("insights.not_a_question"))
    lowered = text.lower()

    route = first(lowered, ROUTES)
    if route:
        span = time_range(lowered, as_of)
        return Interpretation(metric="(model)", dimension=None, time_range=span[0] if span else (as_of, as_of),
                              shape="route", route=route.row.value, time_phrase=span[1] if span else "")

    # Times first: a time phrase it cannot read ("2024年13月") is named as such, not as an unknown value.
    span_found = time_range(lowered, as_of)
    metric_hits = scan(lowered, METRICS)
    dimension_hits = scan(lowered, DIMENSIONS)
    filters = _filters(text, known_values or {})
    unknown = unknown_value(text, filters, known_values or {})
    if unknown:
        raise unknown
    ranking_words = first(lowered, RANKING)
    if not metric_hits and not (dimension_hits and ranking_words):
        raise Unreadable(t("insights.no_metric"))
    # "哪些商品卖得最好" names no metric: ranking items means units sold
    metric = pick(metric_hits).row.value if metric_hits else "units"

    span, phrase = span_found if span_found else ((as_of.replace(day=1), as_of), "本月 (默认)")

    dimension = pick(dimension_hits).row.value if dimension_hits else None
    if dimension is None and first(lowered, TREND):
        days = (span[1] - span[0]).days
        dimension = "day" if days <= 62 else ("week" if days <= 200 else "month")
    if dimension is None and ranking_words and first(lowered, RANKS_ITEMS):
        dimension = "item"  # a ranking of nothing named ranks items ("杭州的女装销量排名")

    comparison = first(lowered, COMPARISONS)
    comparison = comparison.row.value if comparison else None
    top = first(lowered, TOP_N)
    top_n = chinese_number(top.found.group(1)) if top else None
    sort = first(lowered, SORTS)
    sort = sort.row.value if sort else "desc"
    share = first(lowered, SHARES)

    if dimension in TIME_DIMENSIONS:
        shape = "trend"
    elif dimension and share:
        shape = "share"
    elif dimension:
        shape = "ranking"
        top_n = top_n or 10
    elif comparison:
        shape = "comparison"
    else:
        shape = "total"
    if dimension and dimension in filters:  # "女装品类销量前5": the items within 女装
        dimension = "item"
    if dimension is None and filters and share and share.row.name == "share":
        # "手机端的订单占比": the share of every channel, 手机端's among them
        dimension = next(iter(filters))
        filters = {k: v for k, v in filters.items() if k != dimension}
        shape = "share"
    if metric in RATES and shape == "share":
        shape = "ranking"
    compare_range = _previous(span, comparison) if comparison else None
    return Interpretation(metric=metric, dimension=dimension, time_range=span, shape=shape, top_n=top_n,
                          sort=sort, filters=filters, comparison=comparison,
                          compare_range=compare_range, time_phrase=phrase)


def _filters(text: str, known: dict[str, list[str]]) -> dict[str, str]:
    """dimension → value for every known value named in the question (longest value first)."""
    found: dict[str, str] = {}
    lowered = text.lower()
    channel = first(lowered, CHANNELS)
    if channel:
        found["channel"] = channel.row.value
    for dimension in ("category", "brand", "city", "province"):
        values = sorted((v for v in known.get(dimension, []) if v and len(v) >= 2), key=len, reverse=True)
        rest, named = lowered, []
        for value in values:
            short = value.rstrip("省市")
            for form in (value.lower(), short.lower() if len(short) >= 2 else None):
                if form and form in rest:
                    named.append(value)
                    rest = rest.replace(form, " ")  # 女装上衣 named: its 女装 is not named again
                    break
        if len(named) > 1:
            raise SeveralValues(dimension, named)
        if named:
            found[dimension] = named[0]
    city, province = found.get("city"), found.get("province")
    if city and province and city.startswith(province.rstrip("省市")):  # 上海: the city says it all
        del found["province"]
    return found


# Words that may stand before 的 without naming a filter value, besides those of the metric, dimension
# and time tables: times the tables do not read, shapes, quantities, the shop.
_NOT_VALUES = (
    "前年", "最近", "过去", "期间", "去年同期", "同期", "季度", "个月", "星期", "当天", "各个", "每个", "所有", "全部",
    "整体", "最好", "最差", "最高", "最低", "最多", "最少", "最大", "最小", "倒数", "哪些", "哪个", "哪几", "排名",
    "排行", "占比", "比例", "趋势", "走势", "变化", "对比", "环比", "同比", "相比", "比较", "一共", "总共", "合计",
    "多少", "店铺", "本店", "我们", "我的", "全店", "手机端", "移动端", "无线端", "电脑端", "pc端", "手机", "电脑",
    "客户", "顾客", "用户", "会员", "以来", "至今", "到现在", "前后", "左右", "之间", "实际", "支付", "付款", "已付款",
    "成交", "下单", "线上", "网店", "淘宝", "天猫", "店里", "店内", "整个", "总的", "总体", "目前", "现在", "当前",
    "截至", "为止", "累计")
_BEFORE_DE = re.compile(r"([\u4e00-\u9fff]{2,})的")
_ENGLISH_PLACE = re.compile(r"\b(?:in|for|from)\s+((?:[A-Z][a-z]+)(?:\s[A-Z][a-z]+)*)")
# Capitalised words after in/for/from that are not places, categories or brands.
_ENGLISH_NOT_VALUES = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "singles", "double", "eleven", "twelve", "day",
    "days", "week", "weeks", "month", "months", "year", "years", "quarter", "last", "this", "next", "past", "the",
    "today", "yesterday", "all", "every", "each", "mobile", "pc", "app", "desktop", "q1", "q2", "q3", "q4"}


_ASCII_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9][A-Za-z0-9_-]*")
# Letters and digits together that are still words: q3, top10, 1st.
_WORDS_WITH_DIGITS = re.compile(r"(q|top|bottom)\d+|\d+(st|nd|rd|th)", re.IGNORECASE)


def _looks_like_code(token: str) -> bool:
    """An item id (six digits or more: times have been read by then) or a product code (XYZ123)."""
    if token.isdigit():
        return len(token) >= 6
    return (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
            and not _WORDS_WITH_DIGITS.fullmatch(token))


def unknown_value(text: str, filters: dict[str, str], known: dict[str, list[str]]) -> UnknownValue | None:
    """A place, category or brand the question names that the shop's data does not have, else None:
    "本月拉萨的销售额" in a shop with no sales to 拉萨 must not silently answer for the whole shop."""
    every = [v for values in known.values() for v in values if v]
    vocabulary = sorted({*_NOT_VALUES, *(w for w in (*all_words(METRICS), *all_words(DIMENSIONS), *TIME_WORDS)
                                         if not w.isascii()), *filters.values(), *every,
                         *(v.rstrip("省市") for v in every if len(v.rstrip("省市")) >= 2)}, key=len, reverse=True)
    known_lower = {v.lower() for v in (*every, *filters.values())}
    candidates = []
    for match in _BEFORE_DE.finditer(text):
        rest = match.group(1)
        for word in vocabulary:
            rest = rest.replace(word, " ")
        candidates += [run for run in re.findall(r"[\u4e00-\u9fff]{2,}", rest)
                       if not re.fullmatch(r"[第一二两三四五六七八九十百千零年月日号天周最前后各个总]+", run)]
    for match in _ENGLISH_PLACE.finditer(text):
        phrase = match.group(1)
        words = [w for w in phrase.split() if w.lower() not in _ENGLISH_NOT_VALUES]
        if words and phrase.lower() not in known_lower and " ".join(words).lower() not in known_lower:
            candidates.append(" ".join(words))
    if not candidates:
        code = next((token for token in _ASCII_TOKEN.findall(text) if _looks_like_code(token)), None)
        return UnknownValue(code, [], code=True) if code else None
    value = candidates[0]
    close = list(dict.fromkeys(difflib.get_close_matches(value, every, n=3, cutoff=0.3) or [
        v for v in every if any(ch in v for ch in value)]))[:3]
    return UnknownValue(value, close)


def suggestions(question: str, language: str) -> list[str]:
    """Questions it can answer, in ``language``, the ones closest to what was asked first."""
    examples = entries("insights.example_questions", language)
    words = set(question.lower())
    return sorted(examples, key=lambda e: -len(words & set(e.lower())))[:5]
