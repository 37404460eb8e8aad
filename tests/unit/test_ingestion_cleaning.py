"""Cleaning rules and column planning, each on the ugly cases of docs/export-formats.md."""

import pandas as pd
import pytest

from services.ingestion import cleaning as c
from services.ingestion.presets import detect_preset, looks_like_user_behavior, normalise_name, plan_columns
from shared.errors import InvalidInput
from shared.privacy import pseudonymise

S = pd.Series


@pytest.mark.parametrize("raw,expected", [
    ('="2389012345678901"', "2389012345678901"),
    ("'2389012345678901", "2389012345678901"),
    (" 2389012345678901 ", "2389012345678901"),
    ("２３８９０１２３", "23890123"),
    ("2389012345.0", "2389012345"),
    ("SKU-AB_12", "SKU-AB_12"),
])
def test_ids_are_unwrapped(raw, expected):
    values, reasons = c.clean_id(S([raw]))
    assert values[0] == expected and reasons.isna().all()


@pytest.mark.parametrize("raw", ["2.389E+15", "2.38901E+15", "1e10", "-3.1e+05"])
def test_ids_ruined_into_scientific_notation_are_refused(raw):
    _values, reasons = c.clean_id(S([raw]))
    assert "scientific notation" in reasons[0]


@pytest.mark.parametrize("raw,expected", [
    ("¥1,299.00", 1299.0), ("￥1,299.00", 1299.0), ("1299元", 1299.0), ("１，２９９．５０", 1299.5),
    ("RMB 88", 88.0), ("0", 0.0), (" 12.5 ", 12.5),
])
def test_money_forms(raw, expected):
    values, reasons = c.clean_money(S([raw]))
    assert values[0] == expected and reasons.isna().all()


@pytest.mark.parametrize("raw,reason", [("abc", "not an amount"), ("-5", "negative"), ("1.2.3", "not an amount")])
def test_bad_money_is_refused(raw, reason):
    _values, reasons = c.clean_money(S([raw]))
    assert reason in reasons[0]


@pytest.mark.parametrize("raw,utc", [
    ("2024-11-11 00:01:02", "2024-11-10 16:01:02"),
    ("2024/11/11 0:01", "2024-11-10 16:01:00"),
    ("2024年11月11日", "2024-11-10 16:00:00"),
    ("2024年11月11日 10:02:03", "2024-11-11 02:02:03"),
    ("2024-11-11", "2024-11-10 16:00:00"),
    ("1731254462", "2024-11-10 16:01:02"),
    ("1731254462000", "2024-11-10 16:01:02"),
    ("2024-11-11T00:01:02+08:00", "2024-11-10 16:01:02"),
    ("2024-11-10T16:01:02Z", "2024-11-10 16:01:02"),
    ("２０２４-１１-１１ ００:０１:０２", "2024-11-10 16:01:02"),
])
def test_datetime_forms_in_shanghai_stored_as_utc(raw, utc):
    values, reasons = c.clean_datetime(S([raw]), "Asia/Shanghai")
    assert reasons.isna().all(), reasons[0]
    assert values[0] == pd.Timestamp(utc, tz="UTC")


def test_the_timezone_is_explicit():
    values, _ = c.clean_datetime(S(["2024-11-11 00:00:00"]), "Europe/London")
    assert values[0] == pd.Timestamp("2024-11-11 00:00:00", tz="UTC")


@pytest.mark.parametrize("raw,reason", [("yesterday", "not a date"), ("1800-01-01", "outside 1990-2100"),
                                        ("2024-13-45", "not a date")])
def test_bad_dates_are_refused(raw, reason):
    _values, reasons = c.clean_datetime(S([raw]), "Asia/Shanghai")
    assert reason in reasons[0]


@pytest.mark.parametrize("word,status", [
    ("交易成功", "completed"), ("交易关闭", "closed"), ("等待买家付款", "pending"),
    ("卖家已发货，等待买家确认", "shipped"), ("买家已付款，等待卖家发货", "paid"), ("退款成功", "refunded"),
    ("Cancelled", "closed"), (" paid ", "paid"),
])
def test_status_words(word, status):
    values, reasons = c.clean_words(S([word]), c.ORDER_STATUS, "order status")
    assert values[0] == status and reasons.isna().all()


def test_unknown_status_names_what_is_expected():
    _values, reasons = c.clean_words(S(["火星状态"]), c.ORDER_STATUS, "order status")
    assert "unknown order status" in reasons[0] and "completed" in reasons[0]


@pytest.mark.parametrize("word,kind", [("pv", "pv"), ("click", "pv"), ("收藏", "fav"), ("加购", "cart"),
                                       ("BUY", "buy"), ("purchase", "buy")])
def test_event_types(word, kind):
    assert c.clean_words(S([word]), c.EVENT_TYPE, "behaviour type")[0][0] == kind


def test_ratings_numbers_and_words():
    values, reasons = c.clean_rating(S(["5", "好评", "差评", "0", "4.5"]))
    assert values.tolist()[:3] == [5, 5, 1]
    assert "1 to 5" in reasons[3] and "whole number" in reasons[4]


@pytest.mark.parametrize("address,province,city", [
    ("浙江省 杭州市 西湖区 文三路8号", "浙江省", "杭州市"),
    ("广东省深圳市南山区科技园", "广东省", "深圳市"),
    ("北京 北京市 朝阳区 建国路1号", "北京", "北京市"),
    ("新疆维吾尔自治区乌鲁木齐市天山区", "新疆维吾尔自治区", "乌鲁木齐市"),
])
def test_addresses_keep_province_and_city_only(address, province, city):
    p, ct = c.split_address(S([address]))
    assert (p[0], ct[0]) == (province, city)


def test_channels():
    assert c.clean_channel(S(["手机订单", "", "pc"]), empty_means_pc=True).tolist() == ["mobile", "pc", "pc"]


def test_header_names_compare_loosely():
    assert normalise_name(" Order ID ") == normalise_name("order_id") == "orderid"
    assert normalise_name("订单编号（主）") == "订单编号主"


TMALL_ORDERS_HEADER = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额",
                       "买家实际支付金额", "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系电话",
                       "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司",
                       "订单备注", "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "是否手机订单"]


def test_auto_recognises_the_tmall_order_export_and_drops_personal_data():
    plan = plan_columns("orders", "auto", TMALL_ORDERS_HEADER)
    assert plan.preset == "tmall_orders" and plan.confidence > 0.9
    mapped = plan.column_mapping
    assert mapped["订单编号"] == "order_id" and mapped["买家实际支付金额"] == "paid_amount"
    assert {"买家支付宝账号", "收货人姓名", "联系电话", "联系手机", "买家留言", "物流单号"} <= set(plan.dropped_pii)
    assert plan.hashed == ["买家会员名"] and "宝贝标题" in plan.ignored


def test_generic_synonyms_in_english_and_chinese():
    plan = plan_columns("order_items", "auto", ["Order No", "商品ID", "Qty", "单价", "SKU"])
    assert plan.preset == "generic"
    assert plan.column_mapping == {"Order No": "order_id", "商品ID": "item_id", "Qty": "quantity",
                                   "单价": "unit_price", "SKU": "sku"}


def test_columns_that_fit_nothing_are_a_422_listing_what_was_seen_and_needed():
    with pytest.raises(InvalidInput) as caught:
        plan_columns("orders", "auto", ["foo", "bar"])
    problem = caught.value.to_problem()
    assert problem["columns_seen"] == ["foo", "bar"] and problem["fields_required"] == ["order_id", "created_at"]
    assert set(problem["errors"]) == {"order_id", "created_at"}


def test_a_mapping_overrides_and_is_checked():
    plan = plan_columns("orders", "generic", ["单号", "时间"], {"单号": "order_id", "时间": "created_at"})
    assert plan.column_mapping == {"单号": "order_id", "时间": "created_at"}
    with pytest.raises(InvalidInput) as caught:
        plan_columns("orders", "generic", ["单号", "时间"], {"不存在": "order_id"})
    assert "no such column" in caught.value.errors["不存在"][0]
    with pytest.raises(InvalidInput, match="does not fit"):
        plan_columns("orders", "generic", ["单号", "时间"], {"单号": "colour"})
    with pytest.raises(InvalidInput):
        plan_columns("orders", "generic", ["单号", "联系电话"], {"联系电话": "order_id"})


def test_user_behavior_rows_are_recognised_without_a_header():
    assert looks_like_user_behavior(["1", "2268318", "2520377", "pv", "1511544070"])
    assert looks_like_user_behavior(["xiaoyu_2768", "530199909386", "2411092", "buy", "1779640344"])
    assert not looks_like_user_behavior(["user_id", "item_id", "category_id", "behavior_type", "timestamp"])
    assert detect_preset("events", ["1", "2", "3", "fav", "1511544070"])[0] == "taobao_user_behavior"


def _plan(entity, header):
    return plan_columns(entity, "generic", header)


def test_a_chunk_is_cleaned_and_bad_rows_are_reported_with_row_and_column():
    plan = _plan("order_items", ["order_id", "item_id", "quantity", "unit_price"])
    rows = [['="1001"', "A", "2", "¥10.00"], ["1002", "B", "two", "5"], ["2.1E+15", "C", "1", "-3"]]
    raw = c.extract(plan, rows, [2, 3, 4])
    result = c.clean_chunk(plan, raw, "Asia/Shanghai", "salt")
    assert result.frame["order_id"].tolist() == ["1001"] and result.rows_rejected == 2
    found = {(r.row, r.column) for r in result.rejections}
    assert found == {(3, "quantity"), (4, "order_id"), (4, "unit_price")}
    assert result.frame["sku"].tolist() == [""]


def test_required_fields_cannot_be_empty():
    plan = _plan("orders", ["order_id", "created_at"])
    result = c.clean_chunk(plan, c.extract(plan, [["", "2024-01-01"]], [2]), "Asia/Shanghai", "s")
    assert str(result.rejections[0].reason) == "order_id is required but empty"


def test_user_ids_are_pseudonymised_per_shop():
    plan = _plan("events", ["user_id", "item_id", "type", "ts"])
    raw = c.extract(plan, [["小红薯2024", "1", "pv", "1511544070"]], [2])
    one = c.clean_chunk(plan, raw, "Asia/Shanghai", "shop-a").frame["user_id"][2]
    other = c.clean_chunk(plan, raw, "Asia/Shanghai", "shop-b").frame["user_id"][2]
    assert one == pseudonymise("shop-a", "小红薯2024") != other and "小红薯" not in one


def test_reviews_without_id_get_a_stable_hash():
    plan = _plan("reviews", ["item_id", "user_id", "text", "created_at"])
    raw = c.extract(plan, [["1", "u", "质量很好", "2024-01-01"]] * 2, [2, 3])
    ids = c.clean_chunk(plan, raw, "Asia/Shanghai", "s").frame["review_id"]
    assert ids[2] == ids[3] and ids[2].startswith("h")


def test_closed_orders_with_a_refund_reason_are_refunded():
    plan = plan_columns("orders", "tmall_orders", ["订单编号", "订单创建时间", "订单状态", "订单关闭原因"])
    raw = c.extract(plan, [["1", "2024-01-01", "交易关闭", "退款"], ["2", "2024-01-01", "交易关闭", "买家不想买了"]],
                    [2, 3])
    assert c.clean_chunk(plan, raw, "Asia/Shanghai", "s").frame["status"].tolist() == ["refunded", "closed"]


def test_too_long_values_are_refused_not_cut():
    plan = _plan("products", ["item_id", "category"])
    result = c.clean_chunk(plan, c.extract(plan, [["1", "类" * 201]], [2]), "Asia/Shanghai", "s")
    assert result.rows_rejected == 1 and "longer than 200" in result.rejections[0].reason


def test_money_in_another_currency_or_per_weight_is_refused_with_the_reason():
    from services.ingestion.cleaning import clean_money

    numbers, reasons = clean_money(pd.Series(["¥12.90", "$12.00", "12 USD", "HK$30", "12.5/斤", "30元/盒"]))
    assert numbers.iloc[0] == 12.9 and numbers.iloc[1:].isna().all()
    assert "another currency ($)" in reasons.iloc[1] and "USD" in reasons.iloc[2] and "HK$" in reasons.iloc[3]
    assert "per 斤" in reasons.iloc[4] and "per 盒" in reasons.iloc[5]


@pytest.fixture(autouse=True)
def _english():
    """These tests read the importer's messages in English."""
    from shared import i18n

    with i18n.use_language("en"):
        yield
