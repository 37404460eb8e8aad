"""POST /v1/imports/preview through the gateway: what an import would do, shown before it runs.

The console shows this answer as its 检测结果 card; a user who edits the mapping there sends the
same ``mapping`` to POST /v1/imports, so the two must agree on every column.
"""

import json
import os

import openpyxl
import pytest
from sqlalchemy import func, select

from shared.db import session_scope
from shared.models import Job, Order
from tests.support.imports import TMALL_ORDERS_HEADER, csv_bytes, import_file, tmall_order_row, write

SHOP_LANGUAGE = "en"


@pytest.fixture(scope="module")
def demo_dir(demo_data):
    return demo_data.files(seed=5, scale=0.02)


def preview(client, headers, path, mapping=None, **query):
    form = {"file": (open(path, "rb"), path.name)}
    if mapping is not None:
        form["mapping"] = mapping if isinstance(mapping, str) else json.dumps(mapping, ensure_ascii=False)
    url = "/v1/imports/preview" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    reply = client.post(url, data=form, headers=headers, content_type="multipart/form-data")
    return reply.status_code, reply.get_json()


def _column(body, name):
    return next(c for c in body["columns"] if c["name"] == name)


@pytest.mark.parametrize(("name", "entity", "preset"), [
    ("订单报表.csv", "orders", "tmall_orders"), ("宝贝报表.csv", "order_items", "tmall_order_items"),
    ("user_behavior.csv", "events", "taobao_user_behavior"), ("products.csv", "products", "generic"),
    ("customers.csv", "customers", "generic"), ("reviews.csv", "reviews", "generic"),
    ("inventory.csv", "inventory", "generic"), ("competitor_prices.csv", "competitor_prices", "generic"),
])
def test_each_demo_export_is_recognised_without_naming_its_entity(client, shop, demo_dir, name, entity, preset):
    status, body = preview(client, shop.headers(), demo_dir / name)
    assert status == 200, body
    assert (body["entity"], body["preset"], body["entity_guessed"]) == (entity, preset, True), body["candidates"]
    assert body["ready"] is True and body["fields_missing"] == []
    assert body["rows_sampled"] == 5 and all(len(c["samples"]) == 5 for c in body["columns"])
    assert body["candidates"][0]["entity"] == entity


def test_the_gbk_order_report_shows_fields_and_masks_personal_data(client, shop, tmp_path):
    rows = [tmall_order_row(f'="10{i}"', f"小红薯{i}", "88.00") for i in range(8)]
    path = write(tmp_path / "订单报表.csv", csv_bytes(TMALL_ORDERS_HEADER, rows, encoding="gbk"))
    status, body = preview(client, shop.headers(), path)
    assert status == 200, body
    assert body["encoding"] == "gb18030" and body["format"] == "csv" and body["header"] is True
    assert _column(body, "订单编号")["field"] == "order_id" and _column(body, "订单编号")["samples"][0] == '="100"'
    buyer = _column(body, "买家会员名")
    assert buyer["role"] == "hashed" and buyer["field"] == "user_id"
    assert all(s.startswith("小") and "红薯" not in s for s in buyer["samples"])
    for personal in ("联系手机", "收货人姓名", "买家留言"):
        column = _column(body, personal)
        assert column["role"] == "personal" and column["field"] is None
        assert not any("138000" in s or "张三" in s or "尽快" in s for s in column["samples"])
    address = _column(body, "收货地址")
    assert address["role"] == "address" and "文三路" not in "".join(address["samples"])
    assert _column(body, "订单关闭原因")["role"] == "close_reason"
    assert _column(body, "店铺名称")["role"] == "ignored"
    assert "138" not in json.dumps([c["samples"] for c in body["columns"] if c["role"] != "field"])


def test_a_file_missing_a_required_column_is_shown_not_refused(client, shop, tmp_path):
    path = write(tmp_path / "orders.csv", csv_bytes(["单号", "买家", "金额"], [["1", "a", "9.9"]]))
    status, body = preview(client, shop.headers(), path, entity="orders")
    assert status == 200, body
    assert body["entity_guessed"] is False and body["ready"] is False
    assert body["fields_missing"] == ["order_id", "created_at"]
    assert _column(body, "单号")["field"] is None and _column(body, "单号")["role"] == "ignored"
    # The import itself still refuses it, naming the same fields.
    status, problem = import_file(client, shop.headers(), path, "orders")
    assert status == 422 and set(problem["errors"]) == {"order_id", "created_at"}


def test_a_mapping_fixes_the_plan_and_the_import_follows_it(client, shop, settings, tmp_path):
    path = write(tmp_path / "orders.csv", csv_bytes(["单号", "下单", "备用编号", "金额"], [
        ["A1", "2024-11-11 10:00:00", "X1", "19.90"], ["A2", "2024-11-12 11:00:00", "X2", "29.90"]]))
    mapping = {"单号": "order_id", "下单": "created_at", "金额": "paid_amount", "备用编号": None}
    status, body = preview(client, shop.headers(), path, mapping, entity="orders")
    assert status == 200 and body["ready"] is True, body
    assert {c["name"]: c["field"] for c in body["columns"]} == {"单号": "order_id", "下单": "created_at",
                                                                 "备用编号": None, "金额": "paid_amount"}
    status, job = import_file(client, shop.headers(), path, "orders", mapping=json.dumps(mapping, ensure_ascii=False))
    result = job["job"]["result"]
    assert status == 200 and result["rows_loaded"] == 2, job
    assert result["column_mapping"] == {"单号": "order_id", "下单": "created_at", "金额": "paid_amount"}
    assert "备用编号" in result["columns_ignored"]
    with session_scope(shop.id, settings.database_url) as s:
        assert sorted(s.scalars(select(Order.order_id))) == ["A1", "A2"]


def test_null_takes_a_column_the_preset_would_read_out(client, shop, tmp_path):
    path = write(tmp_path / "items.csv", csv_bytes(["item_id", "title", "price"], [["1", "连衣裙", "99"]]))
    status, body = preview(client, shop.headers(), path, {"price": None})
    assert status == 200 and body["entity"] == "products"
    assert _column(body, "price")["field"] is None and _column(body, "title")["field"] == "title"
    status, body = preview(client, shop.headers(), path, {"item_id": None}, entity="products")
    assert body["ready"] is False and body["fields_missing"] == ["item_id"]


def test_an_xlsx_preview_reads_the_named_sheet(client, shop, tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["这一页不是数据"])
    sheet = workbook.create_sheet("库存")
    sheet.append(["商品编号", "日期", "库存"])
    sheet.append(["A1", "2024-11-11", 5])
    path = tmp_path / "stock.xlsx"
    workbook.save(path)
    status, body = preview(client, shop.headers(), path, sheet="库存")
    assert status == 200, body
    assert (body["format"], body["entity"], body["ready"]) == ("xlsx", "inventory", True)
    assert _column(body, "库存")["samples"] == ["5"]
    status, problem = preview(client, shop.headers(), path, sheet="没有这页")
    assert status == 422 and "sheet" in problem["detail"].lower()


@pytest.mark.parametrize(("mapping", "where"), [
    ("not json", "mapping"), ('["a"]', "mapping"), ({"没有这列": "order_id"}, "没有这列"),
    ({"单号": "no_such_field"}, "单号"), ({"联系电话": "order_id"}, "联系电话"),
])
def test_a_bad_mapping_is_a_422_naming_what_to_fix(client, shop, tmp_path, mapping, where):
    path = write(tmp_path / "orders.csv", csv_bytes(["单号", "联系电话"], [["1", "13800000000"]]))
    status, problem = preview(client, shop.headers(), path, mapping, entity="orders")
    assert status == 422 and where in problem["errors"], problem
    assert problem["type"] and problem["title"]


def test_refusals_are_problems_and_nothing_is_kept(client, shop, settings, tmp_path):
    uploads_before = set(os.listdir(settings.upload_dir)) if settings.upload_dir.exists() else set()
    empty = write(tmp_path / "empty.csv", b"")
    assert preview(client, shop.headers(), empty)[0] == 422
    binary = write(tmp_path / "blob.csv", bytes(range(256)) * 40)
    assert preview(client, shop.headers(), binary)[0] == 422
    status, problem = preview(client, shop.headers(), empty, entity="nothing")
    assert status == 422 and "entity" in problem["errors"]
    reply = client.post("/v1/imports/preview", data={}, headers=shop.headers(), content_type="multipart/form-data")
    assert reply.status_code == 422 and "file" in reply.get_json()["errors"]
    good = write(tmp_path / "p.csv", csv_bytes(["item_id", "title"], [["1", "a"]]))
    assert preview(client, shop.headers(), good)[0] == 200
    assert set(os.listdir(settings.upload_dir)) <= uploads_before  # every preview's upload is gone
    with session_scope(shop.id, settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0  # a preview queues nothing


def test_only_admins_preview(client, shop, tmp_path):
    path = write(tmp_path / "p.csv", csv_bytes(["item_id", "title"], [["1", "a"]]))
    assert preview(client, shop.headers("analyst"), path)[0] == 403
    assert preview(client, {}, path)[0] == 401
