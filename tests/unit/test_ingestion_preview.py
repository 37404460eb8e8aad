"""The pure side of an import preview: which entity a header holds, how a plan shows its columns,
and a mapping that leaves columns out (services/ingestion/presets.py)."""

import pytest

from services.ingestion.presets import (
    ENTITY_FIELDS,
    SAMPLE_CHARS,
    guess_entities,
    mask,
    plan_columns,
)
from shared.problems import InvalidInput

TMALL_ORDERS = ["订单编号", "买家会员名", "买家支付宝账号", "总金额", "买家实际支付金额", "订单状态", "收货人姓名",
                "收货地址", "联系手机", "订单创建时间", "订单付款时间", "订单关闭原因", "是否手机订单"]
TMALL_ITEMS = ["订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "商家编码", "订单状态"]


@pytest.mark.parametrize(("header", "entity"), [
    (TMALL_ORDERS, "orders"), (TMALL_ITEMS, "order_items"),
    (["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
     "order_items"),
    (["item_id", "title", "category", "brand", "price", "cost", "status"], "products"),
    (["商品ID", "商品名称", "类目", "售价"], "products"),
    (["user_id", "province", "city", "gender", "age_band"], "customers"),
    (["用户ID", "商品ID", "行为类型", "时间"], "events"),
    (["评价时间", "宝贝ID", "评价内容", "评分", "买家昵称"], "reviews"),
    (["日期", "商品编码", "可用库存", "在途库存"], "inventory"),
    (["item_id", "competitor", "price", "observed_at"], "competitor_prices"),
    (["商品编号", "竞品店铺", "竞品价格", "采集时间"], "competitor_prices"),
    (["订单号", "下单时间", "买家", "实付金额"], "orders"),
])
def test_the_entity_a_header_holds_is_guessed_first(header, entity):
    guesses = guess_entities(header)
    assert guesses[0][0] == entity, guesses
    assert guesses[0][2] > guesses[1][2]
    assert all(0 <= score <= 1 for _, _, score in guesses)


def test_the_headerless_behaviour_log_is_events_only():
    guesses = guess_entities(["1", "2268318", "2520377", "pv", "1511544070"], headerless=True)
    assert [g[:2] for g in guesses[:1]] == [("events", "taobao_user_behavior")]
    assert {g[0] for g in guesses} == {"events"}


def test_a_header_of_nothing_known_scores_low_everywhere():
    assert max(score for _, _, score in guess_entities(["甲", "乙", "丙"])) < 0.1


def test_an_incomplete_plan_lists_what_is_missing_instead_of_refusing():
    with pytest.raises(InvalidInput):
        plan_columns("orders", "auto", ["单号", "金额"])
    plan = plan_columns("orders", "auto", ["单号", "金额"], complete=False)
    assert plan.missing == ["order_id", "created_at"]
    assert plan_columns("orders", "auto", ["订单编号", "创建时间"], complete=False).missing == []


def test_a_null_mapping_leaves_a_column_out_even_the_address():
    plan = plan_columns("orders", "tmall_orders", TMALL_ORDERS, {"总金额": None, "收货地址": None})
    assert "total_amount" not in plan.fields and plan.address_column is None
    assert "总金额" in plan.ignored and "收货地址" in plan.dropped_pii
    assert "总金额" not in plan.column_mapping


def test_a_null_mapping_of_a_required_column_makes_the_plan_incomplete():
    plan = plan_columns("orders", "tmall_orders", TMALL_ORDERS, {"订单编号": None}, complete=False)
    assert plan.missing == ["order_id"]


def test_columns_show_fields_roles_and_masked_personal_samples():
    plan = plan_columns("orders", "tmall_orders", TMALL_ORDERS)
    row = ["1001", "小红薯2024", "138****0000", "88.00", "88.00", "交易成功", "张三", "浙江省 杭州市 西湖区 文三路8号",
           "13800000000", "2024-11-11 00:01:02", "", "", "手机订单"]
    columns = {c["name"]: c for c in plan.columns([row, row])}
    assert [c["name"] for c in plan.columns([])] == TMALL_ORDERS
    assert columns["订单编号"] == {"name": "订单编号", "field": "order_id", "role": "field",
                                   "samples": ["1001", "1001"]}
    assert columns["买家会员名"]["role"] == "hashed" and columns["买家会员名"]["samples"][0] == "小******"
    assert columns["收货地址"]["role"] == "address" and "文三路" not in columns["收货地址"]["samples"][0]
    assert columns["联系手机"]["role"] == "personal" and columns["联系手机"]["samples"] == ["1******"] * 2
    assert columns["订单关闭原因"]["role"] == "close_reason"
    assert columns["买家支付宝账号"]["field"] is None


def test_long_values_are_cut_and_short_ones_still_masked():
    plan = plan_columns("products", "generic", ["item_id", "title", "phone"])
    columns = plan.columns([["1", "长" * 500, "12"]])
    assert len(columns[1]["samples"][0]) == SAMPLE_CHARS
    assert columns[2]["samples"] == ["1**"]
    assert mask("") == "" and mask(" a ") == "a**" and mask("x" * 50) == "x******"


def test_every_entity_can_be_planned_incomplete_from_an_empty_header():
    for entity, (required, _optional) in ENTITY_FIELDS.items():
        assert plan_columns(entity, "generic", [], complete=False).missing == list(required)
