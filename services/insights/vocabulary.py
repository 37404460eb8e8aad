"""What a question's words mean: metrics, dimensions, model routes and qualifiers, as tables of
:class:`~services.insights.phrases.Row` read by :func:`~services.insights.phrases.scan` and
:func:`~services.insights.phrases.pick` (longest match, then priority, then the earliest).
Pure: no Flask, no SQL. Times are in :mod:`services.insights.time_phrases`.

Each qualifier is its own small table (one choice per question: the sort, the comparison, how
many ...), so words of different choices never hide each other ("最好" is both a ranking word and
the descending sort).
"""

from __future__ import annotations

import re

from services.insights.phrases import NUMBER, Row, word_row

EXPLICIT, IMPLIED = 1, 0

METRICS: tuple[Row, ...] = (
    word_row("aov", ("客单价", "平均订单金额", "average order value", "aov", "basket size"), priority=EXPLICIT),
    word_row("repeat_rate", ("复购率", "回购率", "repeat rate", "repeat purchase", "repurchase rate"),
             priority=EXPLICIT),
    word_row("refund_rate", ("退款率", "退货率", "refund rate", "return rate"), priority=EXPLICIT),
    word_row("conversion", ("转化率", "conversion rate", "conversion"), priority=EXPLICIT),
    word_row("positive_review_rate", ("好评率", "positive review rate", "positive rate", "review rating"),
             priority=EXPLICIT),
    word_row("carts", ("加购数", "加购", "加入购物车", "add to cart", "adds to cart", "cart adds", "carts"),
             priority=EXPLICIT),
    word_row("favs", ("收藏数", "收藏", "favorites", "favourites", "favs"), priority=EXPLICIT),
    word_row("buyers", ("买家数", "顾客数", "客户数", "购买人数", "买家", "buyers", "customers", "shoppers"),
             priority=EXPLICIT),
    word_row("orders", ("订单数", "订单量", "单量", "多少单", "订单", "orders", "order count", "number of orders"),
             priority=EXPLICIT),
    word_row("revenue", ("销售额", "营业额", "成交额", "成交金额", "gmv", "收入", "营收", "销售金额", "卖了多少钱",
                         "收了多少钱", "revenue", "sales amount", "turnover", "sales", "income"), priority=EXPLICIT),
    word_row("units", ("销量", "卖了多少件", "件数", "销售数量", "units sold", "units", "quantity", "items sold",
                       "best-selling", "best selling", "top selling", "top-selling"), priority=EXPLICIT),
    # "热销商品的销售额" asks for revenue: selling words say units only when no metric is named
    word_row("units (implied)", ("热销", "畅销", "卖得", "卖出", "selling"), "units", priority=IMPLIED),
)
RATES = {"aov", "repeat_rate", "refund_rate", "conversion", "positive_review_rate"}

PLAIN, TIME = 1, 0
DIMENSIONS: tuple[Row, ...] = (
    word_row("item", ("商品", "宝贝", "产品", "单品", "sku", "items", "item", "products", "product"), priority=PLAIN),
    word_row("category", ("品类", "类目", "分类", "categories", "category"), priority=PLAIN),
    word_row("brand", ("品牌", "brands", "brand"), priority=PLAIN),
    word_row("province", ("省份", "各省", "省", "provinces", "province", "regions", "region"), priority=PLAIN),
    word_row("city", ("城市", "各市", "cities", "city"), priority=PLAIN),
    word_row("channel", ("渠道", "终端", "手机和电脑", "channels", "channel", "mobile vs pc", "device"),
             priority=PLAIN),
    word_row("segment", ("客户分群", "分群", "客群", "rfm", "segments", "segment"), priority=PLAIN),
    # a time dimension only when no other is named: "每天各品类的销售额" ranks categories
    word_row("day", ("每天", "每日", "按天", "日趋势", "逐日", "daily", "per day", "by day", "each day"),
             priority=TIME),
    word_row("week", ("每周", "按周", "周趋势", "weekly", "per week", "by week", "each week"), priority=TIME),
    word_row("month", ("每月", "按月", "月度", "月趋势", "monthly", "per month", "by month", "each month"),
             priority=TIME),
)
TIME_DIMENSIONS = ("day", "week", "month")


def _route(topic: str, service: str, path: str, priority: int, words: tuple[str, ...]) -> Row:
    # route words are read inside other words too ("restocking", "预测一下")
    return word_row(topic, words, {"service": service, "path": path, "topic": topic}, priority, whole_words=False)


# Questions that belong to a model's route; if two are named, the higher priority wins.
ROUTES: tuple[Row, ...] = (
    _route("replenishment", "forecasting", "/v1/replenishment", 5,
           ("补货", "进货", "备货", "库存", "断货", "缺货", "restock", "reorder", "replenish", "stock out", "stockout",
            "run out")),
    _route("category_outlook", "forecasting", "/v1/forecasts/categories", 4,
           ("潜力", "会增长", "增长最快", "哪个品类会", "前景", "grow", "potential", "outlook", "forecast", "预测")),
    _route("review_alerts", "sentiment", "/v1/sentiment/alerts", 3,
           ("差评", "投诉", "抱怨", "负面评价", "评价变差", "complaint", "negative review", "bad review")),
    _route("price_advice", "pricing", "/v1/pricing/suggestions", 2,
           ("定价", "调价", "价格建议", "定多少钱", "卖多少钱", "涨价", "降价", "what price", "pricing", "price advice",
            "reprice")),
    _route("recommendations", "recommendation", "/v1/recommendations/popular", 1,
           ("推荐什么", "推荐给", "推荐哪些", "recommend")),
)


def _row(name: str, pattern: str, priority: int = 0, examples: tuple[str, ...] = (), value=None) -> Row:
    return Row(name, re.compile(pattern), name if value is None else value, priority, examples)


# --- qualifiers: one table per choice ------------------------------------------------------------

RANKING = (_row("ranking", r"排名|排行|排序|榜|top|前\s*" + NUMBER + r"|最(好|高|多|大|差|低|少|小)|哪(些|个|几)|"
                r"best|worst|most|least|highest|lowest|bottom|rank",
                examples=("排名", "排行榜", "前10", "最高", "哪些", "top", "worst", "highest", "rank")),)
TREND = (_row("trend", r"趋势|走势|变化|每天|每日|每周|每月|按天|按周|按月|trend|over time|daily|weekly|monthly",
              examples=("趋势", "走势", "每天", "按月", "trend", "over time", "daily")),)
# a ranking of nothing named ranks items ("杭州的女装销量排名")
RANKS_ITEMS = (_row("ranks items", r"热销|畅销|卖得|best.?selling|top.?selling|排名|排行|榜|前\s*\d|"
                    r"前[一二两三四五六七八九十]+|\btop\s*\d",
                    examples=("热销", "卖得", "排名", "前5", "前十", "top 10")),)
COMPARISONS = (
    _row("previous_year", r"同比|去年同期|year over year|yoy|same period last year", 2,
         ("同比", "去年同期", "year over year", "yoy", "same period last year")),
    _row("previous_period", r"环比|对比|相比|比较|和上|与上|vs\.?|versus|compared|compare|month over month|mom|"
         r"week over week|wow", 1, ("环比", "对比", "相比", "比较", "和上", "vs", "versus", "compare",
                                    "month over month", "mom", "week over week", "wow")),
)
# 构成/分布/breakdown make a breakdown a share; only the share words make a filter's value one of many
SHARES = (
    _row("share", r"占比|比例|份额|share|proportion", 2, ("占比", "比例", "份额", "share", "proportion")),
    _row("breakdown", r"构成|分布|breakdown|split", 1, ("构成", "分布", "breakdown", "split")),
)
# 卖得最 is the bottom (卖得最慢) unless it goes on as 卖得最好/最高/最多, the top
SORTS = (
    _row("desc", r"最好|最高|最多", 2, ("最好", "最高", "最多", "卖得最好"), "desc"),
    _row("asc", r"最差|最低|最少|最小|卖得最(?!好|高|多)|倒数|末尾|worst|lowest|least|bottom|slowest", 1,
         ("最差", "最低", "最少", "最小", "卖得最慢", "倒数", "末尾", "worst", "lowest", "least", "bottom", "slowest"),
         "asc"),
)
TOP_N = (  # group 1 is the number
    _row("前N", r"(?:前|top|bottom|worst|best|lowest|highest)\s*" + NUMBER, 3, ("前10", "前 5", "前十", "top 10",
                                                                                 "worst 5", "best 3")),
    _row("最…的N个", r"最\S{0,3}?的\s*" + NUMBER + r"\s*(?:个|名|款|家|位|种)", 2,
         ("最高的5个", "最差的3款", "最多的十名")),
    _row("N best", r"(?<![\d.])(\d+)\s+(?:best|worst|top|most|least|highest|lowest|bottom)", 1, ("5 best", "10 top")),
)
CHANNELS = (
    _row("mobile", r"手机端|移动端|无线端|\bmobile\b|\bapp\b", 2, ("手机端", "移动端", "无线端", "mobile", "app")),
    _row("pc", r"电脑端|pc端|\bpc\b|\bdesktop\b", 1, ("电脑端", "pc端", "pc", "desktop")),
)

# SQL, markup and "ignore the instructions above" never reach a query: such a question is unreadable.
INJECTION = re.compile(
    r"(;|--|/\*|\*/|\b(drop|delete|insert|update|alter|truncate|select|union|exec)\b|<\s*script|忽略|无视|"
    r"以上指令|系统提示|ignore (all |the )?(previous|above)|system prompt|you are now)", re.IGNORECASE)


def all_words(table: tuple[Row, ...]) -> list[str]:
    """Every word of a table of word rows."""
    return [word for row in table for word in row.examples]
