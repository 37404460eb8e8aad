"""The insights question set over the demo shop: questions, their expected reading, and their expected
numbers computed here with pandas straight from the export files — never through the parser or
the service's queries — so a wrong reading or a wrong query shows as a miss.

Used by tests/e2e/test_insights.py (asserts ≥ 95% exactly right) and tests/bench/test_insights.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from tests.support import DEMO_END

AS_OF = date.fromisoformat(DEMO_END)  # the demo shop's last day


@dataclass
class Case:
    question: str
    metric: str
    time_range: tuple[date, date]
    dimension: str | None = None
    shape: str = "total"
    top_n: int | None = None
    sort: str = "desc"
    filters: dict = field(default_factory=dict)
    comparison: str | None = None
    compare_range: tuple[date, date] | None = None
    kind: str = "total"
    language: str = "zh"
    values: list[str] | None = None  # compare_values: the values compared


# --- the shop, read straight from its export files -------------------------------------------

def load_shop(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(order lines with order fields, orders) from 订单报表.csv, 宝贝报表.csv and products.csv."""
    orders = pd.read_csv(directory / "订单报表.csv", encoding="gbk", dtype=str)
    lines = pd.read_csv(directory / "宝贝报表.csv", encoding="gbk", dtype=str)
    products = pd.read_csv(directory / "products.csv", dtype=str)
    orders["order_id"] = orders["订单编号"].str.replace(r'[="]', "", regex=True).str.strip()
    lines["order_id"] = lines["订单编号"].str.replace(r'[="]', "", regex=True).str.strip()
    status = orders["订单状态"].map({
        "交易成功": "completed", "卖家已发货，等待买家确认": "shipped", "买家已付款，等待卖家发货": "paid",
        "等待买家付款": "pending", "交易关闭": "closed"})
    refunded = (status == "closed") & orders["订单关闭原因"].fillna("").str.contains("退款")
    orders["status"] = status.where(~refunded, "refunded")
    orders["created"] = pd.to_datetime(orders["订单创建时间"])
    orders["day"] = orders["created"].dt.normalize()
    orders["user"] = orders["买家会员名"]
    address = orders["收货地址"].fillna("").str.split(r"\s+", n=2, expand=True)
    orders["province"], orders["city"] = address[0], address[1]
    orders["channel"] = orders["是否手机订单"].map(lambda v: "mobile" if v == "手机订单" else "pc")
    lines["item_id"] = lines["商家编码"].str.strip()
    lines["quantity"] = lines["购买数量"].astype(float)
    lines["revenue"] = lines["价格"].str.replace(",", "").astype(float) * lines["quantity"]
    merged = orders[["order_id", "status", "created", "day", "user", "province", "city", "channel"]].merge(
        lines[["order_id", "item_id", "quantity", "revenue"]], on="order_id", how="left")
    merged = merged.merge(products[["item_id", "title", "category", "brand"]], on="item_id", how="left")
    return merged, orders


SALE = ("paid", "shipped", "completed")
COUNTED = ("revenue", "units", "orders", "buyers")  # items that sold nothing rank at 0 of these


def value(lines: pd.DataFrame, metric: str, counted: tuple[str, ...] = SALE, first_sale: pd.Series | None = None,
          start: date | None = None) -> float:
    """The metric over ``lines``; orders in a ``counted`` status count (sales unless a status is
    asked); ``first_sale``: each buyer's first sale order's time, for new and returning buyers."""
    sold = lines[lines["status"].isin(counted)]
    if metric == "new_buyers":
        firsts = sold[sold["created"] == sold["user"].map(first_sale)]
        return float(firsts["user"].nunique())
    if metric == "returning_buyers":
        return float(sold.loc[sold["user"].map(first_sale) < pd.Timestamp(start), "user"].nunique())
    if metric == "revenue":
        return float(sold["revenue"].fillna(0).sum())
    if metric == "units":
        return float(sold.loc[sold["quantity"] > 0, "quantity"].sum())
    if metric == "orders":
        return float(sold["order_id"].nunique())
    if metric == "buyers":
        return float(sold["user"].nunique())
    if metric == "aov":
        n = sold["order_id"].nunique()
        return float(sold["revenue"].fillna(0).sum() / n) if n else float("nan")
    if metric == "repeat_rate":
        per = sold.groupby("user")["order_id"].nunique()
        return float((per >= 2).mean()) if len(per) else float("nan")
    if metric == "refund_rate":
        refunded = lines.loc[lines["status"] == "refunded", "order_id"].nunique()
        n = refunded + sold["order_id"].nunique()
        return float(refunded / n) if n else float("nan")
    raise ValueError(metric)


def expected(lines: pd.DataFrame, case: Case, products: pd.DataFrame | None = None):
    """The numbers the answer must hold: a float, or [(key, value)] for breakdowns."""
    sales = lines[lines["status"].isin(SALE) & lines["user"].notna()]
    first_sale = sales.groupby("user")["created"].min()
    counted = (case.filters["status"],) if "status" in case.filters else \
        tuple(sorted(set(lines["status"].dropna()))) if case.dimension == "status" else SALE

    def window(span):
        part = lines[(lines["day"] >= pd.Timestamp(span[0])) & (lines["day"] <= pd.Timestamp(span[1]))]
        first = part["user"].map(first_sale)
        part = part.assign(day_type=part["day"].dt.dayofweek.map(lambda d: "weekend" if d >= 5 else "workday"),
                           customer=first.map(lambda f: None if pd.isna(f) else "new").where(
                               ~(first < pd.Timestamp(span[0])), "returning").where(first.notna(), None))
        for column, wanted in case.filters.items():
            if column == "customer":
                came_before = part["user"].map(first_sale) < pd.Timestamp(span[0])
                part = part[came_before if wanted == "returning" else ~came_before & part["user"].notna()]
            elif column == "day_type":
                part = part[(part["day"].dt.dayofweek >= 5) == (wanted == "weekend")]
            elif column != "status":
                part = part[part[column] == wanted]
        return part

    def metric(part, span=case.time_range):
        return value(part, case.metric, counted, first_sale, span[0])

    part = window(case.time_range)
    if case.shape == "total":
        return metric(part)
    if case.shape == "comparison":
        return [metric(part), metric(window(case.compare_range), case.compare_range)]
    if case.dimension in ("day", "week", "month", "weekday"):
        days = pd.Series(pd.date_range(case.time_range[0], case.time_range[1], freq="D"))

        def buckets(day: pd.Series) -> pd.Series:
            return {"day": lambda: day, "week": lambda: day - pd.to_timedelta(day.dt.dayofweek, unit="D"),
                    "month": lambda: day.dt.to_period("M").dt.to_timestamp(),
                    "weekday": lambda: day.dt.dayofweek + 1}[case.dimension]()

        bucket = buckets(part["day"])
        rows = [(k.date().isoformat() if hasattr(k, "date") else str(k), metric(part[bucket == k]))
                for k in buckets(days).drop_duplicates()]
        if case.shape == "trend":
            return rows
    else:
        column = "item_id" if case.dimension == "item" else case.dimension
        rows = [(k, metric(g)) for k, g in part.dropna(subset=[column]).groupby(column)]
        if case.values:
            rows = [(k, v) for k, v in rows if k in case.values]
            rows += [(k, 0.0) for k in case.values if k not in {k for k, _v in rows}]
        if case.dimension == "item" and products is not None and case.metric in COUNTED:
            seen = {k for k, _v in rows}
            rows += [(k, 0.0) for k in products["item_id"] if k not in seen]
    ascending = case.shape == "argmin" or (case.shape in ("ranking", "share") and case.sort == "asc")
    rows = [(k, v) for k, v in rows if v == v] if case.shape != "compare_values" else rows
    rows.sort(key=lambda kv: (kv[1] if ascending else -kv[1], kv[0]))
    if case.shape == "share":
        total = sum(v for _k, v in rows)
        rows = [(k, v, v / total) for k, v in rows]
    if case.shape in ("argmax", "argmin") and case.dimension not in ("day", "week", "month", "weekday"):
        return rows[:10]
    return rows[:case.top_n] if case.top_n else rows


# --- the questions --------------------------------------------------------------------------------

def _month(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    return start, date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)


MONDAY = AS_OF - timedelta(days=AS_OF.weekday())
ZH_TIMES = {
    "本月": (date(2026, 11, 1), AS_OF), "上月": _month(2026, 10), "本周": (MONDAY, AS_OF),
    "上周": (MONDAY - timedelta(days=7), MONDAY - timedelta(days=1)), "最近7天": (AS_OF - timedelta(days=6), AS_OF),
    "最近30天": (AS_OF - timedelta(days=29), AS_OF), "今年": (date(2026, 1, 1), AS_OF),
    "2025年双11期间": (date(2025, 10, 24), date(2025, 11, 11)), "第三季度": (date(2026, 7, 1), date(2026, 9, 30)),
    "昨天": (AS_OF - timedelta(days=1),) * 2, "2026年11月1日到2026年11月10日": (date(2026, 11, 1), date(2026, 11, 10)),
    "最近14天": (AS_OF - timedelta(days=13), AS_OF), "10月": _month(2026, 10),
    "去年": (date(2025, 1, 1), date(2025, 12, 31)),
}
ZH_METRICS = {"revenue": ("销售额", "GMV", "成交额"), "units": ("销量",), "orders": ("订单数", "订单量"),
              "aov": ("客单价",), "buyers": ("买家数",), "refund_rate": ("退款率",), "repeat_rate": ("复购率",)}
EN_TIMES = {"this month": ZH_TIMES["本月"], "last month": ZH_TIMES["上月"], "last week": ZH_TIMES["上周"],
            "the last 7 days": ZH_TIMES["最近7天"], "this year": ZH_TIMES["今年"], "yesterday": ZH_TIMES["昨天"],
            "Q3": ZH_TIMES["第三季度"]}
EN_METRICS = {"revenue": "revenue", "units": "units sold", "orders": "orders", "aov": "average order value",
              "buyers": "buyers", "refund_rate": "refund rate", "repeat_rate": "repeat rate"}


def cases(categories: list[str]) -> list[Case]:
    out: list[Case] = []
    for k, (phrase, span) in enumerate(ZH_TIMES.items()):
        for j, (metric, words) in enumerate(ZH_METRICS.items()):
            word = words[(k + j) % len(words)]
            template = ("{t}{m}是多少", "{t}的{m}", "{t}{m}多少")[(k + j) % 3]
            out.append(Case(template.format(t=phrase, m=word), metric, span))
    for phrase in ("本月", "上月", "最近30天", "今年", "2025年双11期间"):
        span = ZH_TIMES[phrase]
        out += [Case(f"{phrase}热销商品排名", "units", span, "item", "ranking", 10, kind="ranking"),
                Case(f"{phrase}销售额最高的5个品类", "revenue", span, "category", "ranking", 5, kind="ranking"),
                Case(f"{phrase}卖得最差的5个商品", "revenue", span, "item", "ranking", 5, "asc", kind="ranking"),
                Case(f"{phrase}各省份的订单数", "orders", span, "province", "ranking", 10, kind="ranking"),
                Case(f"{phrase}销量前3的品牌", "units", span, "brand", "ranking", 3, kind="ranking"),
                Case(f"{phrase}各品类销售额占比", "revenue", span, "category", "share", kind="share")]
    out += [Case("本月每天的销售额趋势", "revenue", ZH_TIMES["本月"], "day", "trend", kind="trend"),
            Case("上月每天的订单数", "orders", ZH_TIMES["上月"], "day", "trend", kind="trend"),
            Case("最近7天每天的销量", "units", ZH_TIMES["最近7天"], "day", "trend", kind="trend"),
            Case("今年每月的销售额", "revenue", ZH_TIMES["今年"], "month", "trend", kind="trend"),
            Case("最近30天每周的订单数", "orders", ZH_TIMES["最近30天"], "week", "trend", kind="trend")]
    out += [Case("本月和上月销售额对比", "revenue", ZH_TIMES["本月"], shape="comparison", comparison="previous_period",
                 compare_range=(date(2026, 10, 1), date(2026, 10, 20)), kind="comparison"),
            Case("本周和上周订单数对比", "orders", ZH_TIMES["本周"], shape="comparison", comparison="previous_period",
                 compare_range=(MONDAY - timedelta(days=7), MONDAY - timedelta(days=3)), kind="comparison"),
            Case("上月销售额环比", "revenue", ZH_TIMES["上月"], shape="comparison", comparison="previous_period",
                 compare_range=_month(2026, 9), kind="comparison"),
            Case("本月销量同比", "units", ZH_TIMES["本月"], shape="comparison", comparison="previous_year",
                 compare_range=(date(2025, 11, 1), date(2025, 11, 20)), kind="comparison"),
            Case("今年订单数同比", "orders", ZH_TIMES["今年"], shape="comparison", comparison="previous_year",
                 compare_range=(date(2025, 1, 1), date(2025, 11, 20)), kind="comparison")]
    for category in categories:
        out.append(Case(f"本月{category}的销量", "units", ZH_TIMES["本月"], filters={"category": category},
                        kind="filter"))
    out += [Case("本月杭州的销售额", "revenue", ZH_TIMES["本月"], filters={"city": "杭州市"}, kind="filter"),
            Case("今年浙江的订单数", "orders", ZH_TIMES["今年"], filters={"province": "浙江省"}, kind="filter"),
            Case("本月手机端的订单数", "orders", ZH_TIMES["本月"], filters={"channel": "mobile"}, kind="filter"),
            Case("本月上海的订单数", "orders", ZH_TIMES["本月"], filters={"city": "上海市"}, kind="filter"),
            Case("本月销售额最高的3个城市", "revenue", ZH_TIMES["本月"], "city", "ranking", 3, kind="ranking"),
            Case("今年订单数最多的5个城市", "orders", ZH_TIMES["今年"], "city", "ranking", 5, kind="ranking")]
    # Once read wrongly (2026-11-29), kept as cases: quarters, 卖了多少钱, a filtered dimension, 占比 of a value.
    out += [Case("昨天卖了多少钱", "revenue", ZH_TIMES["昨天"]),
            Case("本季度销售额", "revenue", (date(2026, 10, 1), AS_OF)),
            Case("上季度的销量", "units", (date(2026, 7, 1), date(2026, 9, 30))),
            Case(f"{categories[0]}品类本月销量前5", "units", ZH_TIMES["本月"], "item", "ranking", 5,
                 filters={"category": categories[0]}, kind="ranking"),
            Case("本月手机端的订单占比", "orders", ZH_TIMES["本月"], "channel", "share", kind="share"),
            Case("Revenue this quarter", "revenue", (date(2026, 10, 1), AS_OF), language="en")]
    # Phrases added as one row each of the time table (2026-12-05).
    out += [Case("上半年的销售额", "revenue", (date(2026, 1, 1), date(2026, 6, 30))),
            Case("下半年每月的订单数", "orders", (date(2026, 7, 1), AS_OF), "month", "trend", kind="trend"),
            Case("双11当天的销量", "units", (date(2026, 11, 11),) * 2),
            Case("2025年双11当天的订单数", "orders", (date(2025, 11, 11),) * 2)]
    # Issue 18's kinds, each read and answered (2026-12-06): festival days and seasons, calendar and
    # custom spans, statuses, new and returning buyers, weekends, compared values, the best of time.
    last_30 = ZH_TIMES["最近30天"]
    year = ZH_TIMES["今年"]
    out += [Case("去年双12那天的订单数", "orders", (date(2025, 12, 12),) * 2, kind="festival"),
            Case("618那天卖了多少钱", "revenue", (date(2026, 6, 18),) * 2, kind="festival"),
            Case("2025年七夕的销售额", "revenue", (date(2025, 8, 29),) * 2, kind="festival"),
            Case("618大促期间的订单数", "orders", (date(2026, 6, 1), date(2026, 6, 18)), kind="festival"),
            Case("春节期间的销量", "units", (date(2026, 2, 10), date(2026, 2, 24)), kind="festival"),
            Case("前三个季度的销售额", "revenue", (date(2026, 1, 1), date(2026, 9, 30)), kind="span"),
            Case("上上周的订单数", "orders", (MONDAY - timedelta(days=14), MONDAY - timedelta(days=8)), kind="span"),
            Case("去年下半年的销量", "units", (date(2025, 7, 1), date(2025, 12, 31)), kind="span"),
            Case("年初至今的客单价", "aov", year, kind="span"),
            Case("11月1日到11日的销售额", "revenue", (date(2026, 11, 1), date(2026, 11, 11)), kind="span"),
            Case("10月15号至今的订单数", "orders", (date(2026, 10, 15), AS_OF), kind="span"),
            Case("从国庆到现在卖了多少件", "units", (date(2026, 10, 1), AS_OF), kind="span"),
            Case("11.1-11.15 订单量", "orders", (date(2026, 11, 1), date(2026, 11, 15)), kind="span"),
            Case("被取消的订单有多少", "orders", last_30, filters={"status": "closed"}, kind="status"),
            Case("本月退款的订单数", "orders", ZH_TIMES["本月"], filters={"status": "refunded"}, kind="status"),
            Case("上个月待付款的有几单", "orders", ZH_TIMES["上月"], filters={"status": "pending"}, kind="status"),
            Case("各状态订单数占比", "orders", last_30, "status", "share", kind="status"),
            Case("上个月哪种状态的订单最多", "orders", ZH_TIMES["上月"], "status", "argmax", kind="status"),
            Case("上个月有多少新客", "new_buyers", ZH_TIMES["上月"], kind="customers"),
            Case("这周回头客有多少", "returning_buyers", ZH_TIMES["本周"], kind="customers"),
            Case("本月新客贡献的销售额", "revenue", ZH_TIMES["本月"], filters={"customer": "new"}, kind="customers"),
            Case("老客上个月下了多少单", "orders", ZH_TIMES["上月"], filters={"customer": "returning"},
                 kind="customers"),
            Case("本月每天新客有多少", "new_buyers", ZH_TIMES["本月"], "day", "trend", kind="customers"),
            Case("新客和老客本月的销售额对比", "revenue", ZH_TIMES["本月"], "customer", "compare_values",
                 values=["new", "returning"], kind="customers"),
            Case("本月周末的销售额", "revenue", ZH_TIMES["本月"], filters={"day_type": "weekend"}, kind="weekend"),
            Case("上个月工作日的订单数", "orders", ZH_TIMES["上月"], filters={"day_type": "workday"}, kind="weekend"),
            Case("周末和工作日比哪个卖得好", "revenue", last_30, "day_type", "compare_values",
                 values=["weekend", "workday"], kind="weekend"),
            Case("北京和上海的订单数", "orders", last_30, "city", "compare_values", values=["北京市", "上海市"],
                 kind="compare"),
            Case(f"{categories[0]}跟{categories[1]}比哪个卖得好", "revenue", last_30, "category", "compare_values",
                 values=categories[:2], kind="compare"),
            Case("手机端和电脑端本月销售额对比", "revenue", ZH_TIMES["本月"], "channel", "compare_values",
                 values=["mobile", "pc"], kind="compare"),
            Case("浙江、江苏、广东这三个省今年的订单数", "orders", year, "province", "compare_values",
                 values=["浙江省", "江苏省", "广东省"], kind="compare"),
            Case("上个月哪天订单最多", "orders", ZH_TIMES["上月"], "day", "argmax", kind="best"),
            Case("今年哪个月卖得最好", "revenue", year, "month", "argmax", kind="best"),
            Case("本月销售额最低的一天", "revenue", ZH_TIMES["本月"], "day", "argmin", kind="best"),
            Case("一周里哪天卖得最好", "revenue", last_30, "weekday", "argmax", kind="best"),
            Case("二季度哪个品牌卖得最好", "revenue", (date(2026, 4, 1), date(2026, 6, 30)), "brand", "argmax",
                 kind="best"),
            Case("杭洲最近7天订单数", "orders", ZH_TIMES["最近7天"], filters={"city": "杭州市"}, kind="misspelt"),
            Case("shenzhen 今年销售额", "revenue", year, filters={"city": "深圳市"}, kind="misspelt"),
            Case("How many cancelled orders yesterday?", "orders", ZH_TIMES["昨天"], filters={"status": "closed"},
                 kind="status", language="en"),
            Case("Weekend revenue this month", "revenue", ZH_TIMES["本月"], filters={"day_type": "weekend"},
                 kind="weekend", language="en"),
            Case("Which day last week had the most orders?", "orders", ZH_TIMES["上周"], "day", "argmax", kind="best",
                 language="en"),
            Case("Compare Beijing and Shanghai orders", "orders", last_30, "city", "compare_values",
                 values=["北京市", "上海市"], kind="compare", language="en")]
    # Tuned on the third paraphrase part (2026-12-06): the same day a week before, a category's
    # everyday or English name, a festival's 那阵子, a month's first days, statuses in plain words.
    yesterday = ZH_TIMES["昨天"][0]
    out += [Case("昨天vs上周同一天的销量", "units", ZH_TIMES["昨天"], shape="comparison", comparison="previous_week",
                 compare_range=(yesterday - timedelta(days=7),) * 2, kind="comparison"),
            Case("618活动那阵子新客来了多少", "new_buyers", (date(2026, 6, 1), date(2026, 6, 18)), kind="festival"),
            Case("11月头10天的销量", "units", (date(2026, 11, 1), date(2026, 11, 10)), kind="span"),
            Case("拍下没付钱的有多少单", "orders", last_30, filters={"status": "pending"}, kind="status"),
            Case("非周末的销量 上季度", "units", (date(2026, 7, 1), date(2026, 9, 30)),
                 filters={"day_type": "workday"}, kind="weekend"),
            Case("上周件数后五名的商品", "units", ZH_TIMES["上周"], "item", "ranking", 5, "asc", kind="ranking"),
            Case("Revenue from completed orders in Q3", "revenue", (date(2026, 7, 1), date(2026, 9, 30)),
                 filters={"status": "completed"}, kind="status", language="en")]
    if "美妆" in categories and "母婴" in categories:
        out.append(Case("Beauty vs Mother & Baby: orders last week", "orders", ZH_TIMES["上周"], "category",
                        "compare_values", values=["美妆", "母婴"], kind="compare", language="en"))
    for k, (phrase, span) in enumerate(EN_TIMES.items()):
        for j, (metric, word) in enumerate(EN_METRICS.items()):
            template = ("What was {m} {t}?", "{M} {t}", "How much {m} {t}")[(k + j) % 3] if metric in (
                "revenue", "units") else ("What was the {m} {t}?", "{M} {t}", "Show {m} for {t}")[(k + j) % 3]
            out.append(Case(template.format(m=word, M=word.capitalize(), t=phrase), metric, span, language="en"))
    out += [Case("Top 10 products by units this month", "units", ZH_TIMES["本月"], "item", "ranking", 10,
                 kind="ranking", language="en"),
            Case("Top 5 categories by revenue last month", "revenue", ZH_TIMES["上月"], "category", "ranking", 5,
                 kind="ranking", language="en"),
            Case("Worst 5 products by units this year", "units", ZH_TIMES["今年"], "item", "ranking", 5, "asc",
                 kind="ranking", language="en"),
            Case("Daily revenue trend for the last 7 days", "revenue", ZH_TIMES["最近7天"], "day", "trend",
                 kind="trend", language="en"),
            Case("Revenue share by category this month", "revenue", ZH_TIMES["本月"], "category", "share",
                 kind="share", language="en"),
            Case("Compare revenue this month vs last month", "revenue", ZH_TIMES["本月"], shape="comparison",
                 comparison="previous_period", compare_range=(date(2026, 10, 1), date(2026, 10, 20)),
                 kind="comparison", language="en")]
    return out


def check(case: Case, answer: dict, truth) -> str | None:
    """None when the answer is exactly right; else what is wrong (its kind first)."""
    got = answer.get("interpretation", {})
    if got.get("metric") != case.metric:
        return f"metric: {got.get('metric')} != {case.metric}"
    if got.get("time_range") != [d.isoformat() for d in case.time_range]:
        return f"time: {got.get('time_range')} != {[d.isoformat() for d in case.time_range]}"
    if got.get("dimension") != case.dimension:
        return f"dimension: {got.get('dimension')} != {case.dimension}"
    if got.get("shape") != case.shape:
        return f"shape: {got.get('shape')} != {case.shape}"
    if case.filters and got.get("filters") != case.filters:
        return f"filters: {got.get('filters')} != {case.filters}"
    if case.top_n and got.get("top_n") != case.top_n:
        return f"top_n: {got.get('top_n')} != {case.top_n}"
    if case.shape == "ranking" and got.get("sort") != case.sort:
        return f"sort: {got.get('sort')} != {case.sort}"
    if case.values and sorted(got.get("values") or []) != sorted(case.values):
        return f"values: {got.get('values')} != {case.values}"
    if case.compare_range and got.get("compare_range") != [d.isoformat() for d in case.compare_range]:
        return f"compared with: {got.get('compare_range')} != {[d.isoformat() for d in case.compare_range]}"
    rows = answer.get("rows", [])
    if case.shape == "total":
        return None if _close(rows[0]["value"], truth) else f"number: {rows[0]['value']} != {truth}"
    if case.shape == "comparison":
        values = [r["value"] for r in rows]
        return None if all(_close(a, b) for a, b in zip(values, truth, strict=True)) else f"number: {values} != {truth}"
    if case.shape == "trend":
        pairs = [(r["label"], r["value"]) for r in rows]
        ok = len(pairs) == len(truth) and all(a[0] == b[0] and _close(a[1], b[1]) for a, b in zip(pairs, truth,
                                                                                                    strict=True))
        return None if ok else f"number: trend differs ({pairs[:3]} vs {truth[:3]})"
    values = [r["value"] for r in rows]
    expected_values = [t[1] for t in truth]
    if len(values) != len(expected_values) or not all(_close(a, b) for a, b in zip(values, expected_values,
                                                                                   strict=True)):
        return f"number: {values[:5]} != {expected_values[:5]}"
    return None


def _close(a, b) -> bool:
    if a is None or b is None or (isinstance(b, float) and b != b):
        return (a is None or a != a) and (b is None or b != b)
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))
