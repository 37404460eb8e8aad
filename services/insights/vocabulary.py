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
    word_row(
        "aov",
        (
            "客单价",
            "平均订单金额",
            "平均每单多少钱",
            "平均每单",
            "每单平均",
            "平均一单",
            "每单多少钱",
            "平均金额",
            "笔均",
            "客单",
            "笔单价",
            "单均价",
            "average order value",
            "aov",
            "basket size",
            "average order",
            "average basket",
            "average spend per order",
        ),
        priority=EXPLICIT,
    ),
    word_row(
        "repeat_rate",
        (
            "复购率",
            "回购率",
            "重复购买率",
            "二次购买率",
            "回头率",
            "复购",
            "买了两次及以上的顾客占比",
            "买了两次以上的顾客占比",
            "repeat rate",
            "repeat purchase rate",
            "repeat purchase",
            "repurchase rate",
        ),
        priority=EXPLICIT,
    ),
    word_row(
        "refund_rate",
        ("退款率", "退货率", "退款比例", "退款占比", "退单率", "refund rate", "return rate"),
        priority=EXPLICIT,
    ),
    word_row("conversion", ("转化率", "conversion rate", "conversion"), priority=EXPLICIT),
    word_row(
        "positive_review_rate", ("好评率", "positive review rate", "positive rate", "review rating"), priority=EXPLICIT
    ),
    word_row(
        "carts",
        ("加购数", "加购", "加入购物车", "add to cart", "adds to cart", "cart adds", "carts"),
        priority=EXPLICIT,
    ),
    word_row("favs", ("收藏数", "收藏", "favorites", "favourites", "favs"), priority=EXPLICIT),
    word_row(
        "new_buyers",
        (
            "新客数",
            "新增客户",
            "新增买家",
            "新增用户",
            "新增顾客",
            "新增了多少客户",
            "新增了多少买家",
            "新增多少客户",
            "新客户数",
            "拉新人数",
            "拉新",
            "拉了多少新",
            "拉了几个新",
            "新买家数",
            "新顾客数",
            "新客",
            "新客户",
            "新买家",
            "新顾客",
            "新用户",
            "首次下单的买家",
            "首次下单的顾客",
            "首次购买的",
            "首次下单",
            "首购",
            "首单",
            "首单客户",
            "new customers",
            "new buyers",
            "first-time buyers",
            "first-time customers",
            "new customer",
        ),
        priority=EXPLICIT,
    ),
    word_row(
        "returning_buyers",
        (
            "回头客人数",
            "回头客数",
            "老客数",
            "回头客",
            "老客户",
            "老顾客",
            "老买家",
            "老客",
            "老用户",
            "复购客户",
            "回购客户",
            "repeat buyers",
            "returning customers",
            "returning buyers",
            "repeat customers",
            "returning customer",
        ),
        priority=EXPLICIT,
    ),
    # "How much did 女装 sell", "how many did we sell": money and pieces asked around the subject
    Row(
        "revenue (how much … sell)",
        re.compile(r"\b(?:how much|what) (?:did|do|does|have|has) .{0,40}?\b(?:sell|sold|make|earn)\b"),
        "revenue",
        EXPLICIT,
        ("how much did 女装 sell", "how much does 花间集 make"),
    ),
    Row(
        "units (how many … sell)",
        re.compile(r"\bhow many (?:did|do|does|have|has) .{0,40}?\b(?:sell|sold)\b"),
        "units",
        EXPLICIT,
        ("how many did we sell",),
    ),
    Row(
        "revenue (… 多少钱)",
        re.compile(r"(?:成交|赚|收|进账|入账|挣)了?(?:多少|几个|几)(?:钱|块钱|元)"),
        "revenue",
        EXPLICIT,
        ("成交多少钱", "赚了多少钱"),
    ),
    # "有多少人": how many people — of the new buyers when 新客 is named, else buyers
    word_row("buyers (how many)", ("多少人", "几个人", "多少个人", "多少位", "顾客"), "buyers", priority=EXPLICIT),
    Row(
        "new_buyers (first time)",
        re.compile(r"(?:第一次|首次|头一回)[\u4e00-\u9fff]{0,6}?(?:买|下单|购买)"),
        "new_buyers",
        IMPLIED,
        ("第一次在咱家买", "首次购买"),
    ),
    word_row(
        "buyers",
        (
            "买家数",
            "顾客数",
            "客户数",
            "购买人数",
            "下单人数",
            "买家人数",
            "下单用户",
            "购买用户",
            "成交人数",
            "支付人数",
            "几个人买",
            "多少人买",
            "人买过",
            "下单的人",
            "买的人",
            "购买的人",
            "多少人下单",
            "几个人下单",
            "人下单",
            "买家",
            "buyers",
            "customers",
            "shoppers",
            "people bought",
            "people ordered",
            "多少客户",
            "几个客户",
            "多少用户",
        ),
        priority=EXPLICIT,
    ),
    word_row(
        "orders",
        (
            "订单数",
            "订单量",
            "单量",
            "多少单",
            "how many orders",
            "几单",
            "多少笔",
            "单子",
            "笔订单",
            "笔数",
            "下单量",
            "成交单数",
            "订单笔数",
            "单数",
            "订单",
            "orders",
            "ordered",
            "orders placed",
            "下单数",
            "order count",
            "number of orders",
        ),
        priority=EXPLICIT,
    ),
    word_row(
        "revenue",
        (
            "销售额",
            "营业额",
            "成交额",
            "成交金额",
            "gmv",
            "收入",
            "营收",
            "销售金额",
            "卖了多少钱",
            "买了多少钱",
            "花了多少钱",
            "消费了多少",
            "消费金额",
            "消费额",
            "卖的钱",
            "的钱",
            "进账",
            "流水",
            "订单金额",
            "金额",
            "revenue",
            "how much money",
            "money",
            "sales amount",
            "turnover",
            "sales",
            "income",
        ),
        priority=EXPLICIT,
    ),
    word_row(
        "units",
        (
            "销量",
            "卖了多少件",
            "卖出去多少件",
            "卖出多少件",
            "卖了几件",
            "多少件",
            "几件",
            "件数",
            "销售数量",
            "units sold",
            "unit sales",
            "sales volume",
            "units",
            "quantity",
            "items sold",
            "how many items",
            "how many units",
            "how many pieces",
            "best-selling",
            "best selling",
            "top selling",
            "top-selling",
        ),
        priority=EXPLICIT,
    ),
    # with no metric named, doing well is money (卖得最好 = 销售额) and being bought is pieces
    word_row(
        "revenue (implied)",
        (
            "卖得好",
            "卖得更好",
            "卖得比较好",
            "卖得更差",
            "卖得最好",
            "卖的最好",
            "卖得最差",
            "卖得差",
            "卖得怎么样",
            "业绩",
            "表现最好",
            "表现最差",
            "sold best",
            "sell best",
            "performed best",
            "best",
        ),
        "revenue",
        priority=IMPLIED,
    ),
    word_row(
        "orders (implied)",
        ("下单", "成交"),
        "orders",
        priority=IMPLIED,
    ),
    word_row(
        "units (implied)",
        (
            "热销",
            "畅销",
            "滞销",
            "卖得",
            "卖出",
            "卖了",
            "没人买",
            "卖不动",
            "没怎么卖",
            "买得最多",
            "买得多",
            "selling",
            "sold",
        ),
        "units",
        priority=IMPLIED,
    ),
)
# Other names of Tmall's top-level categories, linked only when the shop has the category itself.
CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "女装": ("womenswear", "women's clothing", "womens clothing", "women's wear", "ladies' clothing", "女士服装",
           "女式服装", "女生衣服"),
    "男装": ("menswear", "men's clothing", "mens clothing", "men's wear", "男士服装", "男式服装", "男生衣服"),
    "美妆": ("beauty", "cosmetics", "makeup", "make-up", "skincare", "化妆品", "彩妆", "护肤品", "美妆护肤"),
    "母婴": ("mother & baby", "mother and baby", "mom & baby", "mum & baby", "maternity & baby", "baby products",
           "母婴用品", "婴儿用品", "宝宝用品", "孕婴"),
    "家居": ("home & living", "home and living", "home goods", "homeware", "homewares", "household", "home",
           "家居用品", "家居日用"),
    "数码配件": ("digital accessories", "electronics accessories", "phone accessories", "gadgets", "手机配件",
             "电子配件", "数码周边"),
    "运动户外": ("sports & outdoors", "sports and outdoors", "outdoor", "outdoors", "sportswear", "sports",
             "运动用品", "户外用品"),
    "食品": ("food", "snacks", "groceries", "food & snacks", "零食", "吃的", "食物"),
}
RATES = {"aov", "repeat_rate", "refund_rate", "conversion", "positive_review_rate"}
# the buyers in a range who bought for the first time / had bought before it
CUSTOMER_METRICS = {"new_buyers": "new", "returning_buyers": "returning"}

PLAIN, TIME = 1, 0
DIMENSIONS: tuple[Row, ...] = (
    word_row("item", ("商品", "宝贝", "产品", "单品", "sku", "items", "item", "products", "product"), priority=PLAIN),
    word_row("category", ("品类", "类目", "分类", "categories", "category"), priority=PLAIN),
    word_row("brand", ("品牌", "牌子", "brands", "brand"), priority=PLAIN),
    word_row("province", ("省份", "各省", "省", "provinces", "province", "regions", "region"), priority=PLAIN),
    word_row("city", ("城市", "各市", "cities", "city"), priority=PLAIN),
    word_row(
        "channel",
        ("渠道", "终端", "手机和电脑", "各端", "各个端", "哪个端", "哪端", "两端", "channels", "channel",
         "mobile vs pc", "device"),
        priority=PLAIN,
    ),
    word_row("segment", ("客户分群", "分群", "客群", "rfm", "segments", "segment"), priority=PLAIN),
    word_row("status", ("订单状态", "各状态", "哪种状态", "什么状态", "状态", "statuses", "status"), priority=PLAIN),
    # a time dimension only when no other is named: "每天各品类的销售额" ranks categories
    word_row(
        "day",
        ("每天", "每日", "每一天", "按天", "日趋势", "逐日", "daily", "per day", "by day", "each day"),
        priority=TIME,
    ),
    word_row(
        "week",
        ("每周", "每一周", "每个星期", "按周", "周趋势", "weekly", "per week", "by week", "each week"),
        priority=TIME,
    ),
    word_row(
        "month",
        (
            "每月",
            "每个月",
            "每一个月",
            "按月",
            "月度",
            "月趋势",
            "逐月",
            "monthly",
            "per month",
            "by month",
            "each month",
        ),
        priority=TIME,
    ),
)
TIME_DIMENSIONS = ("day", "week", "month", "weekday")

# "哪天/哪个月 … 最多": the best (or worst) bucket of time; value: the time dimension
BEST_TIME: tuple[Row, ...] = (
    word_row(
        "weekday",
        (
            "一周里哪天",
            "一周中哪天",
            "一周哪天",
            "一周里哪一天",
            "一周中哪一天",
            "周几",
            "星期几",
            "礼拜几",
            "day of the week",
            "which weekday",
        ),
        "weekday",
        priority=1,
        whole_words=False,
    ),
    word_row(
        "day",
        (
            "哪天",
            "几号",
            "哪一天",
            "哪日",
            "哪个日子",
            "的一天",
            "which day",
            "best day",
            "worst day",
            "busiest day",
            "slowest day",
        ),
        "day",
        priority=1,
        whole_words=False,
    ),
    word_row(
        "week",
        (
            "哪周",
            "哪一周",
            "哪个星期",
            "哪个礼拜",
            "的一周",
            "第几周",
            "which week",
            "best week",
            "worst week",
            "busiest week",
        ),
        "week",
        priority=1,
        whole_words=False,
    ),
    word_row(
        "month",
        (
            "哪个月",
            "几月份",
            "几月",
            "哪一个月",
            "哪月",
            "的月份",
            "哪个月份",
            "which month",
            "best month",
            "worst month",
            "busiest month",
            "slowest month",
        ),
        "month",
        priority=1,
        whole_words=False,
    ),
)
# one of a dimension, not a list: "哪个品牌卖得最好", "卖得最好的品类" (vs 有哪些/前5/排名)
STATUSES: tuple[Row, ...] = (
    word_row(
        "closed",
        (
            "被取消",
            "取消的",
            "已取消",
            "取消订单",
            "取消了",
            "交易关闭",
            "关闭的",
            "已关闭",
            "关闭订单",
            "关闭了",
            "作废",
            "cancelled",
            "canceled",
            "closed",
        ),
        priority=1,
        whole_words=False,
    ),
    word_row(
        "refunded",
        ("退款的", "退款成功", "已退款", "退款订单", "退款单", "退货的", "退款了", "退款中", "refunded"),
        priority=1,
        whole_words=False,
    ),
    word_row(
        "paid",
        (
            "还没发货",
            "未发货",
            "待发货",
            "已付款待发货",
            "没发货",
            "等待发货",
            "已付款未发货",
            "还没发出去",
            "没发出去",
            "未发出",
            "还没发出",
            "已付款",
            "unshipped",
            "awaiting shipment",
            "not yet shipped",
            "not shipped",
            "to be shipped",
        ),
        priority=1,
        whole_words=False,
    ),
    word_row(
        "pending",
        (
            "待付款",
            "未付款",
            "没付款",
            "等待付款",
            "待支付",
            "未支付",
            "没付钱",
            "没给钱",
            "没有付款",
            "没有支付",
            "拍下未付",
            "unpaid",
            "pending payment",
            "awaiting payment",
            "waiting for payment",
            "waiting on payment",
            "not yet paid",
            "not paid",
            "pending",
        ),
        priority=1,
        whole_words=False,
    ),
    word_row(
        "completed",
        ("交易成功", "交易完成", "已完成", "已签收", "确认收货", "已收货", "completed"),
        priority=1,
        whole_words=False,
    ),
    word_row(
        "shipped",
        ("已发货", "发货了", "已发出", "待收货", "运输中", "在途", "配送中", "派送中", "shipped", "in transit",
         "in-transit", "on the way"),
        priority=1,
        whole_words=False,
    ),
    # 退款 alone ("有几单退款"), but not the metric's 退款率/退款比例/退款占比
    Row("refunded (bare)", re.compile(r"退款(?![率比占])|退货(?![率])"), "refunded", 0, ("退款", "退货")),
)
DAY_TYPES: tuple[Row, ...] = (
    word_row(
        "weekend",
        ("周末", "双休日", "休息日", "周六日", "周六周日", "周六和周日", "星期六日", "礼拜六日", "礼拜六礼拜天",
         "礼拜六和礼拜天", "礼拜六礼拜日", "星期六星期天", "星期六和星期天", "星期六星期日", "周六周天", "weekends",
         "weekend", "saturdays and sundays"),
        priority=1,
    ),
    word_row(
        "workday",
        (
            "工作日",
            "平日",
            "上班日",
            "周一到周五",
            "非周末",
            "不是周末",
            "除了周末",
            "星期一到星期五",
            "workdays",
            "workday",
            "weekdays",
            "weekday",
            "working days",
            "business days",
        ),
        priority=1,
    ),
)


def _route(topic: str, service: str, path: str, priority: int, words: tuple[str, ...]) -> Row:
    # route words are read inside other words too ("restocking", "预测一下")
    return word_row(topic, words, {"service": service, "path": path, "topic": topic}, priority, whole_words=False)


# Questions that belong to a model's route; if two are named, the higher priority wins.
ROUTES: tuple[Row, ...] = (
    _route(
        "replenishment",
        "forecasting",
        "/v1/replenishment",
        5,
        (
            "补货",
            "进货",
            "备货",
            "库存",
            "断货",
            "缺货",
            "restock",
            "reorder",
            "replenish",
            "stock out",
            "stockout",
            "run out",
        ),
    ),
    _route(
        "category_outlook",
        "forecasting",
        "/v1/forecasts/categories",
        4,
        ("潜力", "会增长", "增长最快", "哪个品类会", "前景", "grow", "potential", "outlook", "forecast", "预测"),
    ),
    _route(
        "review_alerts",
        "sentiment",
        "/v1/sentiment/alerts",
        3,
        ("差评", "投诉", "抱怨", "负面评价", "评价变差", "complaint", "negative review", "bad review"),
    ),
    _route(
        "price_advice",
        "pricing",
        "/v1/pricing/suggestions",
        2,
        (
            "定价",
            "调价",
            "价格建议",
            "定多少钱",
            "卖多少钱",
            "涨价",
            "降价",
            "what price",
            "pricing",
            "price advice",
            "reprice",
        ),
    ),
    _route(
        "recommendations",
        "recommendation",
        "/v1/recommendations/popular",
        1,
        ("推荐什么", "推荐给", "推荐哪些", "recommend"),
    ),
)


def _row(name: str, pattern: str, priority: int = 0, examples: tuple[str, ...] = (), value=None) -> Row:
    return Row(name, re.compile(pattern), name if value is None else value, priority, examples)


# --- qualifiers: one table per choice ------------------------------------------------------------

# a breakdown as a list ("有哪些", "排名", "前5"): a ranking, not the one best
RANKING = (
    _row(
        "ranking",
        r"排名|排行|排序|榜|top|前\s*" + NUMBER + r"|列前|倒数\s*" + NUMBER + r"?|哪些|哪几|"
        r"各(?:个)?|每个|分别|ranking|rank|\bby\b|\d+\s*(?:个|款|名|家|位|种)|[一二两三四五六七八九十]+(?:个|款|名|家|位|种)",
        examples=("排名", "排行榜", "前10", "哪些", "top", "rank", "各", "3个", "五个"),
    ),
)
# a superlative (最好, 最多, best, most …): with a dimension named and no list word, the one best
SUPERLATIVE = (
    _row(
        "superlative",
        r"最(?:好|高|多|大|差|低|少|小|火|旺|畅销|惨|冷清|淡|冷|弱|强)|卖得最|垫底|(?:排名?)?第一(?!季度|周|天|次)|冠军|没人买|卖不动|滞销|没怎么卖|哪(?:个|一个|家|种|款|位|一)|"
        r"\b(?:best|worst|most|least|highest|lowest|top|fewest)\b",
        examples=("最好", "最高", "卖得最", "没人买", "best", "most", "highest"),
    ),
)
TREND = (
    _row(
        "trend",
        r"趋势|走势|曲线|(?<!环比)(?<!同比)变化(?!了?多少)|每天|每日|每周|每月|按天|按日|按周|按月|逐日|逐月|"
        r"trend|over time|daily|weekly|monthly|day by day|month by month|week by week",
        examples=("趋势", "走势", "每天", "按月", "trend", "over time", "daily"),
    ),
)
# a ranking of nothing named ranks items ("杭州的女装销量排名")
RANKS_ITEMS = (
    _row(
        "ranks items",
        r"热销|畅销|卖得|滞销|没人买|卖不动|best.?selling|top.?selling|排名|排行|榜|前\s*\d|"
        r"前[一二两三四五六七八九十]+|\btop\s*\d",
        examples=("热销", "卖得", "排名", "前5", "前十", "top 10"),
    ),
)
COMPARISONS = (
    # holds a time word that is not a range of its own: "昨天vs上周同一天" is yesterday against 7 days before
    _row(
        "previous_week",
        r"上(?:个)?(?:周|星期|礼拜)的?(?:同一天|同天|同日|今天|这天|这一天)|\bsame day (?:of )?last week\b|"
        r"\bthe same day a week (?:earlier|before)\b|\ba week (?:earlier|before)\b",
        3,
        ("上周同一天", "上周的今天", "上个星期同一天", "same day last week", "a week earlier"),
    ),
    _row(
        "previous_year",
        r"同比|去年同期|year over year|year-over-year|yoy|same period last year",
        2,
        ("同比", "去年同期", "year over year", "yoy", "same period last year"),
    ),
    _row(
        "previous_period",
        r"环比|对比|相比|相较|比较|和上|与上|跟上|比上|比前|比昨|比去|较上|较前|较昨|较去|增速|vs\.?|versus|compared|compare|"
        r"month.over.month|\bmom\b|week.over.week|\bwow\b|涨了多少|增长了?多少|下降了?多少|降了多少|跌了多少|"
        r"多了还是少了|多了多少|少了多少|增长率|增幅|变化了?多少|\bchange\b|\bgrowth\b",
        1,
        (
            "环比",
            "对比",
            "相比",
            "比较",
            "和上",
            "vs",
            "versus",
            "compare",
            "month over month",
            "mom",
            "week over week",
            "wow",
            "涨了多少",
            "多了还是少了",
        ),
    ),
)
# 构成/分布/breakdown make a breakdown a share; only the share words make a filter's value one of many
SHARES = (
    _row(
        "share",
        r"占比|比例|比重|份额|百分比|占多少|占几成|几成|share|proportion|percentage",
        2,
        ("占比", "比例", "份额", "share", "proportion"),
    ),
    _row("breakdown", r"构成|分布|breakdown|split", 1, ("构成", "分布", "breakdown", "split")),
)
# 卖得最 is the bottom (卖得最慢) unless it goes on as 卖得最好/最高/最多, the top
SORTS = (
    _row(
        "desc",
        r"最好|最高|最多|最大|最畅销|最火|从高到低|从多到少|降序|best|most|highest|top",
        2,
        ("最好", "最高", "最多", "卖得最好", "best", "most", "highest"),
        "desc",
    ),
    _row(
        "asc",
        r"最差|最低|最少|最小|最惨|最冷清|最淡|最冷|最弱|后\s*" + NUMBER + r"\s*名|"
        r"卖得最(?!好|高|多)|倒数|末尾|垫底|从低到高|从少到多|升序|没人买|卖不动|滞销|没怎么卖|"
        r"worst|lowest|least|bottom|"
        r"slowest|fewest",
        1,
        (
            "最差",
            "最低",
            "最少",
            "最小",
            "卖得最慢",
            "倒数",
            "末尾",
            "没人买",
            "worst",
            "lowest",
            "least",
            "bottom",
            "slowest",
        ),
        "asc",
    ),
)
TOP_N = (  # group 1 is the number
    _row(
        "前N",
        r"(?:前|列前|top|bottom|worst|best|lowest|highest|倒数|后(?=\s*[\d一二两三四五六七八九十百]+\s*[名个款位]))\s*"
        + NUMBER,
        3,
        ("前10", "前 5", "前十", "top 10", "worst 5", "best 3", "倒数五"),
    ),
    _row("N个", r"(?<![\d.])" + NUMBER + r"\s*(?:个|名|款|家|位|种)", 2, ("5个", "三款", "十名")),
    _row(
        "N best",
        r"(?<![\d.])(\d+)\s+(?:best|worst|top|most|least|highest|lowest|bottom|products|items|brands|"
        r"categories|cities|provinces)",
        1,
        ("5 best", "10 top"),
    ),
)
CHANNELS = (
    _row("mobile", r"手机端|移动端|无线端|手机上|用手机|无线(?!耳机|充)|\bmobile\b|\bapp\b", 2,
         ("手机端", "移动端", "无线端", "手机上", "mobile", "app")),
    _row("pc", r"电脑端|pc端|电脑上|用电脑|\bpc\b|\bdesktop\b", 1, ("电脑端", "pc端", "电脑上", "pc", "desktop")),
)

# SQL, markup and "ignore the instructions above" never reach a query: such a question is unreadable.
INJECTION = re.compile(
    r"(;|--|/\*|\*/|\b(drop|delete|insert|update|alter|truncate|select|union|exec)\b|<\s*script|忽略|无视|"
    r"以上指令|系统提示|ignore (all |the )?(previous|above)|system prompt|you are now)",
    re.IGNORECASE,
)


def all_words(table: tuple[Row, ...]) -> list[str]:
    """Every word of a table of word rows."""
    return [word for row in table for word in row.examples]
