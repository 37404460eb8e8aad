"""Imports through the gateway: real export shapes in, canonical rows out, nothing half-written."""

import json
import os
import time

import openpyxl
import pytest
from sqlalchemy import func, select

from shared.db import session_scope
from shared.models import Event, ImportRejection, Order, OrderItem, Product
from shared.privacy import pseudonymise
from tests.support import public_data
from tests.support.imports import TMALL_ORDERS_HEADER, csv_bytes, import_file, tmall_order_row, write

SHOP_LANGUAGE = "en"  # these tests read the API's messages in English

DATA = public_data.PUBLIC_DATA


def _count(settings, shop, model):
    with session_scope(shop.id, settings.database_url) as s:
        return s.scalar(select(func.count()).select_from(model))


def _ok(status, body):
    assert status == 200, body
    job = body["job"]
    assert job["status"] == "succeeded", job
    return job["result"]


@pytest.fixture(scope="module")
def demo_dir(demo_data):
    return demo_data.files(seed=3, scale=0.05)


def test_the_demo_shop_imports_and_reimports_as_duplicates(client, shop, settings, demo_dir):
    files = [("products", "products.csv"), ("customers", "customers.csv"), ("orders", "订单报表.csv"),
             ("order_items", "宝贝报表.csv"), ("events", "user_behavior.csv"), ("reviews", "reviews.csv"),
             ("inventory", "inventory.csv"), ("competitor_prices", "competitor_prices.csv")]
    first = {}
    for entity, name in files:
        result = _ok(*import_file(client, shop.headers(), demo_dir / name, entity))
        assert result["rows_rejected"] == 0, (entity, result["rejections"][:3])
        assert result["rows_loaded"] == result["rows_total"] > 0, entity
        first[entity] = result
    assert first["orders"]["preset"] == "tmall_orders" and first["orders"]["encoding"] == "gb18030"
    assert first["order_items"]["preset"] == "tmall_order_items"
    assert first["events"]["preset"] == "taobao_user_behavior"
    assert first["order_items"]["referential"]["order_items_without_order"] == 0
    again = _ok(*import_file(client, shop.headers(), demo_dir / "订单报表.csv", "orders"))
    assert again["rows_loaded"] == again["rows_updated"] == 0
    assert again["rows_duplicate"] == again["rows_total"] and "nothing changed" in again["note"]
    assert _count(settings, shop, Order) == first["orders"]["rows_total"]


def test_personal_data_is_never_stored_and_nicknames_are_hashed(client, shop, settings, tmp_path):
    path = write(tmp_path / "orders.csv", csv_bytes(TMALL_ORDERS_HEADER, [tmall_order_row('="1001"', "小红薯2024",
                                                                                          "￥1,299.00")], "gbk"))
    result = _ok(*import_file(client, shop.headers(), path, "orders"))
    assert {"收货人姓名", "联系手机", "买家支付宝账号", "买家留言"} <= set(result["columns_dropped_pii"])
    assert result["columns_hashed"] == ["买家会员名"]
    with session_scope(shop.id, settings.database_url) as s:
        order = s.get(Order, (shop.id, "1001"))
        stored = json.dumps([str(getattr(order, c.name)) for c in Order.__table__.columns], ensure_ascii=False)
    assert order.province == "浙江省" and order.city == "杭州市" and float(order.paid_amount) == 1299.0
    assert order.channel == "mobile" and order.status == "completed"
    assert order.created_at.isoformat() == "2024-11-10T16:01:02+00:00"
    for secret in ("小红薯", "张三", "13800000000", "文三路", "138****"):
        assert secret not in stored
    with session_scope(shop.id, settings.database_url) as s:
        salt = s.get(__import__("shared.models", fromlist=["Shop"]).Shop, shop.id).user_id_salt
    assert order.user_id == pseudonymise(salt, "小红薯2024")


def test_strict_mode_writes_nothing_and_lenient_keeps_the_good_rows(client, shop, settings, tmp_path):
    rows = [tmall_order_row(f'="{2000 + i}"', f"nick{i}", "10.00") for i in range(5)]
    rows[2][TMALL_ORDERS_HEADER.index("订单编号")] = "2.389E+15"
    rows[4][TMALL_ORDERS_HEADER.index("订单创建时间")] = "next tuesday"
    path = write(tmp_path / "orders.csv", csv_bytes(TMALL_ORDERS_HEADER, rows, "gbk"))
    status, body = import_file(client, shop.headers(), path, "orders", mode="strict")
    job = body["job"]
    assert job["status"] == "failed" and job["error"]["status"] == 422
    assert "nothing was written" in job["error"]["detail"] and _count(settings, shop, Order) == 0
    assert job["error"]["errors"]["row 4"] == ["订单编号: the id was turned into scientific notation (e.g. by Excel), "
                                               "so its digits are lost; export the column as text"]
    result = _ok(*import_file(client, shop.headers(), path, "orders", mode="lenient"))
    assert (result["rows_total"], result["rows_loaded"], result["rows_rejected"]) == (5, 3, 2)
    assert [(r["row"], r["column"]) for r in result["rejections"]] == [(4, "订单编号"), (6, "订单创建时间")]
    assert _count(settings, shop, Order) == 3
    report = client.get(result["report_url"], headers=shop.headers("analyst"))
    assert report.status_code == 200 and report.content_type.startswith("text/csv")
    lines = report.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,value,reason" and lines[1].startswith("4,订单编号,2.389E+15,")


def test_report_and_stored_text_are_safe_from_formula_injection(client, shop, settings, tmp_path):
    evil = '=cmd|" /C calc"!A0'
    path = write(tmp_path / "products.csv", csv_bytes(["item_id", "title", "price"],
                                                      [["1", evil, "10"], ["2", "ok", "=1+1"]]))
    result = _ok(*import_file(client, shop.headers(), path, "products"))
    with session_scope(shop.id, settings.database_url) as s:
        assert s.get(Product, (shop.id, "1")).title == evil  # stored as the text it is
    report = client.get(result["report_url"], headers=shop.headers()).data.decode("utf-8-sig")
    assert "\n3,price,'=1+1," in report  # escaped so a spreadsheet shows it, never runs it


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_encodings_and_gzip(client, shop, settings, tmp_path, encoding, gzipped):
    data = csv_bytes(["商品ID", "标题", "类目", "价格"], [["9001", "羊毛针织衫女 秋冬", "女装", "￥299.00"]], encoding)
    path = write(tmp_path / "p.csv.gz", data, gzipped=gzipped)
    result = _ok(*import_file(client, shop.headers(), path, "products"))
    assert result["rows_loaded"] == 1
    with session_scope(shop.id, settings.database_url) as s:
        product = s.get(Product, (shop.id, "9001"))
    assert product.title == "羊毛针织衫女 秋冬" and product.category == "女装" and float(product.price) == 299


def test_xlsx_named_sheet_and_json_lines(client, shop, settings, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    sheet = book.create_sheet("库存")
    sheet.append(["item_id", "date", "on_hand", "lead_time_days"])
    sheet.append(["A1", "2024-11-01", 5, 7])
    book.save(tmp_path / "stock.xlsx")
    result = _ok(*import_file(client, shop.headers(), tmp_path / "stock.xlsx", "inventory", sheet="库存"))
    assert result["format"] == "xlsx" and result["rows_loaded"] == 1
    lines = [{"user_id": "u1", "item_id": "i1", "type": "pv", "ts": 1511544070},
             {"user_id": "u1", "item_id": "i1", "type": "cart", "ts": "2017-11-25 01:21:10"}]
    path = write(tmp_path / "events.jsonl", "\n".join(json.dumps(x) for x in lines).encode())
    result = _ok(*import_file(client, shop.headers(), path, "events"))
    assert result["format"] == "jsonl" and result["rows_loaded"] == 2


def test_repeated_headers_duplicates_and_ragged_rows(client, shop, settings, tmp_path):
    header = ["order_id", "item_id", "quantity", "unit_price"]
    rows = [["1", "A", "1", "10"], header, ["2", "B", "1", "5"], ["2", "B", "1", "5"], ["3", "C", "1", "5", "x"],
            ["9", "Z", "1", "7"]]
    path = write(tmp_path / "lines.csv", csv_bytes(header, rows))
    result = _ok(*import_file(client, shop.headers(), path, "order_items"))
    assert result["header_rows_skipped"] == 1
    counts = [result[k] for k in ("rows_total", "rows_loaded", "rows_duplicate", "rows_rejected")]
    assert counts == [5, 3, 1, 1]
    assert result["rejections"][0]["row"] == 6 and "5 fields" in result["rejections"][0]["reason"]
    assert result["referential"]["order_items_without_order"] == 3  # kept, flagged
    assert _count(settings, shop, OrderItem) == 3


def test_updates_are_counted_as_updates(client, shop, settings, tmp_path):
    header = ["item_id", "title", "price"]
    first = write(tmp_path / "a.csv", csv_bytes(header, [["1", "a", "10"], ["2", "b", "20"]]))
    _ok(*import_file(client, shop.headers(), first, "products"))
    result = _ok(*import_file(client, shop.headers(), write(tmp_path / "b.csv", csv_bytes(header, [
        ["1", "a", "12"], ["2", "b", "20"], ["3", "c", "30"]])), "products"))
    assert (result["rows_loaded"], result["rows_updated"], result["rows_duplicate"]) == (1, 1, 1)


def test_quality_report(client, shop, tmp_path):
    header = ["order_id", "item_id", "quantity", "unit_price"]
    rows = [[str(i), "A", "1", "10"] for i in range(20)] + [["99", "A", "-2", "5000"]]
    path = write(tmp_path / "q.csv", csv_bytes(header, rows))
    result = _ok(*import_file(client, shop.headers(), path, "order_items"))
    quality = result["quality"]
    assert quality["rows"] == 21 and quality["fields"]["quantity"]["min"] == -2
    assert quality["fields"]["item_id"]["distinct"] == 1 and quality["fields"]["sku"]["distinct"] == 1
    assert quality["outliers"] == {"negative_quantity": 1, "price_over_100x_item_median": 1}


BAD_FILES = [
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"   \n\n", "empty"),
    ("garbage.csv", bytes(range(256)) * 40, "not a text file"),
    ("fake.xlsx", b"PK\x03\x04" + b"\x00" * 26 + b"not really a zip", "zip"),
]


@pytest.mark.parametrize("name,content,message", BAD_FILES)
def test_unreadable_files_are_refused_before_queuing(client, shop, settings, tmp_path, name, content, message):
    status, body = import_file(client, shop.headers(), write(tmp_path / name, content), "products")
    assert status == 422 and message in body["detail"].lower(), body
    assert list(settings.upload_dir.glob("*.upload")) == []  # the refused upload is not kept


def test_a_gzip_bomb_is_413(client, shop, tmp_path):
    from dataclasses import replace

    from services.runtime.allinone import create_app
    from tests.conftest import make_shop

    small = create_app(replace(client.application.config["SETTINGS"], max_import_bytes=1_000_000)).test_client()
    owner = make_shop(small, language="en")
    path = write(tmp_path / "bomb.csv.gz", b"item_id\n" + b"0" * 20_000_000, gzipped=True)
    status, body = import_file(small, owner.headers(), path, "products")
    assert status == 413 and "decompressed" in body["detail"]


def test_header_only_is_an_empty_successful_import(client, shop, tmp_path):
    result = _ok(*import_file(client, shop.headers(), write(tmp_path / "h.csv", b"item_id,title\n"), "products"))
    assert result["rows_total"] == 0 and result["rows_loaded"] == 0


def test_wrong_encoding_declared(client, shop, tmp_path):
    path = write(tmp_path / "g.csv", csv_bytes(["商品ID", "标题"], [["1", "毛衣"]], "gbk"))
    status, body = import_file(client, shop.headers(), path, "products", encoding="utf-8")
    assert status == 422 and "gb18030" in body["detail"]


def test_columns_that_fit_no_preset_list_what_was_seen(client, shop, tmp_path):
    status, body = import_file(client, shop.headers(), write(tmp_path / "x.csv", b"foo,bar\n1,2\n"), "orders")
    assert status == 422 and body["columns_seen"] == ["foo", "bar"]
    assert body["fields_required"] == ["order_id", "created_at"]


def test_mappings(client, shop, settings, tmp_path):
    path = write(tmp_path / "m.csv", csv_bytes(["单号", "下单", "金额"], [["77", "2024-06-18 20:00:00", "88"]]))
    status, body = import_file(client, shop.headers(), path, "orders", mapping='{"不存在": "order_id"}')
    assert status == 422 and "不存在" in body["errors"]
    status, body = import_file(client, shop.headers(), path, "orders", mapping="{not json")
    assert status == 422 and "mapping" in body["errors"]
    result = _ok(*import_file(client, shop.headers(), path, "orders",
                              mapping='{"单号": "order_id", "下单": "created_at", "金额": "paid_amount"}'))
    assert result["column_mapping"] == {"单号": "order_id", "下单": "created_at", "金额": "paid_amount"}


def test_a_huge_line_fails_the_import_naming_the_line_and_the_limit(client, shop, settings, tmp_path):
    path = write(tmp_path / "big.csv", b"item_id,title\n1,ok\n2," + b"x" * 10_500_000 + b"\n")
    status, body = import_file(client, shop.headers(), path, "products")
    error = body["job"]["error"] if "job" in body else body
    assert error["status"] == 422 and "line 3 " in error["detail"] and "1,048,576" in error["detail"]
    assert error["row"] == 3 and _count(settings, shop, Product) == 0


def test_bad_query_arguments(client, shop, tmp_path):
    path = write(tmp_path / "p.csv", b"item_id\n1\n")
    assert import_file(client, shop.headers(), path, "planets")[0] == 422
    assert import_file(client, shop.headers(), path, "products", mode="sloppy")[0] == 422
    reply = client.post("/v1/imports?entity=products", headers=shop.headers())
    assert reply.status_code == 422 and "file" in reply.get_json()["errors"]
    assert import_file(client, shop.headers("analyst"), path, "products")[0] == 403


def test_a_database_outage_during_an_import_is_retried(client, shop, settings, tmp_path, monkeypatch):
    """The job fails with a transient error, is retried, and the retry loads the file."""
    from sqlalchemy.exc import OperationalError

    from services.ingestion import loader
    from shared import jobs

    calls = {"n": 0}
    real_apply = loader.StagingLoader.apply

    def flaky_apply(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real_apply(self)

    monkeypatch.setattr(loader.StagingLoader, "apply", flaky_apply)
    path = write(tmp_path / "p.csv", b"item_id,title\n1,a\n2,b\n")
    upload = settings.upload_dir / "outage.upload"
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(path.read_bytes())
    with session_scope(shop.id, settings.database_url) as s:
        job = jobs.Job(shop_id=shop.id, kind="ingestion.import", status="queued", progress=0, attempts=0,
                       params={"upload": upload.name, "entity": "products", "preset": "auto", "mode": "strict"})
        s.add(job)
    jobs.run_here("ingestion.import", job.id, settings)  # in this process, so the patch applies
    finished = client.get(f"/v1/jobs/{job.id}", headers=shop.headers()).get_json()
    assert calls["n"] == 2 and finished["status"] == "succeeded" and finished["result"]["rows_loaded"] == 2
    assert not upload.exists()


def test_events_endpoint_for_front_ends(client, shop, settings):
    body = {"events": [{"user_id": "小红薯2024", "item_id": "9001", "type": "pv"},
                       {"user_id": "小红薯2024", "item_id": "9001", "type": "cart", "ts": int(time.time()) - 60}]}
    reply = client.post("/v1/events", json=body, headers=shop.headers("client"))
    assert reply.status_code == 202 and reply.get_json() == {"accepted": 2, "duplicates": 0}
    again = client.post("/v1/events", json={"events": body["events"][1:]}, headers=shop.headers("client"))
    assert again.get_json() == {"accepted": 1, "duplicates": 1}
    with session_scope(shop.id, settings.database_url) as s:
        users = set(s.scalars(select(Event.user_id)))
    assert len(users) == 1 and "小红薯" not in users.pop()
    bad = client.post("/v1/events", json={"events": [{"user_id": "u", "item_id": "i", "type": "like"}]},
                      headers=shop.headers("client"))
    assert bad.status_code == 422
    too_many = client.post("/v1/events", json={"events": [{"user_id": "u", "item_id": "i", "type": "pv"}] * 1001},
                           headers=shop.headers("client"))
    assert too_many.status_code == 422
    old = {"events": [{"user_id": "u", "item_id": "i", "type": "pv", "ts": "1995-01-01 00:00:00"}]}
    ancient = client.post("/v1/events", json=old, headers=shop.headers("client"))
    assert ancient.status_code == 422 and "live window" in str(ancient.get_json()["errors"])
    bad_time = client.post("/v1/events", json={"events": [{"user_id": "u", "item_id": "i", "type": "pv",
                                                           "ts": "someday"}]}, headers=shop.headers("client"))
    assert bad_time.status_code == 422 and "events.0.ts" in bad_time.get_json()["errors"]


@public_data.needs("taobao_userbehavior")
def test_real_taobao_user_behavior_log(client, shop, settings):
    result = _ok(*import_file(client, shop.headers(), DATA / "taobao_userbehavior" / "userbehavior_head_users.csv",
                              "events", wait=120))
    assert result["preset"] == "taobao_user_behavior" and result["rows_total"] == 84_475
    assert result["rows_rejected"] == 0
    assert result["rows_loaded"] + result["rows_duplicate"] == 84_475
    assert result["quality"]["fields"]["user_id"]["distinct"] == 815
    assert _count(settings, shop, Event) == result["rows_loaded"]


@public_data.needs("uci_online_retail")
def test_real_uci_online_retail_sample_as_order_lines(client, shop, tmp_path):
    import gzip

    with gzip.open(DATA / "uci_online_retail" / "online_retail.csv.gz", "rt", encoding="utf-8") as source:
        head = [next(source) for _ in range(20_001)]
    path = write(tmp_path / "retail.csv", "".join(head).encode())
    result = _ok(*import_file(client, shop.headers(), path, "order_items", wait=120))
    assert result["column_mapping"]["InvoiceNo"] == "order_id" and result["column_mapping"]["StockCode"] == "item_id"
    assert result["rows_total"] == 20_000
    assert result["rows_loaded"] + result["rows_duplicate"] + result["rows_rejected"] == 20_000
    assert result["quality"]["outliers"]["negative_quantity"] > 0
    assert os.path.basename(result["filename"]) == "retail.csv"
    _ = ImportRejection
