"""Plain Chinese or English shop questions → an explicit interpretation. Pure, deterministic.

A question is read by vocabulary, not by a language model: which metric (销售额, 销量, 订单数 ...),
which dimension to break it down by (商品, 品类, 省份, 每天 ...), which time range (本月, 最近7天,
2026年双11, Q3 ...), how many and which end (前10, 最差的5个), which filters (杭州, 女装, 手机端),
and which shape (ranking, trend, share, comparison with 上月/去年同期, or a total). The result is
always returned with the answer, so a wrong reading is visible. Anything that looks like SQL or an
instruction to the system, or that names no metric or topic it knows, is unreadable: the caller
answers 422 with questions it can answer. Questions that belong to a model (补货, 潜力品类, 差评,
定价, 推荐) are routed to that model's route instead.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from shared.calendar import festival_days
from shared.i18n import entries, t

MAX_CHARS = 500
# "最近N天" reaches back at most this far (ten years of days, weeks or months).
MAX_RECENT = {"day": 3660, "week": 523, "month": 120}


class Unreadable(ValueError):
    """The question could not be read; ``reason`` says why."""


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


METRICS: dict[str, tuple[str, ...]] = {
    "aov": ("客单价", "平均订单金额", "average order value", "aov", "basket size"),
    "repeat_rate": ("复购率", "回购率", "repeat rate", "repeat purchase", "repurchase rate"),
    "refund_rate": ("退款率", "退货率", "refund rate", "return rate"),
    "conversion": ("转化率", "conversion rate", "conversion"),
    "positive_review_rate": ("好评率", "positive review rate", "positive rate", "review rating"),
    "carts": ("加购数", "加购", "加入购物车", "add to cart", "adds to cart", "cart adds", "carts"),
    "favs": ("收藏数", "收藏", "favorites", "favourites", "favs"),
    "buyers": ("买家数", "顾客数", "客户数", "购买人数", "买家", "buyers", "customers", "shoppers"),
    "orders": ("订单数", "订单量", "单量", "多少单", "订单", "orders", "order count", "number of orders"),
    "revenue": ("销售额", "营业额", "成交额", "成交金额", "gmv", "收入", "营收", "销售金额", "卖了多少钱", "收了多少钱",
                "revenue", "sales amount", "turnover", "sales", "income"),
    "units": ("销量", "卖了多少件", "件数", "销售数量", "卖出", "units sold", "units", "quantity", "items sold",
              "热销", "畅销", "卖得", "best-selling", "best selling", "top selling", "top-selling", "selling"),
}
RATES = {"aov", "repeat_rate", "refund_rate", "conversion", "positive_review_rate"}

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "item": ("商品", "宝贝", "产品", "单品", "sku", "items", "item", "products", "product"),
    "category": ("品类", "类目", "分类", "categories", "category"),
    "brand": ("品牌", "brands", "brand"),
    "province": ("省份", "各省", "省", "provinces", "province", "regions", "region"),
    "city": ("城市", "各市", "cities", "city"),
    "channel": ("渠道", "终端", "手机和电脑", "channels", "channel", "mobile vs pc", "device"),
    "day": ("每天", "每日", "按天", "日趋势", "逐日", "daily", "per day", "by day", "each day"),
    "week": ("每周", "按周", "周趋势", "weekly", "per week", "by week", "each week"),
    "month": ("每月", "按月", "月度", "月趋势", "monthly", "per month", "by month", "each month"),
    "segment": ("客户分群", "分群", "客群", "rfm", "segments", "segment"),
}
TIME_DIMENSIONS = ("day", "week", "month")

ROUTES: tuple[tuple[tuple[str, ...], dict], ...] = (
    (("补货", "进货", "备货", "库存", "断货", "缺货", "restock", "reorder", "replenish", "stock out", "stockout",
      "run out"),
     {"service": "forecasting", "path": "/v1/replenishment", "topic": "replenishment"}),
    (("潜力", "会增长", "增长最快", "哪个品类会", "前景", "grow", "potential", "outlook", "forecast", "预测"),
     {"service": "forecasting", "path": "/v1/forecasts/categories", "topic": "category_outlook"}),
    (("差评", "投诉", "抱怨", "负面评价", "评价变差", "complaint", "negative review", "bad review"),
     {"service": "sentiment", "path": "/v1/sentiment/alerts", "topic": "review_alerts"}),
    (("定价", "调价", "价格建议", "定多少钱", "卖多少钱", "涨价", "降价", "what price", "pricing", "price advice",
      "reprice"),
     {"service": "pricing", "path": "/v1/pricing/suggestions", "topic": "price_advice"}),
    (("推荐什么", "推荐给", "推荐哪些", "recommend",),
     {"service": "recommendation", "path": "/v1/recommendations/popular", "topic": "recommendations"}),
)

# SQL, markup and "ignore the instructions above" never reach a query: such a question is unreadable.
_INJECTION = re.compile(
    r"(;|--|/\*|\*/|\b(drop|delete|insert|update|alter|truncate|select|union|exec)\b|<\s*script|忽略|无视|"
    r"以上指令|系统提示|ignore (all |the )?(previous|above)|system prompt|you are now)", re.IGNORECASE)

CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"(\d+|[一二两三四五六七八九十百]+)"


def chinese_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "百" in text:
        head, _, tail = text.partition("百")
        return (CN_DIGITS.get(head, 1) if head else 1) * 100 + (chinese_number(tail) if tail else 0)
    if "十" in text:
        head, _, tail = text.partition("十")
        return (CN_DIGITS.get(head, 1) if head else 1) * 10 + (CN_DIGITS.get(tail, 0) if tail else 0)
    return CN_DIGITS.get(text, 0)


def _find(question: str, vocabulary: dict[str, tuple[str, ...]]) -> list[tuple[int, str, str]]:
    """(position, key, word) of every vocabulary word in the question, longest word first at a position."""
    hits = []
    for key, words in vocabulary.items():
        for word in words:
            # ASCII words must stand alone; \b would not separate "gmv" from a Chinese character before it
            pattern = re.escape(word) if not word.isascii() else r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])"
            hits += [(m.start(), key, word) for m in re.finditer(pattern, question)]
    return sorted(hits, key=lambda h: (h[0], -len(h[2])))


def _month_range(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return start, end


def _shift_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = _month_range(year, month + 1)[1].day
    return date(year, month + 1, min(day.day, last))


def time_range(question: str, as_of: date) -> tuple[tuple[date, date], str] | None:
    """The time range a question names (dates inclusive) and the words that named it; None if none."""
    q = question
    year_match = re.search(r"(20\d\d)\s*年?", q)
    year = int(year_match.group(1)) if year_match else None
    if re.search(r"去年", q) or re.search(r"\blast year\b", q):
        year_word = as_of.year - 1
    elif re.search(r"今年|本年", q) or re.search(r"\bthis year\b", q):
        year_word = as_of.year
    else:
        year_word = None

    # explicit ranges: 2026-11-01 到 2026-11-15 / 11月1日至11月15日 / from 2026-11-01 to 2026-11-15
    dates = [(m.start(), m.group()) for m in re.finditer(r"(20\d\d)[-/.年](\d{1,2})[-/.月](\d{1,2})日?", q)]
    month_days = [(m.start(), m.group()) for m in re.finditer(r"(?<![\d年-])(\d{1,2})月(\d{1,2})[日号]", q)]
    points = sorted([(pos, _parse_date(text, year or year_word or as_of.year)) for pos, text in dates + month_days])
    if len(points) >= 2:
        return (min(points[0][1], points[1][1]), max(points[0][1], points[1][1])), "区间"
    if len(points) == 1:
        return (points[0][1], points[0][1]), "指定日期"

    for name, words in (("double11", ("双11", "双十一", "double 11", "11.11", "singles day")),
                        ("mid618", ("618", "六一八")), ("double12", ("双12", "双十二", "double 12", "12.12"))):
        if any(w in q.lower() for w in words):
            campaign_year = year or year_word
            if campaign_year is None:  # the latest one that has started by as_of
                campaign_year = as_of.year if festival_days(as_of.year)[name][0] <= as_of else as_of.year - 1
            start, _peak, end = festival_days(campaign_year)[name]
            return (start, min(end, as_of) if campaign_year == as_of.year else end), f"{campaign_year} {name}"

    current_quarter = (as_of.month - 1) // 3 + 1
    relative = re.search(r"(本|这个|这一|上|上个|上一)季度|\b(this|last) quarter\b", q)
    quarter = re.search(r"(?:第?([一二三四1-4])季度|(?<![a-z0-9])q([1-4])(?![0-9]))", q, re.IGNORECASE)
    if relative or quarter:
        if relative:
            back = 1 if (relative.group(1) or "").startswith("上") or relative.group(2) == "last" else 0
            index = as_of.year * 4 + current_quarter - 1 - back
            quarter_year, number = index // 4, index % 4 + 1
        else:
            number = chinese_number(quarter.group(1)) if quarter.group(1) else int(quarter.group(2))
            quarter_year = year or year_word or as_of.year
        start = date(quarter_year, 3 * number - 2, 1)
        end = min(_month_range(quarter_year, 3 * number)[1], as_of) if start <= as_of else \
            _month_range(quarter_year, 3 * number)[1]
        return (start, end), f"{quarter_year} Q{number}"

    recent = re.search(r"(?:最近|近|过去|last|past)\s*" + _NUMBER + r"\s*(天|日|周|星期|个月|月|days?|weeks?|months?)",
                       q, re.IGNORECASE)
    if recent:
        n, unit = chinese_number(recent.group(1)), recent.group(2).lower()
        kind = "day" if unit in ("天", "日") or unit.startswith("day") else \
            "week" if unit in ("周", "星期") or unit.startswith("week") else "month"
        if not 1 <= n <= MAX_RECENT[kind]:
            raise Unreadable(t("insights.recent_out_of_range", text=recent.group().strip(), days=MAX_RECENT["day"],
                               weeks=MAX_RECENT["week"], months=MAX_RECENT["month"]))
        if kind == "day":
            return (as_of - timedelta(days=n - 1), as_of), f"最近{n}天"
        if kind == "week":
            return (as_of - timedelta(days=7 * n - 1), as_of), f"最近{n}周"
        return (_shift_months(as_of, -n) + timedelta(days=1), as_of), f"最近{n}个月"

    month = re.search(r"(?<!\d)(\d{1,2}|[一二三四五六七八九十]+)月(?!\d)", q)
    if month and "个月" not in q[max(0, month.start() - 1):month.end()]:
        number = chinese_number(month.group(1))
        if not 1 <= number <= 12:  # "2024年13月" must not quietly become all of 2024
            raise Unreadable(t("insights.not_a_month", text=month.group()))
        month_year = year or year_word or (as_of.year if number <= as_of.month else as_of.year - 1)
        return _month_range(month_year, number), f"{month_year}年{number}月"

    lowered = q.lower()
    monday = as_of - timedelta(days=as_of.weekday())
    previous_month = _shift_months(as_of.replace(day=1), -1)
    rules = (
        (("今天", "今日", "today"), (as_of, as_of), "今天"),
        (("昨天", "昨日", "yesterday"), (as_of - timedelta(days=1),) * 2, "昨天"),
        (("本周", "这周", "这一周", "this week"), (monday, as_of), "本周"),
        (("上周", "上一周", "上星期", "last week"), (monday - timedelta(days=7), monday - timedelta(days=1)), "上周"),
        (("本月", "这个月", "当月", "this month"), (as_of.replace(day=1), as_of), "本月"),
        (("上月", "上个月", "last month"), _month_range(previous_month.year, previous_month.month), "上月"),
    )
    for words, span, phrase in rules:
        if any(w in lowered for w in words):
            return span, phrase
    if year or year_word:
        chosen = year or year_word
        end = min(date(chosen, 12, 31), as_of)
        return (date(chosen, 1, 1), end), f"{chosen}年"
    return None


def _parse_date(text: str, default_year: int) -> date:
    numbers = [int(x) for x in re.findall(r"\d+", text)]
    if len(numbers) == 2:
        numbers.insert(0, default_year)
    try:
        return date(*numbers)
    except ValueError:  # 2024年2月30日, 13月1日
        raise Unreadable(t("insights.not_a_date", text=text)) from None


def _previous(span: tuple[date, date], how: str) -> tuple[date, date]:
    start, end = span
    if how == "previous_year":
        return _shift_months(start, -12), _shift_months(end, -12)
    if start.day == 1 and (end + timedelta(days=1)).day == 1:  # whole months: the months before
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        first = _shift_months(start, -months)
        return first, start - timedelta(days=1)
    if start.weekday() == 0 and (end - start).days < 6:  # week to date: the same weekdays a week before
        return start - timedelta(days=7), end - timedelta(days=7)
    if start.day == 1 and end.month == start.month and end.year == start.year:  # month to date
        first = _shift_months(start, -1)
        return first, min(_shift_months(end, -1), start - timedelta(days=1))
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
    if _INJECTION.search(text):
        raise Unreadable(t("insights.not_a_question"))
    lowered = text.lower()

    for words, route in ROUTES:
        if any(w in lowered for w in words):
            span = time_range(lowered, as_of)
            return Interpretation(metric="(model)", dimension=None, time_range=span[0] if span else (as_of, as_of),
                                  shape="route", route=route, time_phrase=span[1] if span else "")

    # Times first: a time phrase it cannot read ("2024年13月") is named as such, not as an unknown value.
    span_found = time_range(lowered, as_of)
    metric_hits = _find(lowered, METRICS)
    dimension_hits = _find(lowered, DIMENSIONS)
    filters = _filters(text, known_values or {})
    unknown = unknown_value(text, filters, known_values or {})
    if unknown:
        raise unknown
    ranking_words = re.search(r"排名|排行|排序|榜|top|前\s*" + _NUMBER + r"|最(好|高|多|大|差|低|少|小)|哪(些|个|几)|"
                              r"best|worst|most|least|highest|lowest|bottom|rank", lowered)
    if not metric_hits and not (dimension_hits and ranking_words):
        raise Unreadable(t("insights.no_metric"))
    metric = _metric(metric_hits, lowered)

    span, phrase = span_found if span_found else ((as_of.replace(day=1), as_of), "本月 (默认)")

    dimension = None
    plain_dimensions = [d for _p, d, _w in dimension_hits if d not in TIME_DIMENSIONS]
    time_dimensions = [d for _p, d, _w in dimension_hits if d in TIME_DIMENSIONS]
    if plain_dimensions:
        dimension = plain_dimensions[0]
    elif time_dimensions:
        dimension = time_dimensions[0]
    trend = re.search(r"趋势|走势|变化|每天|每日|每周|每月|按天|按周|按月|trend|over time|daily|weekly|monthly",
                      lowered)
    if trend and dimension is None:
        dimension = "day" if (span[1] - span[0]).days <= 62 else ("week" if (span[1] - span[0]).days <= 200
                                                                    else "month")
    if dimension is None and ranking_words and re.search(r"热销|畅销|卖得|best.?selling|top.?selling|排名|排行|榜|"
                                                         r"前\s*\d|前[一二两三四五六七八九十]+|\btop\s*\d", lowered):
        dimension = "item"  # a ranking of nothing named ranks items ("杭州的女装销量排名")

    comparison = None
    if re.search(r"同比|去年同期|year over year|yoy|same period last year", lowered):
        comparison = "previous_year"
    elif re.search(r"环比|对比|相比|比较|和上|与上|vs\.?|versus|compared|compare|month over month|mom|"
                   r"week over week|wow", lowered):
        comparison = "previous_period"

    top = (re.search(r"(?:前|top|bottom|worst|best|lowest|highest)\s*" + _NUMBER, lowered)
           or re.search(r"最\S{0,3}?的\s*" + _NUMBER + r"\s*(?:个|名|款|家|位|种)", lowered)
           or re.search(r"(?<![\d.])(\d+)\s+(?:best|worst|top|most|least|highest|lowest|bottom)", lowered))
    top_n = chinese_number(top.group(1)) if top else None
    ascending = re.search(r"最差|最低|最少|最小|卖得最|倒数|末尾|worst|lowest|least|bottom|slowest", lowered) and not \
        re.search(r"卖得最好|最好|最高|最多", lowered)

    if dimension in TIME_DIMENSIONS:
        shape = "trend"
    elif dimension and re.search(r"占比|比例|份额|构成|分布|share|breakdown|proportion|split", lowered):
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
    if dimension is None and filters and re.search(r"占比|比例|份额|share|proportion", lowered):
        # "手机端的订单占比": the share of every channel, 手机端's among them
        dimension = next(iter(filters))
        filters = {k: v for k, v in filters.items() if k != dimension}
        shape = "share"
    if metric in RATES and shape == "share":
        shape = "ranking"
    compare_range = _previous(span, comparison) if comparison else None
    return Interpretation(metric=metric, dimension=dimension, time_range=span, shape=shape, top_n=top_n,
                          sort="asc" if ascending else "desc", filters=filters, comparison=comparison,
                          compare_range=compare_range, time_phrase=phrase)


def _metric(hits: list[tuple[int, str, str]], lowered: str) -> str:
    if not hits:
        return "units"  # "哪些商品卖得最好" names no metric: ranking items means units sold
    explicit = [key for _p, key, word in hits if word not in ("热销", "畅销", "卖得", "selling", "卖出")]
    return explicit[0] if explicit else "units"


def _filters(text: str, known: dict[str, list[str]]) -> dict[str, str]:
    """dimension → value for every known value named in the question (longest value first)."""
    found: dict[str, str] = {}
    lowered = text.lower()
    if re.search(r"手机端|移动端|无线端|\bmobile\b|\bapp\b", lowered):
        found["channel"] = "mobile"
    elif re.search(r"电脑端|pc端|\bpc\b|\bdesktop\b", lowered):
        found["channel"] = "pc"
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


# Words that may stand before 的 without naming a filter value: times, shapes, quantities, the shop.
_NOT_VALUES = (
    "本月", "上月", "上个月", "这个月", "当月", "本周", "上周", "这周", "这一周", "上一周", "上星期", "今天", "今日",
    "昨天", "昨日", "今年", "去年", "本年", "前年", "最近", "过去", "每天", "每日", "每周", "每月", "按天", "按周",
    "按月", "逐日", "期间", "双十一", "双十二", "去年同期", "同期", "季度", "个月", "星期", "各个", "每个", "所有",
    "全部", "整体", "卖得", "最好", "最差", "最高", "最低", "最多", "最少", "最大", "最小", "倒数", "哪些", "哪个",
    "哪几", "排名", "排行", "占比", "比例", "趋势", "走势", "变化", "对比", "环比", "同比", "相比", "比较", "一共",
    "总共", "合计", "多少", "店铺", "本店", "我们", "我的", "全店", "手机端", "移动端", "无线端", "电脑端", "pc端",
    "手机", "电脑", "客户", "顾客", "用户", "会员", "以来", "至今", "到现在", "期间", "前后", "左右", "之间",
    "实际", "支付", "付款", "已付款", "成交", "下单", "线上", "网店", "淘宝", "天猫", "店里", "店内", "整个", "总的",
    "总体", "目前", "现在", "当前", "截至", "为止", "累计")
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
    vocabulary = sorted({*_NOT_VALUES, *(w for words in (*METRICS.values(), *DIMENSIONS.values()) for w in words
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
