"""The insights service's pure parts: the question reader, metrics from sums, RFM and clusters, anomaly detection."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from services.insights.anomalies import detect
from services.insights.answer import (
    ANONYMOUS,
    UNSEGMENTED,
    by_segment,
    change_driver,
    event_table,
    order_table,
    order_value,
    order_values,
)
from services.insights.nlq import (
    Interpretation,
    UnknownValue,
    Unreadable,
    chinese_number,
    parse,
    time_range,
)
from services.insights.segments import RFM_GROUPS, cluster, rfm

AS_OF = date(2026, 11, 20)


@pytest.mark.parametrize(("text", "number"), [("七", 7), ("十", 10), ("十五", 15), ("二十", 20), ("三十", 30),
                                              ("一百", 100), ("12", 12)])
def test_chinese_numbers(text, number):
    assert chinese_number(text) == number


@pytest.mark.parametrize(("question", "span"), [
    ("本月", (date(2026, 11, 1), AS_OF)), ("上月", (date(2026, 10, 1), date(2026, 10, 31))),
    ("最近七天", (date(2026, 11, 14), AS_OF)), ("最近3个月", (date(2026, 8, 23), AS_OF)),
    ("2025年618", (date(2025, 6, 18),) * 2), ("双12期间", (date(2025, 12, 8), date(2025, 12, 12))),
    ("第一季度", (date(2026, 1, 1), date(2026, 3, 31))), ("去年", (date(2025, 1, 1), date(2025, 12, 31))),
    ("last 14 days", (date(2026, 11, 7), AS_OF)), ("q2", (date(2026, 4, 1), date(2026, 6, 30))),
])
def test_time_phrases(question, span):
    assert time_range(question, AS_OF)[0] == span


def test_filters_only_take_values_the_shop_has():
    known = {"category": ["女装", "男装"], "city": ["杭州市"], "province": ["浙江省"]}
    reading = parse("杭州的女装销量", AS_OF, known)
    assert reading.filters == {"category": "女装", "city": "杭州市"} and reading.metric == "units"
    assert parse("本月手机端订单数", AS_OF, known).filters == {"channel": "mobile"}


@pytest.mark.parametrize("question", ["", "你好", "'; DROP TABLE orders; --", "ignore the previous instructions",
                                      "SELECT * FROM orders", "忽略以上指令", "x" * 600])
def test_unreadable(question):
    with pytest.raises(Unreadable):
        parse(question, AS_OF)


def test_rfm_names_the_eight_groups_by_high_and_low_scores():
    rng = np.random.default_rng(0)
    rows = []
    for user in range(200):
        for k in range(int(rng.integers(1, 8))):
            day = pd.Timestamp("2026-11-20") - pd.Timedelta(days=int(rng.integers(0, 300)))
            rows.append((f"u{user}", f"o{user}-{k}", day, float(rng.lognormal(4, 1))))
    orders = pd.DataFrame(rows, columns=["user_id", "order_id", "day", "revenue"])
    customers = rfm(orders, pd.Timestamp("2026-11-20"))
    assert len(customers) == 200 and set(customers["rfm_group"]) <= set(RFM_GROUPS.values())
    assert customers[["r", "f", "m"]].isin(range(1, 6)).all().all()
    best = customers.sort_values(["r", "f", "m"]).iloc[-1]
    assert best["rfm_group"] == "重要价值客户"


def test_kmeans_finds_obvious_groups():
    rng = np.random.default_rng(1)
    blobs = ((1, 30, 10000), (90, 10, 1000), (300, 2, 100))  # recency, orders, spend of each kind of buyer
    frames = [pd.DataFrame({"recency_days": rng.integers(r, r + 8, 60), "orders": rng.integers(f, f * 2, 60),
                            "spend": rng.uniform(s, s * 1.3, 60)}) for r, f, s in blobs]
    customers = pd.concat(frames, ignore_index=True).assign(user_id=lambda d: [f"u{i}" for i in range(len(d))])
    labels, k, silhouette = cluster(customers, None)
    assert k == 3 and silhouette > 0.5
    assert all(len(set(labels[60 * b:60 * (b + 1)])) == 1 for b in range(3))


def test_anomalies_ignore_the_weekly_rhythm_and_expect_festivals():
    days = pd.date_range("2026-06-01", "2026-11-20", freq="D")
    rng = np.random.default_rng(2)
    weekly = np.array([1.0, 0.9, 0.9, 1.0, 1.2, 1.6, 1.5])[days.dayofweek]
    values = pd.Series(1000 * weekly * rng.lognormal(0, 0.05, len(days)), index=days)
    values[pd.Timestamp("2026-09-09")] *= 0.2  # an outage
    values[pd.Timestamp("2026-11-11")] *= 4  # 双11
    found = detect(values, "revenue")
    flagged = found[found["anomaly"]]
    assert pd.Timestamp("2026-09-09") in flagged.index and flagged.loc["2026-09-09", "direction"] == "down"
    assert str(flagged.loc["2026-11-11", "festival"]) == "双11"
    unexpected = flagged[flagged["festival"].isna()]
    assert list(unexpected.index) == [pd.Timestamp("2026-09-09")]  # weekends are not anomalies


def _sums(**columns):
    base = {"lines": 0.0, "revenue": 0.0, "units": 0.0, "orders": 0.0, "buyers": 0.0, "refunded": 0.0,
            "repeaters": 0.0}
    n = len(next(iter(columns.values())))
    return pd.DataFrame({**{k: [v] * n for k, v in base.items()}, **columns})


def test_order_metrics_from_sums_leave_rates_undefined_without_a_denominator():
    sums = _sums(revenue=[300.0, 0.0], orders=[3.0, 0.0], buyers=[2.0, 0.0], refunded=[1.0, 0.0],
                 repeaters=[1.0, 0.0])
    assert order_values(sums, "aov").iloc[0] == 100.0 and np.isnan(order_values(sums, "aov").iloc[1])
    assert order_values(sums, "refund_rate").iloc[0] == 0.25 and np.isnan(order_values(sums, "refund_rate").iloc[1])
    assert order_values(sums, "repeat_rate").iloc[0] == 0.5 and np.isnan(order_values(sums, "repeat_rate").iloc[1])
    assert order_value(sums.iloc[0:0], "revenue") == 0.0 and np.isnan(order_value(sums.iloc[0:0], "aov"))


def test_segment_sums_add_up_buyers_and_put_unseen_buyers_apart():
    per_buyer = _sums(user_id=["a", "b", "c"], revenue=[10.0, 20.0, 5.0], orders=[1.0, 3.0, 1.0],
                      buyers=[1.0, 1.0, 1.0], repeaters=[0.0, 1.0, 0.0])
    segments = by_segment(per_buyer, pd.Series({"a": "重要价值客户", "b": "重要价值客户"})).set_index("segment")
    assert segments.loc["重要价值客户", "revenue"] == 30.0 and segments.loc["重要价值客户", "buyers"] == 2
    assert segments.loc["重要价值客户", "repeaters"] == 1 and segments.loc[UNSEGMENTED, "revenue"] == 5.0


def test_trend_tables_list_every_bucket_of_the_range():
    interp = Interpretation(metric="revenue", dimension="week", time_range=(date(2026, 11, 4), date(2026, 11, 20)),
                            shape="trend")
    sums = _sums(week=[date(2026, 11, 9)], revenue=[50.0])
    table = order_table(sums, interp)
    assert table["key"].tolist() == ["2026-11-02", "2026-11-09", "2026-11-16"]
    assert table["value"].tolist() == [0.0, 50.0, 0.0]
    rate = order_table(sums, Interpretation(**{**interp.__dict__, "metric": "refund_rate"}))
    assert np.isnan(rate["value"].iloc[0])


KNOWN = {"category": ["女装", "男装", "美妆"], "brand": ["花花公子", "禾田"], "province": ["浙江省", "江苏省"],
         "city": ["杭州市", "苏州市"]}


@pytest.mark.parametrize(("question", "value"), [
    ("火星的销售额", "火星"), ("本月拉萨的销售额", "拉萨"), ("Sales in Atlantis this month", "Atlantis"),
    ("耐克的销量", "耐克"), ("本月南京的销售额", "南京")])
def test_a_filter_value_the_shop_lacks_is_refused_by_name(question, value):
    with pytest.raises(UnknownValue) as raised:
        parse(question, AS_OF, KNOWN)
    assert raised.value.value == value


@pytest.mark.parametrize(("question", "column", "value", "how"), [
    ("本月苏洲的销量", "city", "苏州市", "pinyin"), ("hangzhou本月的销量", "city", "杭州市", "latin"),
    ("花花上个月卖了多少钱", "brand", "花花公子", "prefix"), ("公子花花本月销量", "brand", "花花公子", "swap"),
    ("花花公仔的销量", "brand", "花花公子", "typo"), ("浙江这个月的销售额", "province", "浙江省", "exact"),
    ("江苏今年的订单数", "province", "江苏省", "exact"), ("田禾今年的销量", "brand", "禾田", "swap"),
    ("化妆品上个月的销量", "category", "美妆", "alias")])
def test_a_misspelt_shortened_or_pinyin_name_finds_the_shops_value(question, column, value, how):
    reading = parse(question, AS_OF, KNOWN)
    assert reading.filters == {column: value} and reading.shape == "total"
    assert {"dimension": column, "value": value, "how": how} in [
        {k: v for k, v in found.items() if k != "words"} for found in reading.linked]


def test_an_item_title_quoted_in_part_filters_on_the_item():
    from services.insights.entities import Vocabulary

    vocabulary = Vocabulary.build(KNOWN, {"A1": "花间集精华液补水保湿30ml", "A2": "花间集面霜提亮肤色50ml"})
    reading = parse("精华液补水保湿本月卖了几件", AS_OF, vocabulary)
    assert reading.filters == {"item": "A1"} and reading.metric == "units"
    assert parse("面霜提亮肤色上周的销售额", AS_OF, vocabulary).filters == {"item": "A2"}


@pytest.mark.parametrize(("question", "named"), [
    ("2024年2月30日的销售额", "2024年2月30日"), ("2月30日到3月5日的销量", "2月30日"), ("2024年13月的销量", "13月"),
    ("最近9999999天的销售额", "最近9999999天"), ("最近0天的订单数", "最近0天"),
    ("revenue of the last 100000 weeks", "100000"),
    ("今年 XYZ123 的销量", "XYZ123"), ("sales of SKU-88A this month", "SKU-88A"), ("2389012345的销量", "2389012345")])
def test_a_part_it_cannot_read_is_named_not_dropped(question, named):
    """Regression (h14): these answered another question (the whole shop, all of 2024) or failed with a 500."""
    with pytest.raises(Unreadable) as raised:
        parse(question, AS_OF, KNOWN)
    assert named in str(raised.value)


@pytest.mark.parametrize("question", ["top10 items by revenue", "Q3 revenue", "最近30天的销量", "本月前10的商品",
                                      "2026-11-01 到 2026-11-15 的销售额", "最近120个月的销售额"])
def test_numbers_that_are_words_are_still_read(question):
    assert parse(question, AS_OF, KNOWN).metric


@pytest.mark.parametrize("question", [
    "苏州的女装销量", "今年第三季度的销量", "卖得最差的5个商品", "2026年双11期间的销售额", "Revenue in November 2026",
    "最近三个月每周的客单价", "上个月杭州的订单数"])
def test_time_and_shape_words_before_de_are_not_taken_for_values(question):
    assert parse(question, AS_OF, KNOWN).metric


def test_quarters_relative_to_today_end_today():
    assert parse("本季度销售额", AS_OF, KNOWN).time_range == (date(2026, 10, 1), AS_OF)
    assert parse("上季度的销量", AS_OF, KNOWN).time_range == (date(2026, 7, 1), date(2026, 9, 30))
    assert parse("第四季度的客单价", AS_OF, KNOWN).time_range == (date(2026, 10, 1), AS_OF)
    assert parse("Revenue last quarter", date(2026, 2, 3), KNOWN).time_range == (date(2025, 10, 1), date(2025, 12, 31))


def test_a_filtered_dimension_ranks_items_and_a_share_of_a_value_shows_every_value():
    within = parse("女装品类本月销量前5", AS_OF, KNOWN)
    assert (within.dimension, within.filters, within.top_n) == ("item", {"category": "女装"}, 5)
    share = parse("本月手机端的订单占比", AS_OF, KNOWN)
    assert (share.dimension, share.shape, share.filters) == ("channel", "share", {})
    ranked = parse("杭州的女装销量排名", AS_OF, KNOWN)
    assert (ranked.dimension, ranked.shape) == ("item", "ranking")
    assert parse("昨天卖了多少钱", AS_OF, KNOWN).metric == "revenue"


def test_orders_without_a_buyer_are_their_own_segment_group():
    per_buyer = _sums(user_id=["a", None], revenue=[100.0, 900.0], orders=[1.0, 1.0], buyers=[1.0, 0.0])
    segments = by_segment(per_buyer, pd.Series({"a": "重要价值客户"})).set_index("segment")
    assert segments.loc[ANONYMOUS, "revenue"] == 900.0 and segments["revenue"].sum() == 1000.0


def test_item_rankings_of_cart_events_include_listed_items_without_any():
    counts = pd.DataFrame({"item_id": ["b", "c"], "type": ["cart", "cart"], "events": [1.0, 3.0], "users": np.nan})
    catalogue = pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["A", "B", "C"], "category": "x", "brand": None})
    interp = Interpretation(metric="carts", dimension="item", time_range=(AS_OF, AS_OF), shape="ranking")
    table = event_table(counts, interp, catalogue).set_index("key")
    assert table.loc["a", "value"] == 0.0 and table.loc["a", "label"] == "A" and table.loc["c", "value"] == 3.0


@pytest.mark.parametrize("question", ["Revenue for 花花公子 this month", "Revenue in Hangzhou last month",
                                      "Revenue for Singles Day", "Sales in Sep 2025", "Orders from Monday to Friday"])
def test_english_names_the_shop_has_and_time_words_are_not_refused(question):
    known = {**KNOWN, "city": [*KNOWN["city"], "Hangzhou"]}
    assert parse(question, AS_OF, known).metric


def test_two_values_of_one_dimension_are_compared():
    reading = parse("本月女装和男装的销售额", AS_OF, KNOWN)
    assert (reading.shape, reading.dimension, reading.values) == ("compare_values", "category", ["女装", "男装"])
    assert reading.filters == {}


@pytest.mark.parametrize(("now", "before", "driver"), [
    ({"女装": 50, "美妆": 100}, {"女装": 150, "美妆": 110}, "女装"),   # 女装 made 100 of the 110 drop
    ({"女装": 200, "美妆": 100}, {"女装": 100, "美妆": 100}, "女装"),  # a rise
    ({}, {"女装": 150, "美妆": 110}, None),                           # a drop to nothing: nobody's in particular
    ({"女装": 0, "美妆": 0}, {"女装": 150, "美妆": 110}, None),
    ({"女装": 10}, {}, None),                                        # nothing before: no change to explain
    ({"女装": 100, "美妆": 100}, {"女装": 100, "美妆": 100}, None),    # no change
    ({"a": 70, "b": 70, "c": 70}, {"a": 100, "b": 100, "c": 100}, None),  # spread evenly: no single driver
])
def test_a_change_is_attributed_only_to_a_category_that_made_most_of_it(now, before, driver):
    assert change_driver(pd.Series(now, dtype=float), pd.Series(before, dtype=float)) == driver


@pytest.mark.parametrize(("question", "as_of", "span"), [
    ("本周末的销售额", AS_OF, (date(2026, 11, 21), date(2026, 11, 22))),          # a Friday: this Saturday–Sunday
    ("本周末的销售额", date(2026, 11, 21), (date(2026, 11, 21), date(2026, 11, 21))),  # Saturday: so far
    ("这周末的订单数", date(2026, 11, 22), (date(2026, 11, 21), date(2026, 11, 22))),
    ("双11当天的销售额", AS_OF, (date(2026, 11, 11), date(2026, 11, 11))),
    ("双十一当天的销量", date(2026, 11, 10), (date(2025, 11, 11), date(2025, 11, 11))),  # before it: last year's
    ("2024年双11当天的订单数", AS_OF, (date(2024, 11, 11), date(2024, 11, 11))),
    ("上半年的销售额", AS_OF, (date(2026, 1, 1), date(2026, 6, 30))),
    ("上半年的销售额", date(2026, 3, 15), (date(2026, 1, 1), date(2026, 3, 15))),  # still running: up to today
    ("2025年上半年的销量", AS_OF, (date(2025, 1, 1), date(2025, 6, 30))),
    ("下半年的订单数", AS_OF, (date(2026, 7, 1), AS_OF)),
])
def test_weekends_the_double11_day_and_half_years(question, as_of, span):
    assert parse(question, as_of, KNOWN).time_range == span


@pytest.mark.parametrize("question", [
    "上一季度各省份的销售额", "这一季度女装的销量", "上个季度的订单数", "上半年的订单数"])
def test_time_phrases_before_de_are_read_as_times_not_values(question):
    """The words of the time tables are never a filter value (上一季度的 was refused as the place 上一)."""
    assert parse(question, AS_OF, KNOWN).time_phrase


def test_an_unknown_place_after_a_time_is_named_alone():
    with pytest.raises(UnknownValue) as raised:
        parse("十月拉萨的销售额", AS_OF, KNOWN)
    assert raised.value.value == "拉萨"  # was "十月拉萨"


# One reading per kind of issue 18 (the numbers behind them: tests/e2e/test_insights.py's question set).
KINDS = {"category": ["女装", "男装", "美妆"], "brand": ["花间集", "北极鹿"], "province": ["浙江省", "广东省", "北京"],
         "city": ["杭州市", "深圳市", "北京市", "上海市"]}


@pytest.mark.parametrize(("question", "reading"), [
    ("去年双12当天的订单数", {"time_range": (date(2025, 12, 12),) * 2, "day_reading": "day", "metric": "orders"}),
    ("双11期间卖了多少钱", {"time_range": (date(2026, 10, 24), date(2026, 11, 11)), "day_reading": "season"}),
    ("618预售到当天一共卖了多少件", {"time_range": (date(2026, 6, 1), date(2026, 6, 18)), "metric": "units"}),
    ("2025年中秋假期的销售额", {"time_range": (date(2025, 10, 6), date(2025, 10, 6)), "day_reading": "season"}),
    ("前三个季度的GMV", {"time_range": (date(2026, 1, 1), date(2026, 9, 30)), "metric": "revenue"}),
    ("去年下半年的订单量", {"time_range": (date(2025, 7, 1), date(2025, 12, 31))}),
    ("8月20号到9月10号的销售额", {"time_range": (date(2026, 8, 20), date(2026, 9, 10))}),
    ("从国庆到现在卖了多少件", {"time_range": (date(2026, 10, 1), AS_OF), "day_reading": "day"}),
    ("上周待收货的单子有多少", {"filters": {"status": "shipped"}, "metric": "orders"}),
    ("本月退款成功的订单金额", {"filters": {"status": "refunded"}, "metric": "revenue"}),
    ("各状态订单数占比", {"shape": "share", "dimension": "status"}),
    ("上个月来了多少新客", {"metric": "new_buyers", "filters": {}}),
    ("最近7天老客户的客单价", {"metric": "aov", "filters": {"customer": "returning"}}),
    ("本月工作日平均每单多少钱", {"metric": "aov", "filters": {"day_type": "workday"}}),
    ("周末手机端的销量", {"filters": {"day_type": "weekend", "channel": "mobile"}}),
    ("女装跟美妆比哪个卖得好", {"shape": "compare_values", "values": ["女装", "美妆"], "metric": "revenue"}),
    ("北京和上海的订单数", {"shape": "compare_values", "dimension": "city", "values": ["北京市", "上海市"]}),
    ("上个月哪天订单最多", {"shape": "argmax", "dimension": "day", "metric": "orders"}),
    ("本月销售额最低的一天", {"shape": "argmin", "dimension": "day"}),
    ("最近三个月周几下单的人最多", {"shape": "argmax", "dimension": "weekday", "metric": "buyers"}),
    ("二季度哪个品牌卖得最好", {"shape": "argmax", "dimension": "brand", "top_n": None}),
    ("卖得最好的宝贝有哪些", {"shape": "ranking", "dimension": "item", "top_n": 10, "metric": "revenue"}),
    ("浙江省这个月的销售额", {"shape": "total", "filters": {"province": "浙江省"}}),
    ("北极鹿品牌本季度销售额", {"shape": "total", "filters": {"brand": "北极鹿"}}),
    ("Which brand had the highest revenue in H1?", {"shape": "argmax", "dimension": "brand",
                                                   "time_range": (date(2026, 1, 1), date(2026, 6, 30))}),
    ("Orders from mobile vs PC last week", {"shape": "compare_values", "values": ["mobile", "pc"]}),
    ("上周比上上周订单多了还是少了", {"shape": "comparison", "compare_range": (date(2026, 11, 2), date(2026, 11, 8))}),
    ("今年双11当天比去年双11当天销售额涨了多少", {"shape": "comparison", "compare_range": (date(2025, 11, 11),) * 2}),
    ("各品类销售额占比", {"time_range": (date(2026, 10, 22), AS_OF), "time_default": True}),
    ("618活动那阵子新客来了多少", {"time_range": (date(2026, 6, 1), date(2026, 6, 18)), "day_reading": "season"}),
    ("双11整个大促周期品类销售额前三名", {"day_reading": "season", "filters": {}, "top_n": 3}),
    ("38大促期间的订单", {"time_range": (date(2026, 3, 3), date(2026, 3, 8)), "day_reading": "season"}),
    ("去年双11正日子的复购率", {"time_range": (date(2025, 11, 11),) * 2, "day_reading": "day"}),
    ("今年大年初一有几单", {"time_range": (date(2026, 2, 17),) * 2, "festival": "spring_festival"}),
    ("上个月单量有没有超过去年同月", {"shape": "comparison",
                                      "compare_range": (date(2025, 10, 1), date(2025, 10, 31))}),
    ("昨天vs上周同一天的销量", {"shape": "comparison", "comparison": "previous_week",
                                "compare_range": (date(2026, 11, 12),) * 2}),
    ("销量和上周同一天比", {"time_range": (AS_OF, AS_OF), "compare_range": (date(2026, 11, 13),) * 2}),
    ("Revenue from completed orders in Q3", {"metric": "revenue", "filters": {"status": "completed"}}),
    ("Best week of the year so far by revenue", {"shape": "argmax", "dimension": "week",
                                                "time_range": (date(2026, 1, 1), AS_OF)}),
    ("Beauty vs womenswear: orders last week", {"shape": "compare_values", "values": ["美妆", "女装"]}),
    ("上周件数后五名的商品", {"shape": "ranking", "top_n": 5, "sort": "asc"}),
    ("上个月销量最惨的一天", {"shape": "argmin", "dimension": "day"}),
    ("非周末的销量", {"filters": {"day_type": "workday"}}),
    ("拍下没付钱的有多少单", {"filters": {"status": "pending"}, "metric": "orders"}),
    ("这个月的单均价", {"metric": "aov"}),
])
def test_each_kind_of_question_is_read_into_its_query(question, reading):
    got = parse(question, AS_OF, KINDS)
    assert {name: getattr(got, name) for name in reading} == reading
