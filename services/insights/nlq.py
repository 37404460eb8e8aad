"""Plain Chinese or English shop questions → a typed query (:class:`Interpretation`). Pure, deterministic.

A question is read by tables, not by a language model. The reader goes through the question once
per kind of word, and each step marks the characters it read, so a later one never reads them again
(本周末 is a time, so its 周末 is no weekend filter; 退款率 is a metric, so its 退款 is no status):

1. times (``time_phrases``): every range named, festival days versus seasons, 11月1日到11日;
2. the words of the tables in ``vocabulary``: metric, status, new/returning buyers, weekend/workday,
   channel, breakdown dimension, the best-of-time words (哪天, 哪个月, 周几) and the qualifiers;
3. the shop's own values (``entities``): categories, brands, places, item titles, also misspelt;
   a name that is none of them is refused with a 422 that names it.

Then the shape: several values of one dimension are compared (compare_values); "哪天/哪个品牌 … 最"
is the one best (argmax/argmin); a grain is a trend; a share word a share; a dimension or a list word
a ranking; a comparison word or two times a comparison with the period before (or the one named);
else a total. With no time named, the range is the last 30 days. The interpretation is returned
with every answer, so a wrong reading is visible. Questions that belong to a model (补货, 差评,
定价 …) are routed to that model's route instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from services.insights.entities import (
    Linked,
    Vocabulary,
    close_values,
    common_word,
    link_exact,
    link_fuzzy,
    looks_like_name,
    short_form,
)
from services.insights.phrases import Match, Unreadable, chinese_number, first, pick, scan
from services.insights.time_phrases import TimeSpan, current_of, read_times, time_range
from services.insights.vocabulary import (
    BEST_TIME,
    CHANNELS,
    COMPARISONS,
    CUSTOMER_METRICS,
    DAY_TYPES,
    DIMENSIONS,
    INJECTION,
    METRICS,
    RANKING,
    RANKS_ITEMS,
    RATES,
    ROUTES,
    SHARES,
    SORTS,
    STATUSES,
    SUPERLATIVE,
    TIME_DIMENSIONS,
    TOP_N,
    TREND,
)
from shared.calendar import shift_months
from shared.i18n import entries, t

__all__ = ["RATES", "TIME_DIMENSIONS", "Interpretation", "UnknownValue", "Unreadable", "chinese_number", "parse",
           "suggestions", "time_range"]

MAX_CHARS = 500
DEFAULT_DAYS = 30  # the range of a question that names no time
SHAPES = ("total", "ranking", "trend", "share", "comparison", "compare_values", "argmax", "argmin", "route")
SHARE_OF_VALUE = ("channel", "category", "brand", "province", "city", "status", "day_type")  # 手机端的订单占比
FILTER_COLUMNS = ("category", "brand", "province", "city", "channel", "status", "customer", "day_type", "item")


class UnknownValue(Unreadable):
    """The question names a value the shop's data does not have (a city, category, brand ...)."""

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
    """The typed query: what to compute (metric), over which rows (filters, time_range), broken down
    how (dimension, values), and in which shape; validated by :meth:`check`."""

    metric: str
    dimension: str | None
    time_range: tuple[date, date]
    shape: str  # one of SHAPES
    top_n: int | None = None
    sort: str = "desc"
    filters: dict[str, str] = field(default_factory=dict)
    values: list[str] | None = None  # compare_values: the values of ``dimension`` compared
    comparison: str | None = None  # previous_period | previous_year | previous_week | named
    compare_range: tuple[date, date] | None = None
    time_phrase: str = ""
    day_reading: str | None = None  # a festival's day or its season
    festival: str | None = None
    time_default: bool = False  # no time was named: the last 30 days
    linked: list[dict] = field(default_factory=list)  # the shop values found, and how (exact, pinyin …)
    route: dict | None = None

    def check(self) -> Interpretation:
        if self.shape not in SHAPES:
            raise ValueError(self.shape)
        if self.shape in ("trend",) and self.dimension not in TIME_DIMENSIONS:
            raise ValueError("a trend needs a time dimension")
        if self.shape == "compare_values" and (not self.values or len(self.values) < 2 or not self.dimension):
            raise ValueError("compare_values needs two values of a dimension")
        if self.shape == "comparison" and self.compare_range is None:
            raise ValueError("a comparison needs the other range")
        if self.time_range[0] > self.time_range[1]:
            raise Unreadable(t("insights.not_a_date", text=f"{self.time_range[0]}~{self.time_range[1]}"))
        unknown = set(self.filters) - set(FILTER_COLUMNS)
        if unknown:
            raise ValueError(f"unknown filters {unknown}")
        return self

    def to_json(self) -> dict:
        out = asdict(self)
        out["time_range"] = [d.isoformat() for d in self.time_range]
        out["compare_range"] = [d.isoformat() for d in self.compare_range] if self.compare_range else None
        return out


class Reading:
    """The question's text (lower-cased, and as written) and which of its characters a step has read."""

    def __init__(self, text: str, written: str):
        self.text, self.written = text, written if len(written) == len(text) else text
        self.free = [True] * len(text)

    def masked(self) -> str:
        return "".join(c if self.free[i] else " " for i, c in enumerate(self.text))

    def take(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.free[i] = False

    def scan(self, table, keep: bool = True) -> list[Match]:
        """The table's matches on what is left; ``keep`` marks them read."""
        found = scan(self.masked(), table)
        if keep:
            for match in found:
                self.take(match.start, match.end)
        return found


def normalise(question: str) -> str:
    """Full-width letters, digits and punctuation as ASCII (ＴＯＰ３ → top3), one space."""
    return " ".join(unicodedata.normalize("NFKC", question).split())


def parse(question: str, as_of: date, vocabulary: Vocabulary | dict | None = None) -> Interpretation:
    """The interpretation of ``question`` asked on ``as_of`` (see the module docstring).

    ``vocabulary``: the shop's values (an :class:`entities.Vocabulary`, or dimension → values), so
    "杭州的女装销量" filters on city 杭州市 and category 女装."""
    if not isinstance(vocabulary, Vocabulary):
        vocabulary = Vocabulary.build(vocabulary or {})
    written = normalise(question)
    text = written.lower()
    if not text:
        raise Unreadable(t("insights.empty_question"))
    if len(text) > MAX_CHARS:
        raise Unreadable(t("insights.long_question", chars=MAX_CHARS))
    if INJECTION.search(text):
        raise Unreadable(t("insights.not_a_question"))

    route = first(text, ROUTES)
    if route:
        span = time_range(text, as_of)
        return Interpretation(metric="(model)", dimension=None, time_range=span[0] if span else (as_of, as_of),
                              shape="route", route=route.row.value, time_phrase=span[1] if span else "")

    reading = Reading(text, written)
    # a comparison's own time words (上周同一天) are read as the comparison, not as a second range
    compared_day = [m for m in scan(text, COMPARISONS) if m.row.value == "previous_week"]
    for match in compared_day:
        reading.take(match.start, match.end)
    times = read_times(reading.masked(), as_of)
    for span in times:
        reading.take(*span.at)
    linked = Linked()
    link_exact(reading.text, reading.free, vocabulary, linked)
    _refuse_codes(reading)
    # qualifiers are looked for before the metric words that hold them (卖得最差: revenue, ascending)
    shares = pick(reading.scan(SHARES, keep=False))
    sort = pick(reading.scan(SORTS, keep=False))
    superlative = pick(reading.scan(SUPERLATIVE, keep=False))
    top = pick(reading.scan(TOP_N, keep=False))
    listing = pick(reading.scan(RANKING, keep=False))
    trend = pick(reading.scan(TREND, keep=False))
    ranks_items = pick(reading.scan(RANKS_ITEMS, keep=False))
    statuses = reading.scan(STATUSES)
    best_time = reading.scan(BEST_TIME)  # before the metrics: "best week" is not the metric's "best"
    metrics = reading.scan(METRICS)
    day_types = reading.scan(DAY_TYPES)
    channels = reading.scan(CHANNELS)
    # read on the whole question: "和上周比" holds a time the first step has already read
    comparison = pick(scan(text, COMPARISONS))
    reading.scan(COMPARISONS)
    dimensions = reading.scan(DIMENSIONS)
    for table in (SHARES, SORTS, SUPERLATIVE, TOP_N, RANKING, TREND):
        reading.scan(table)
    link_fuzzy(reading.text, reading.free, vocabulary, linked)
    _refuse_unknown(reading, linked, vocabulary)
    # "北极鹿品牌", "母婴类目", "水之语这个牌子": the dimension word says what the value is; "多少件商品":
    # what is counted
    dimensions = [d for d in dimensions if not any(
        m.dimension == d.row.value and 0 <= d.start - m.at[1] <= 2 for m in linked.mentions)
        and not (d.row.value == "item" and any(0 <= d.start - m.end <= 1 and not m.text.isascii() for m in metrics))]

    # what is counted
    customer_metrics = [m for m in metrics if m.row.value in CUSTOMER_METRICS]
    customer_metric = customer_metrics[0] if customer_metrics else None
    counted = [m for m in metrics if m.row.value not in CUSTOMER_METRICS]
    if any(m.row.value != "orders" for m in counted):
        # "revenue from completed orders": orders right after a status are which orders, not the metric
        counted = [m for m in counted if not (m.row.value == "orders" and m.text.isascii()
                                              and any(0 <= m.start - s.end <= 1 for s in statuses))]
    filters: dict[str, str] = {}
    others = [m for m in counted if m.row.name != "buyers (how many)"]
    customers = list(dict.fromkeys(CUSTOMER_METRICS[m.row.value] for m in customer_metrics))
    if customer_metric and others:
        metric = _asked(others).row.value  # 新客贡献的销售额: the new buyers' revenue
    elif len(customers) > 1:
        metric = "buyers"  # 新客和老客各有多少: buyers, new against returning
    elif customer_metric:
        metric = customer_metric.row.value  # 有多少新客, 回头客人数
    elif counted:
        metric = _asked(counted).row.value
    elif statuses:
        metric = "orders"  # 待付款的有几单, 被取消的有多少
    elif dimensions or best_time or listing or superlative:
        metric = "revenue" if not ranks_items else "units"
    else:
        raise Unreadable(t("insights.no_metric"))

    # which rows: the shop's values, statuses, day types, channels
    by_dimension: dict[str, list[str]] = {}
    for mention in linked.mentions:
        by_dimension.setdefault(mention.dimension, [])
        if mention.value not in by_dimension[mention.dimension]:
            by_dimension[mention.dimension].append(mention.value)
    if customers and (customer_metric and others or len(customers) > 1):
        by_dimension["customer"] = customers
    for column, matches in (("status", statuses), ("day_type", day_types), ("channel", channels)):
        for match in matches:
            value = match.row.value if column != "channel" else match.row.value
            by_dimension.setdefault(column, [])
            if value not in by_dimension[column]:
                by_dimension[column].append(value)
    _city_says_its_province(by_dimension, vocabulary)
    several = [d for d, values in by_dimension.items() if len(values) > 1]
    compared = several[0] if several else None
    for column, values in by_dimension.items():
        if column != compared:
            filters[column] = values[0]

    # the time range, and a second one for a comparison
    if times:
        span = times[0]
    elif compared_day:  # "销量和上周同一天比": today against that day
        span = TimeSpan(as_of, as_of, "今天")
    else:
        start = as_of - timedelta(days=DEFAULT_DAYS - 1)
        span = TimeSpan(start, as_of, f"最近{DEFAULT_DAYS}天")
    shape, dimension, top_n, sort_order = "total", None, None, sort.row.value if sort else "desc"
    values = None
    named_dimension = pick(dimensions).row.value if dimensions else None
    if compared and shares and shares.row.name == "share":
        shape, dimension = "share", compared  # 手机端和PC端的订单占比: the share of each channel
    elif compared:
        shape, dimension, values = "compare_values", compared, by_dimension[compared]
    elif best_time:
        shape, dimension = ("argmin" if sort_order == "asc" else "argmax"), pick(best_time).row.value
    elif named_dimension in TIME_DIMENSIONS or (trend and not named_dimension):
        shape = "trend"
        dimension = named_dimension if named_dimension in TIME_DIMENSIONS else _grain(span)
    elif named_dimension and shares:
        shape, dimension = "share", named_dimension
    elif named_dimension and superlative and not top and not _is_list(listing):
        shape, dimension = ("argmin" if sort_order == "asc" else "argmax"), named_dimension
    elif not named_dimension and len(times) > 1:
        pass  # "去年双11和今年双11哪个卖得好": the two times compared (below)
    elif named_dimension or (ranks_items and (listing or superlative or top)):
        shape, dimension = "ranking", named_dimension or "item"
        top_n = chinese_number(top.found.group(1)) if top else 10
    elif shares and shares.row.name == "share" and any(k in SHARE_OF_VALUE for k in filters):
        # "手机端的订单占比": the share of every channel, 手机端's among them
        dimension = next(k for k in filters if k in SHARE_OF_VALUE)
        filters = {k: v for k, v in filters.items() if k != dimension}
        shape = "share"
    if dimension and dimension in filters and shape in ("ranking", "argmax", "argmin", "share"):
        dimension = "item"  # "女装品类销量前5": the items within 女装
    if metric in RATES and shape == "share":
        shape = "ranking"

    comparison_kind, compare_range = None, None
    if shape == "total" and comparison and len(times) == 1 and comparison.start < times[0].at[0]:
        current = current_of(times[0], as_of)  # "销售额和上周比": this week against last week
        if current is not None:
            span = current
    if shape == "total" and (comparison or len(times) > 1):
        comparison_kind = comparison.row.value if comparison else "previous_period"
        compare_range = _previous(span.span, comparison_kind)
        if comparison_kind == "previous_period" and len(times) > 1:
            other = times[1].span
            year_before = _previous(span.span, "previous_year")
            if other[0] == year_before[0] and other[1] >= year_before[1]:  # 今年和去年比: the same days
                comparison_kind, compare_range = "previous_year", year_before
            elif re.fullmatch(r"\d{4}年", times[1].label) and other[0].year != span.start.year:
                years = other[0].year - span.start.year  # 今年双11大促和去年比: that year's same days
                comparison_kind = "previous_year" if years == -1 else "named"
                compare_range = (shift_months(span.start, 12 * years), shift_months(span.end, 12 * years))
            elif other not in (span.span, _whole_previous(span.span)) and other[0] != compare_range[0]:
                comparison_kind, compare_range = "named", other
        shape = "comparison"
    return Interpretation(
        metric=metric, dimension=dimension, time_range=span.span, shape=shape, top_n=top_n, sort=sort_order,
        filters=filters, values=values, comparison=comparison_kind, compare_range=compare_range,
        time_phrase=span.label, day_reading=span.day_reading, festival=span.festival,
        time_default=not times and not compared_day,
        linked=[{"dimension": m.dimension, "value": m.value, "words": question_words(text, m.at), "how": m.how}
                for m in linked.mentions]).check()


def _asked(metrics: list[Match]) -> Match:
    """The metric asked for: of the most explicit, the last named — a Chinese question ends on what it
    asks ("有人下单，统计下当天订单量", "已发货订单的金额")."""
    return max(metrics, key=lambda m: (m.row.priority, m.start))


def question_words(text: str, at: tuple[int, int]) -> str:
    return text[at[0]:at[1]]


def _is_list(listing: Match | None) -> bool:
    return listing is not None


def _grain(span: TimeSpan) -> str:
    days = (span.end - span.start).days
    return "day" if days <= 62 else ("week" if days <= 200 else "month")


def _city_says_its_province(by_dimension: dict[str, list[str]], vocabulary: Vocabulary) -> None:
    """江苏苏州, or 上海 read as both: the city says it all."""
    cities, provinces = by_dimension.get("city", []), by_dimension.get("province", [])
    for province in list(provinces):
        short = short_form(province)
        if any(city.startswith(short) or vocabulary.province_of.get(city) == short for city in cities):
            provinces.remove(province)
    if "province" in by_dimension and not provinces:
        del by_dimension["province"]


def _previous(span: tuple[date, date], how: str) -> tuple[date, date]:
    start, end = span
    if how == "previous_week":
        return start - timedelta(days=7), end - timedelta(days=7)
    if how == "previous_year":
        return shift_months(start, -12), shift_months(end, -12)
    if start.day == 1 and (end + timedelta(days=1)).day == 1:  # whole months: the months before
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        first_day = shift_months(start, -months)
        return first_day, start - timedelta(days=1)
    if start.weekday() == 0 and (end - start).days < 6:  # week to date: the same weekdays a week before
        return start - timedelta(days=7), end - timedelta(days=7)
    if start.day == 1 and start.month % 3 == 1 and end < shift_months(start, 3) and end.month != start.month:
        return shift_months(start, -3), shift_months(end, -3)  # quarter to date: the same days a quarter before
    if start.day == 1 and end.month == start.month and end.year == start.year:  # month to date
        first_day = shift_months(start, -1)
        return first_day, min(shift_months(end, -1), start - timedelta(days=1))
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _whole_previous(span: tuple[date, date]) -> tuple[date, date]:
    """The whole month before a month to date (本月 vs 上月 is compared day for day)."""
    start = span[0]
    if start.day != 1:
        return span
    before = shift_months(start, -1)
    return before, start - timedelta(days=1)


# Words that may stand before 的 without naming a value: shapes, quantities, the shop, fillers.
_NOT_VALUES = re.compile(
    r"期间|当天|那天|各个|每个|所有|全部|整体|哪些|哪个|哪几|多少|店铺|本店|我们|我的|全店|客户|顾客|用户|会员|以来|至今|"
    r"到现在|前后|左右|之间|实际|支付|付款|成交|下单|线上|网店|淘宝|天猫|店里|店内|整个|总的|总体|目前|现在|当前|截至|为止|"
    r"累计|一共|总共|合计|帮我|查一下|看看|看一下|告诉我|统计|情况|数据|东西|宝贝|货|这些|那些|这个|那个|一下|里面|其中|"
    r"大概|大约|分别|怎么样|如何|是不是|有没有|高不高|好不好|多不多|还是|以及|还有|时候|时间|一天|一周|单子|一单|每单|平均|积压|堆积|滞留|卡着")
_BEFORE_DE = re.compile(r"([\u4e00-\u9fff]{2,})的")
_NUMBERS_AND_TIME = re.compile(r"[第一二两三四五六七八九十百千零年月日号天周最前后各个总这那哪]+")
_LEADING = re.compile(r"^\W*((?:(?!的)[\u4e00-\u9fff]){2,})(?![\u4e00-\u9fff])")
# A capitalised name after in/for/from that no table or shop value read ("Sales in Atlantis").
_ENGLISH_NAME = re.compile(r"\b(?:in|for|from|at)\s+((?:[A-Z][a-z]+)(?:\s[A-Z][a-z]+)*)")
_ENGLISH_NOT_VALUES = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "the", "this", "last",
    "next", "all", "every", "each", "our", "my", "total", "china", "store", "shop"}
_ASCII_TOKEN = re.compile(r"(?<![a-z0-9_-])[a-z0-9][a-z0-9_-]*")
# Letters and digits together that are still words: q3, top10, 1st, h1.
_WORDS_WITH_DIGITS = re.compile(r"(q|top|bottom|h)\d+|\d+(st|nd|rd|th|g|ml|kg|w|m)", re.IGNORECASE)


def _looks_like_code(token: str) -> bool:
    """An item id (six digits or more: times have been read by then) or a product code (XYZ123)."""
    if token.isdigit():
        return len(token) >= 6
    return (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
            and not _WORDS_WITH_DIGITS.fullmatch(token))


def _refuse_unknown(reading: Reading, linked: Linked, vocabulary: Vocabulary) -> None:
    """A place the shop has no sales to, or a name before 的 that no table or shop value reads, is
    refused: "本月拉萨的销售额" must not silently answer for the whole shop."""
    if linked.unknown:
        value = linked.unknown[0]
        raise UnknownValue(value, close_values(value, vocabulary))
    rest = _NOT_VALUES.sub(" ", reading.masked())
    leading = _LEADING.match(rest)  # the subject: "耐克上个月的销量"
    if leading and looks_like_name(leading.group(1)):
        raise UnknownValue(leading.group(1), close_values(leading.group(1), vocabulary))
    for match in _BEFORE_DE.finditer(rest):
        run = match.group(1)
        if not _NUMBERS_AND_TIME.fullmatch(run) and not common_word(run):
            raise UnknownValue(run, close_values(run, vocabulary))
    for found in _ENGLISH_NAME.finditer(reading.written):
        words = [w for w in found.group(1).split() if w.lower() not in _ENGLISH_NOT_VALUES]
        at = found.start(1)
        if words and all(reading.free[at:found.end(1)]):
            raise UnknownValue(" ".join(words), close_values(" ".join(words), vocabulary))


def _refuse_codes(reading: Reading) -> None:
    """An item id or product code (XYZ123, 2389012345): no question filters on one."""
    for found in _ASCII_TOKEN.finditer(reading.masked()):
        if _looks_like_code(found.group()):
            raise UnknownValue(reading.written[found.start():found.end()], [], code=True)


def suggestions(question: str, language: str) -> list[str]:
    """Questions it can answer, in ``language``, the ones closest to what was asked first."""
    examples = entries("insights.example_questions", language)
    words = set(question.lower())
    return sorted(examples, key=lambda e: -len(words & set(e.lower())))[:5]
