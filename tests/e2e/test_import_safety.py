"""Imports that must not lose data or leave anything behind: partial re-imports, refusals, job
params, odd encodings and time zones, workbook formulas, very wide files (through the gateway)."""

import io
import json
import re
import zipfile
from dataclasses import replace

import openpyxl
import pytest
from sqlalchemy import select

import shared.models as m
from shared.db import session_scope
from tests.support.imports import csv_bytes, import_file, write

SHOP_LANGUAGE = "en"


def _ok(status, body):
    assert status == 200, body
    assert body["job"]["status"] == "succeeded", body["job"]
    return body["job"]["result"]


def _stored(settings, shop, model) -> dict:
    """The shop's only row of ``model``, column by column."""
    with session_scope(shop.id, settings.database_url) as s:
        rows = s.scalars(select(model)).all()
        assert len(rows) == 1, rows
        return {c.name: getattr(rows[0], c.name) for c in model.__table__.columns}


# entity, model, full file (header, row), partial file (header, row): the partial one lacks
# columns; what it has may change. competitor_prices is not here: every one of its fields is
# required (item, competitor, time, price), so no file of it can leave one out.
PARTIAL = [
    ("products", m.Product,
     (["item_id", "title", "category", "brand", "price", "cost", "status", "created_at", "attributes"],
      ["P1", "羊毛衫", "女装", "暖洋洋", "299", "120", "on_sale", "2024-01-02 10:00:00", '{"颜色": "红"}']),
     (["item_id", "title"], ["P1", "羊毛衫 2025 新款"])),
    ("customers", m.Customer,
     (["user_id", "province", "city", "gender", "age_band", "registered_at"],
      ["buyer1", "浙江省", "杭州市", "女", "25-34", "2023-05-06 07:08:09"]),
     (["user_id", "city"], ["buyer1", "宁波市"])),
    ("orders", m.Order,
     (["order_id", "created_at", "user_id", "paid_at", "status", "total_amount", "paid_amount", "shipping_fee",
       "discount", "channel", "province", "city"],
      ["O1", "2024-11-11 00:01:02", "buyer1", "2024-11-11 00:02:00", "买家已付款", "310", "299", "10", "11",
       "mobile", "浙江省", "杭州市"]),
     (["order_id", "created_at", "status"], ["O1", "2024-11-11 00:01:02", "交易成功"])),
    ("order_items", m.OrderItem,
     (["order_id", "item_id", "quantity", "unit_price", "paid_amount", "status"],
      ["O1", "P1", "1", "299", "289", "交易成功"]),
     (["order_id", "item_id", "quantity", "unit_price"], ["O1", "P1", "2", "299"])),
    ("events", m.Event,
     (["user_id", "item_id", "type", "ts", "category_id"], ["buyer1", "P1", "cart", "2024-11-11 00:01:02", "C9"]),
     (["user_id", "item_id", "type", "ts"], ["buyer1", "P1", "cart", "2024-11-11 00:01:02"])),
    ("reviews", m.Review,
     (["review_id", "item_id", "text", "user_id", "rating", "created_at"],
      ["R1", "P1", "质量不错", "buyer1", "5", "2024-11-20 12:00:00"]),
     (["review_id", "item_id", "text"], ["R1", "P1", "质量不错，物流也快"])),
    ("inventory", m.Inventory,
     (["item_id", "date", "on_hand", "on_order", "lead_time_days"], ["P1", "2024-11-01", "50", "20", "7"]),
     (["item_id", "date", "on_hand"], ["P1", "2024-11-01", "45"])),
]


@pytest.mark.parametrize("entity,model,full,partial", PARTIAL, ids=[case[0] for case in PARTIAL])
def test_a_partial_reimport_changes_only_the_columns_the_file_has(client, shop, settings, tmp_path, entity,
                                                                   model, full, partial):
    _ok(*import_file(client, shop.headers(), write(tmp_path / "full.csv", csv_bytes(*[full[0]], [full[1]])),
                     entity, mode="strict"))
    before = _stored(settings, shop, model)
    assert all(value is not None for value in before.values()), before  # every field was loaded

    _ok(*import_file(client, shop.headers(), write(tmp_path / "part.csv", csv_bytes(partial[0], [partial[1]])),
                     entity, mode="strict"))
    after = _stored(settings, shop, model)

    kept = {c for c in before if c not in partial[0]}
    assert {c: after[c] for c in kept} == {c: before[c] for c in kept}
    changed = {c for c in partial[0] if after[c] != before[c]}
    if entity != "events":  # an event has nothing but its key and one optional field
        assert changed, "the partial file's own change was not written"


def test_empty_cells_keep_the_stored_value_unless_the_import_asks_to_clear_them(client, shop, settings, tmp_path):
    header = ["item_id", "title", "brand", "price"]
    _ok(*import_file(client, shop.headers(), write(tmp_path / "a.csv", csv_bytes(header, [["P1", "围巾", "暖", "99"]])),
                     "products"))
    blanks = write(tmp_path / "b.csv", csv_bytes(header, [["P1", "新围巾", "", ""]]))

    kept = _ok(*import_file(client, shop.headers(), blanks, "products"))
    row = _stored(settings, shop, m.Product)
    assert (row["title"], row["brand"], float(row["price"])) == ("新围巾", "暖", 99.0)
    assert kept["rows_updated"] == 1

    again = _ok(*import_file(client, shop.headers(), blanks, "products"))
    assert again["rows_duplicate"] == 1  # nothing it would write differs from what is stored

    cleared = _ok(*import_file(client, shop.headers(), blanks, "products", empty_cells="clear"))
    row = _stored(settings, shop, m.Product)
    assert (row["title"], row["brand"], row["price"], row["category"]) == ("新围巾", None, None, None)
    assert cleared["rows_updated"] == 1
    status, body = import_file(client, shop.headers(), blanks, "products", empty_cells="wipe")
    assert status == 422 and "empty_cells" in body["errors"]


def _post(client, shop, query: str, form: dict):
    return client.post(f"/v1/imports?{query}", data=form, headers=shop.headers(), content_type="multipart/form-data")


def _file(data: bytes = b"item_id,title\n1,a\n", name: str = "p.csv"):
    return (io.BytesIO(data), name)


REFUSALS = {
    "mapping not JSON": lambda c, s: _post(c, s, "entity=products", {"file": _file(), "mapping": "{nope"}),
    "mapping not an object": lambda c, s: _post(c, s, "entity=products", {"file": _file(), "mapping": "[1]"}),
    "mapping names no column": lambda c, s: _post(c, s, "entity=products",
                                                  {"file": _file(), "mapping": '{"nope": "title"}'}),
    "mapping too large": lambda c, s: _post(c, s, "entity=products", {
        "file": _file(), "mapping": json.dumps({f"c{i}": "title" for i in range(1001)})}),
    "file under another name": lambda c, s: _post(c, s, "entity=products", {"upload": _file()}),
    "a second file beside a bad mapping": lambda c, s: _post(c, s, "entity=products", {
        "file": _file(), "other": _file(name="o.csv"), "mapping": "{nope"}),
    "encoding idna": lambda c, s: _post(c, s, "entity=products&encoding=idna", {"file": _file()}),
    "encoding utf-16 without a BOM": lambda c, s: _post(c, s, "entity=products&encoding=utf-16", {
        "file": _file("item_id\n1\n".encode("utf-16-le"))}),
    "timezone of 3,000 characters": lambda c, s: _post(c, s, "entity=products&timezone=" + "A" * 3000,
                                                       {"file": _file()}),
    "unknown entity": lambda c, s: _post(c, s, "entity=planets", {"file": _file()}),
    "columns fit nothing": lambda c, s: _post(c, s, "entity=orders", {"file": _file(b"foo,bar\n1,2\n")}),
    "binary file": lambda c, s: _post(c, s, "entity=products", {"file": _file(bytes(range(256)) * 40)}),
    "too many columns": lambda c, s: _post(c, s, "entity=products", {
        "file": _file(("item_id," + ",".join(f"c{i}" for i in range(1000)) + "\n1\n").encode())}),
    "malformed multipart": lambda c, s: c.post(
        "/v1/imports?entity=products", headers={**s.headers(), "Content-Type": "multipart/form-data; boundary=B"},
        data=b'--B\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n\r\nitem_id\n1\n' * 3),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_every_refusal_is_a_problem_and_leaves_no_upload_behind(client, shop, settings, case):
    reply = REFUSALS[case](client, shop)
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.data[:300])
    assert reply.mimetype == "application/problem+json" and reply.get_json()["detail"]
    assert list(settings.upload_dir.glob("*")) == []


def test_a_file_over_the_import_size_limit_is_413_and_deleted(client, settings, tmp_path):
    from services.runtime.allinone import create_app
    from tests.conftest import make_shop

    small = create_app(replace(settings, max_import_bytes=1_000)).test_client()
    owner = make_shop(small, language="en")
    status, body = import_file(small, owner.headers(), write(tmp_path / "p.csv", b"item_id\n" + b"1\n" * 600),
                               "products")
    assert status == 413 and "SHOPMIND_MAX_IMPORT_BYTES" in body["detail"], body
    assert list(settings.upload_dir.glob("*")) == []


def test_an_encoding_with_a_nul_is_refused_before_anything_reads_it(client, shop, tmp_path):
    status, body = import_file(client, shop.headers(), write(tmp_path / "p.csv", b"item_id\n1\n"), "products",
                               encoding="utf-8%00")
    assert status == 400 and "NUL" in body["detail"], body


@pytest.mark.parametrize("encoding", ["idna", "punycode", "utf-32", "rot13", "no-such"])
def test_unusable_encodings_are_a_422_naming_the_field(client, shop, tmp_path, encoding):
    status, body = import_file(client, shop.headers(), write(tmp_path / "p.csv", b"item_id\n1\n"), "products",
                               encoding=encoding)
    assert status == 422 and "encoding" in body["errors"], body


@pytest.mark.parametrize("timezone", ["A" * 3000, "Asia", "Mars/Olympus", "../../etc/passwd"])
def test_unusable_timezones_are_a_422_naming_the_field(client, shop, tmp_path, timezone):
    status, body = import_file(client, shop.headers(), write(tmp_path / "p.csv", b"item_id\n1\n"), "products",
                               timezone=timezone)
    assert status == 422 and list(body["errors"]) == ["timezone"], body
    assert len(json.dumps(body)) < 2000  # the reply does not echo 3,000 characters back


def test_job_params_show_no_server_path_and_a_clean_file_name(client, shop, settings, tmp_path):
    reply = _post(client, shop, "entity=products&wait=60",
                  {"file": _file(name="../../home/张三/导出/商品\x07表.csv")})
    job = reply.get_json()["job"]
    assert job["status"] == "succeeded" and job["params"]["filename"] == "商品表.csv"
    one = client.get(f"/v1/jobs/{job['id']}", headers=shop.headers()).get_data(as_text=True)
    every = client.get("/v1/jobs?kind=ingestion.import", headers=shop.headers()).get_data(as_text=True)
    for text in (one, every):
        assert job["id"] in text
        for secret in (str(settings.upload_dir), str(settings.data_dir), '"path"'):
            assert secret not in text
    assert re.fullmatch(r"[\w.-]+", json.loads(one)["params"]["upload"])


def _workbook(tmp_path, cached: dict[str, str]) -> bytes:
    """A workbook as openpyxl writes it (formulas, no computed values), with ``cached`` values
    (cell -> value) written in as Excel would have saved them."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["item_id", "title", "price", "note"])
    sheet.append(["A", "围巾", "=10*2", "ok"])  # no computed value: rejected
    sheet.append(["B", "手套", "=10*3", "ok"])  # computed value 30 added below: loaded
    sheet.append(["C", "帽子", 15, "=1+1"])  # a formula in a column the import does not read: loaded
    path = tmp_path / "f.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    xml = members["xl/worksheets/sheet1.xml"].decode()
    for cell, value in cached.items():
        xml = re.sub(rf'(<c r="{cell}"[^>]*><f>[^<]*</f>)<v ?/>', rf"\1<v>{value}</v>", xml)
    members["xl/worksheets/sheet1.xml"] = xml.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    return out.getvalue()


def test_xlsx_formulas_load_their_computed_value_and_without_one_the_row_is_rejected(client, shop, settings,
                                                                                   tmp_path):
    path = write(tmp_path / "prices.xlsx", _workbook(tmp_path, {"C3": "30"}))
    result = _ok(*import_file(client, shop.headers(), path, "products"))
    assert (result["rows_total"], result["rows_loaded"], result["rows_rejected"]) == (3, 2, 1)
    rejection = result["rejections"][0]
    assert (rejection["row"], rejection["column"]) == (2, "price")
    assert "formula without a computed value (=10*2)" in rejection["reason"]
    with session_scope(shop.id, settings.database_url) as s:
        prices = dict(s.execute(select(m.Product.item_id, m.Product.price)).all())
    assert {k: float(v) for k, v in prices.items()} == {"B": 30.0, "C": 15.0}


def test_a_wide_file_lists_some_ignored_columns_and_counts_the_rest(client, shop, tmp_path):
    header = ["item_id", "title", *(f"extra column {i} " + "x" * 200 for i in range(997))]
    path = write(tmp_path / "wide.csv", csv_bytes(header, [["1", "a", *[""] * 997]]))
    result = _ok(*import_file(client, shop.headers(), path, "products"))
    assert len(result["columns_ignored"]) == 50 and result["columns_ignored_more"] == 947
    assert all(len(name) <= 100 for name in result["columns_ignored"])
    listed = client.get("/v1/jobs?kind=ingestion.import", headers=shop.headers())
    assert len(listed.data) < 50_000
