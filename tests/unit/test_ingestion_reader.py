"""services/ingestion/reader.py: every file form an upload takes, read back as rows of strings."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import json
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest

from services.ingestion import reader as reader_module
from services.ingestion.reader import Chunk, ImportFileError, TableReader, gzip_declared_size
from tests.support import public_data

ORDER_HEADER = ["订单编号", "买家会员名", "买家实际支付金额", "订单状态", "订单创建时间"]
ORDER_ROWS = [
    ["2389012345678901", "小明", "￥1,299.00", "交易成功", "2024-11-11 00:01:02"],
    ["2389012345678902", "阿花", "￥59.90", "卖家已发货，等待买家确认", "2024/11/11 0:01"],
]


def order_csv(rows=ORDER_ROWS, header=ORDER_HEADER) -> str:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])  # quotes "￥1,299.00"; lines end in \r\n
    return out.getvalue()


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def read_all(path: Path, **options) -> tuple[TableReader, list[list[str]], list[int]]:
    with TableReader(path, **options) as reader:
        rows, numbers = [], []
        for chunk in reader.chunks():
            rows += chunk.rows
            numbers += chunk.row_numbers
    return reader, rows, numbers


def raises_import_error(path: Path, match: str, status: int = 422, **options) -> ImportFileError:
    with pytest.raises(ImportFileError, match=match) as caught:
        with TableReader(path, **options) as reader:
            for _ in reader.chunks():
                pass
    assert caught.value.status == status
    return caught.value


# -- encodings ------------------------------------------------------------------------------------

# The BOM is written by the codec ("utf-8-sig"), so the bytes differ from plain UTF-8.
@pytest.mark.parametrize("file_encoding,detected", [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("gbk", "gb18030"),
    ("gb18030", "gb18030"),
])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_text_encodings_are_detected_and_decoded(tmp_path, file_encoding, detected, compressed):
    data = order_csv().encode(file_encoding)
    if compressed:
        data = gzip.compress(data)
    path = write(tmp_path / "upload.bin", data)

    reader, rows, numbers = read_all(path)

    assert reader.header == ORDER_HEADER  # no BOM left on 订单编号
    assert rows == ORDER_ROWS
    assert numbers == [2, 3]
    assert reader.info.format == "csv"
    assert reader.info.encoding == detected
    assert reader.info.encoding_detected is True
    assert reader.info.compression == ("gzip" if compressed else None)
    assert reader.info.size_bytes == len(data)


def test_gb18030_only_characters_are_read(tmp_path):
    # 𠮷 (U+20BB7) and the euro-less 4-byte range are in GB18030 but not in GBK.
    text = "商品,备注\r\n𠮷野家,\u20ac\u3400\r\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = write(tmp_path / "items.csv", text, "gb18030")

    reader, rows, _ = read_all(path)

    assert reader.info.encoding == "gb18030"
    assert rows == [["𠮷野家", "\u20ac\u3400"]]


def test_utf8_multibyte_character_cut_by_the_sample_is_still_utf8(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_module, "SAMPLE_BYTES", 12)
    path = write(tmp_path / "cut.csv", "名称,价\n中文名字,1\n")
    with pytest.raises(UnicodeDecodeError):  # the 12-byte sample ends inside 中
        path.read_bytes()[:12].decode("utf-8")

    reader, rows, _ = read_all(path)

    assert reader.info.encoding == "utf-8"
    assert rows == [["中文名字", "1"]]


def test_forced_encoding_is_used_and_reported(tmp_path):
    path = write(tmp_path / "orders.csv", order_csv(), "gbk")

    reader, rows, _ = read_all(path, encoding="GBK")

    assert rows == ORDER_ROWS
    assert reader.info.encoding == "gbk"
    assert reader.info.encoding_detected is False


def test_forced_utf8_on_a_bom_file_keeps_the_bom_out_of_the_data(tmp_path):
    path = write(tmp_path / "ub.csv", "1,2\n3,4\n", "utf-8-sig")

    reader, rows, _ = read_all(path, encoding="utf-8", has_header=False)

    assert reader.info.encoding == "utf-8-sig"
    assert rows == [["1", "2"], ["3", "4"]]


def test_utf16_excel_unicode_text_is_read(tmp_path):
    path = write(tmp_path / "unicode.txt", "订单编号\t金额\r\n1001\t9.90\r\n", "utf-16")

    reader, rows, _ = read_all(path)

    assert (reader.info.encoding, reader.info.delimiter) == ("utf-16", "\t")
    assert reader.header == ["订单编号", "金额"]
    assert rows == [["1001", "9.90"]]


def test_forced_wrong_encoding_names_the_row_and_suggests_the_right_one(tmp_path):
    path = write(tmp_path / "orders.csv", order_csv(), "gbk")

    error = raises_import_error(path, "not valid utf-8 text", encoding="utf-8")

    assert error.row == 1  # the Chinese header is the first undecodable row
    assert "byte 0" in error.detail
    assert "gb18030" in error.detail
    assert error.extra == {"row": 1}


def test_forced_wrong_encoding_on_a_later_row(tmp_path):
    data = b"id,name\r\n1,a\r\n2,\"two\r\nlines\"\r\n3," + "中".encode("gbk") + b"\r\n"
    path = write(tmp_path / "mixed.csv", data)

    error = raises_import_error(path, "not valid utf-8 text", encoding="utf-8")

    assert error.row == 4  # header 1, row 2, the two-line row 3, then row 4
    assert f"byte {data.index(b'3,') + 2}" in error.detail


@pytest.mark.parametrize("name,match", [
    ("no-such-codec", "unknown text encoding"), ("utf-8\x00", "unknown text encoding"),
    ("base64", "not a text encoding"), ("rot13", "not a text encoding"), ("idna", "not a text encoding"),
    ("punycode", "not a text encoding"), ("unicode_escape", "not a text encoding"), ("utf-7", "not a text encoding"),
])
def test_unknown_or_unsuitable_encoding_name_is_refused_naming_the_field(tmp_path, name, match):
    path = write(tmp_path / "a.csv", "a,b\n1,2\n")

    error = raises_import_error(path, match, encoding=name)

    assert "encoding" in error.errors and "gb18030" in str(error.errors["encoding"][0])


@pytest.mark.parametrize("name", ["utf-16", "UTF-32"])
def test_a_wide_encoding_without_its_byte_order_mark_is_refused(tmp_path, name):
    path = write(tmp_path / "a.csv", "a,b\n1,2\n".encode("utf-32-le" if "32" in name else "utf-16-le"))

    error = raises_import_error(path, "byte-order mark", encoding=name)

    assert "encoding" in error.errors


@pytest.mark.parametrize("name", ["utf-16-le", "utf-32-le", "UTF-32LE"])
def test_a_wide_encoding_with_its_byte_order_named_reads(tmp_path, name):
    path = write(tmp_path / "a.csv", "a,b\n1,二\n".encode(codecs.lookup(name).name))

    with TableReader(path, encoding=name) as reader:
        assert reader.header == ["a", "b"] and [c.rows for c in reader.chunks()] == [[["1", "二"]]]


def test_decode_error_beyond_the_sample_names_the_exact_row(tmp_path):
    lines = ["id,comment"]
    lines += [f"{i},\"line one\nline two\"" if i == 5 else f"{i},ok" for i in range(1, 150_001)]
    data = ("\n".join(lines) + "\n").encode() + b"150001," + "坏".encode("gbk") + b"\n"
    assert len(data) > reader_module.SAMPLE_BYTES
    path = write(tmp_path / "late.csv", data)

    with TableReader(path) as reader:
        assert reader.info.encoding == "utf-8"
        with pytest.raises(ImportFileError, match="not valid utf-8") as caught:
            for _ in reader.chunks(chunk_rows=1000):
                pass

    # 150,001 records before it (header + 150,000 rows, the multi-line one counted once)
    assert caught.value.row == 150_002
    assert caught.value.detail.startswith("row 150002:")


def test_undecodable_text_is_refused_when_no_encoding_fits(tmp_path):
    path = write(tmp_path / "odd.csv", b"a,b\n\x80\x80,\xff\xfe\xfd\n")

    raises_import_error(path, "cannot tell the text encoding; pass encoding=")


# -- CSV parsing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", ["\t", ";", "|", ","])
def test_delimiter_is_sniffed_from_the_header(tmp_path, delimiter):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([["item_id", "title", "price"], ["1", "a, b; c|d\te", "9.9"]])
    path = write(tmp_path / "items.txt", out.getvalue())

    reader, rows, _ = read_all(path)

    assert reader.info.delimiter == delimiter
    assert rows == [["1", "a, b; c|d\te", "9.9"]]


def test_header_cells_are_stripped_and_trailing_empty_columns_dropped(tmp_path):
    path = write(tmp_path / "t.csv", " 订单编号 ,\t金额 , 备注,,,\r\n1,2,3,,,\r\n4,5,,,,\r\n6,7,8\r\n")

    reader, rows, numbers = read_all(path)

    assert reader.header == ["订单编号", "金额", "备注"]
    assert rows == [["1", "2", "3"], ["4", "5", ""], ["6", "7", "8"]]
    assert numbers == [2, 3, 4]
    assert reader.ragged_rows() == []


def test_a_second_bom_is_stripped_from_the_header(tmp_path):
    # Excel re-saving a UTF-8 file can leave a second BOM that the codec does not remove.
    path = write(tmp_path / "bom2.csv", b"\xef\xbb\xbf\xef\xbb\xbf id, \xe9\x87\x91\xe9\xa2\x9d \n1,2\n")

    reader, rows, _ = read_all(path)

    assert reader.info.encoding == "utf-8-sig"
    assert reader.header == ["id", "金额"]
    assert rows == [["1", "2"]]


def test_old_mac_line_endings(tmp_path):
    path = write(tmp_path / "mac.csv", "a,b\r1,\"x\ry\"\r2,3\r")

    _, rows, numbers = read_all(path)

    assert rows == [["1", "x\ry"], ["2", "3"]]
    assert numbers == [2, 3]


def test_trailing_comma_on_every_line(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,\n1,2,\n3,4,\n")

    reader, rows, _ = read_all(path)

    assert reader.header == ["a", "b"]
    assert rows == [["1", "2"], ["3", "4"]]


def test_ragged_rows_are_dropped_and_recorded_with_their_row_numbers(tmp_path):
    text = "a,b,c\n1,2,3\n1,2\n1,2,3,4\n1,2,3,,\n\n,,\n5,6,7\n1,2,3,x,\n"
    path = write(tmp_path / "r.csv", text)

    reader, rows, numbers = read_all(path)

    assert rows == [["1", "2", "3"], ["1", "2", "3"], ["5", "6", "7"]]
    assert numbers == [2, 5, 8]  # blank line 6 and the all-empty row 7 are skipped, still counted
    assert reader.ragged_rows() == [(3, 2), (4, 4), (9, 5)]
    assert reader.ragged_count == 3


def test_all_empty_rows_of_the_right_width_are_skipped(tmp_path):
    path = write(tmp_path / "e.csv", "a,b\n1,2\n,\n3,4\n")

    reader, rows, numbers = read_all(path)

    assert rows == [["1", "2"], ["3", "4"]]
    assert numbers == [2, 4]
    assert reader.ragged_rows() == []


def test_repeated_header_rows_come_through_as_data(tmp_path):
    path = write(tmp_path / "concat.csv", order_csv() + order_csv(), "gbk")

    reader, rows, numbers = read_all(path)

    assert rows == [*ORDER_ROWS, ORDER_HEADER, *ORDER_ROWS]
    assert numbers == [2, 3, 4, 5, 6]


def test_quoted_fields_with_newlines_count_as_one_row(tmp_path):
    text = 'id,text\r\n1,"first\r\nsecond, ""quoted"""\r\n2,plain\r\n3,"a\nb\nc"\n4,end\n'
    path = write(tmp_path / "q.csv", text)

    _, rows, numbers = read_all(path)

    assert rows == [["1", 'first\r\nsecond, "quoted"'], ["2", "plain"], ["3", "a\nb\nc"], ["4", "end"]]
    assert numbers == [2, 3, 4, 5]


def test_row_strings_are_returned_as_read(tmp_path):
    text = 'id,amount,date\n="2389012345678901", ¥1,299.00 ,2024年11月11日\n\'2389,１２３,1731254400\n'
    path = write(tmp_path / "raw.csv", text.replace(" ¥1,299.00 ", '" ¥1,299.00 "'))

    _, rows, _ = read_all(path)

    assert rows == [['="2389012345678901"', " ¥1,299.00 ", "2024年11月11日"], ["'2389", "１２３", "1731254400"]]


def test_headerless_user_behavior_log(tmp_path):
    text = "1,2268318,2520377,pv,1511544070\n1,2333346,2520771,buy,1511561733\n\n100,1,2,cart,1511572885\n"
    path = write(tmp_path / "UserBehavior.csv", text)

    reader, rows, numbers = read_all(path, has_header=False)

    assert reader.header == ["col1", "col2", "col3", "col4", "col5"]
    assert rows[0] == ["1", "2268318", "2520377", "pv", "1511544070"]
    assert len(rows) == 3
    assert numbers == [1, 2, 4]


def test_headerless_chunks_number_rows_across_chunk_boundaries(tmp_path):
    path = write(tmp_path / "h.csv", "".join(f"{i},x\n" for i in range(1, 8)))

    with TableReader(path, has_header=False) as reader:
        chunks = list(reader.chunks(chunk_rows=3))

    assert [chunk.row_numbers for chunk in chunks] == [[1, 2, 3], [4, 5, 6], [7]]
    assert [row[0] for chunk in chunks for row in chunk.rows] == [str(i) for i in range(1, 8)]


def test_chunking_gives_row_numbers_and_progress(tmp_path):
    path = write(tmp_path / "ten.csv", "n,v\n" + "".join(f"{i},{i * i}\n" for i in range(10)))

    with TableReader(path) as reader:
        chunks = list(reader.chunks(chunk_rows=3))

    assert all(isinstance(chunk, Chunk) for chunk in chunks)
    assert [len(chunk.rows) for chunk in chunks] == [3, 3, 3, 1]
    assert [chunk.row_numbers for chunk in chunks] == [[2, 3, 4], [5, 6, 7], [8, 9, 10], [11]]
    assert chunks[3].rows == [["9", "81"]]
    progress = [chunk.bytes_read for chunk in chunks]
    assert progress == sorted(progress) and progress[-1] == reader.info.size_bytes


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_bytes_read_increases_through_a_large_file(tmp_path, compressed):
    data = ("id,text\n" + "".join(f"{i},{os.urandom(20).hex()}\n" for i in range(60_000))).encode()
    path = write(tmp_path / "big.csv", gzip.compress(data) if compressed else data)

    with TableReader(path) as reader:
        progress = [chunk.bytes_read for chunk in reader.chunks(chunk_rows=5_000)]

    assert len(progress) == 12
    assert all(later > earlier for earlier, later in zip(progress, progress[1:], strict=False))
    assert progress[0] < reader.info.size_bytes / 2
    assert progress[-1] == reader.info.size_bytes


def test_header_only_file_yields_no_chunks(tmp_path):
    path = write(tmp_path / "h.csv", "a,b,c\r\n\r\n")

    reader, rows, _ = read_all(path)

    assert reader.header == ["a", "b", "c"]
    assert rows == []


def test_chunks_can_be_iterated_once(tmp_path):
    path = write(tmp_path / "a.csv", "a\n1\n")
    with TableReader(path) as reader:
        list(reader.chunks())
        with pytest.raises(RuntimeError):
            reader.chunks()


def test_a_field_longer_than_the_limit_names_its_row(tmp_path):
    text = "id,text\n1,short\n2,\"multi\nline\"\n3," + "x" * 2_000_000 + "\n4,after\n"
    path = write(tmp_path / "long.csv", text)

    error = raises_import_error(path, r"^row 4: a field is longer than 1,000,000 characters",
                                max_field_chars=1_000_000, max_line_chars=3_000_000)

    assert error.row == 4


def test_field_limit_holds_in_the_header_too(tmp_path):
    path = write(tmp_path / "long.csv", "id," + "h" * 200 + "\n1,2\n")

    error = raises_import_error(path, "row 1: a field is longer than 100 characters", max_field_chars=100)

    assert error.row == 1


# -- gzip -----------------------------------------------------------------------------------------

def write_gzip_zeros(path: Path, megabytes: int, payload: bytes = b"\0") -> Path:
    with gzip.open(path, "wb") as out:
        block = payload * (1024 * 1024 // len(payload))
        for _ in range(megabytes):
            out.write(block)
    return path


def test_gzip_bomb_is_refused_by_declared_size_and_while_reading(tmp_path):
    path = write_gzip_zeros(tmp_path / "bomb.csv.gz", 50)
    assert path.stat().st_size < 200_000

    assert gzip_declared_size(path) == 50 * 1024 * 1024
    error = raises_import_error(path, "expands to more than 1,048,576 bytes when decompressed", status=413,
                                max_decompressed_bytes=1024 * 1024)
    assert error.slug == "import-too-large"
    assert error.to_problem()["type"].endswith("/import-too-large")


def test_gzip_bomb_that_looks_like_csv_is_stopped_mid_stream(tmp_path):
    path = tmp_path / "rows.csv.gz"
    with gzip.open(path, "wb") as out:
        out.write(b"a,b\n")
        write_rows = b"1,2\n" * (256 * 1024)  # 1 MB per write
        for _ in range(3):
            out.write(write_rows)

    with TableReader(path, max_decompressed_bytes=2 * 1024 * 1024) as reader:
        chunks = reader.chunks(chunk_rows=10_000)
        with pytest.raises(ImportFileError, match="expands to more than 2,097,152 bytes") as caught:
            for _ in chunks:
                pass
    assert caught.value.status == 413


def test_gzip_declared_size_of_other_files(tmp_path):
    assert gzip_declared_size(write(tmp_path / "a.csv", "a,b\n1,2\n")) is None
    assert gzip_declared_size(write(tmp_path / "short.gz", b"\x1f\x8b\x08")) is None
    assert gzip_declared_size(write(tmp_path / "ok.gz", gzip.compress(b"a,b\n1,2\n"))) == 8


def test_truncated_gzip_is_a_422(tmp_path):
    data = gzip.compress(("a,b\n" + "".join(f"{i},{os.urandom(30).hex()}\n" for i in range(30_000))).encode())
    path = write(tmp_path / "cut.csv.gz", data[: len(data) // 2])

    raises_import_error(path, "gzip data is corrupt or truncated")


# -- not a table ----------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"   \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n\n",
                                     gzip.compress(b""), gzip.compress(b" \n")],
                         ids=["zero-bytes", "whitespace", "bom", "bom-whitespace", "gzip-empty", "gzip-blank"])
def test_empty_files_are_refused(tmp_path, content):
    raises_import_error(write(tmp_path / "empty.csv", content), "^the file is empty")


def test_binary_garbage_named_csv_is_refused(tmp_path):
    garbage = bytes((i * 131 + 7) % 256 for i in range(5000))
    path = write(tmp_path / "export.csv", b"order_id,amount\n" + garbage)

    error = raises_import_error(path, r"this is not a text file \(binary content at byte \d+\)")

    assert f"byte {16 + garbage.index(0)})" in error.detail


def test_control_bytes_without_nul_are_binary(tmp_path):
    path = write(tmp_path / "ctl.csv", bytes(range(1, 32)) * 50)

    raises_import_error(path, r"not a text file \(binary content at byte 0\)")


def test_old_xls_is_named(tmp_path):
    path = write(tmp_path / "orders.csv", reader_module.OLE2_MAGIC + b"\0" * 600)

    raises_import_error(path, r"Excel 97-2003 \(\.xls\)")


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "orders.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("orders.csv", "a,b\n1,2\n")

    raises_import_error(path, "a zip file but not an Excel workbook")


def test_json_array_is_refused_with_a_hint(tmp_path):
    path = write(tmp_path / "orders.json", ' [ {"order_id": 1}, {"order_id": 2} ]')

    raises_import_error(path, "JSON array, not JSON Lines")


# -- XLSX -----------------------------------------------------------------------------------------

def patch_zip_member(path: Path, member: str, old: str, new: str) -> None:
    """Rewrite one member of a zip (openpyxl writes integral floats without a decimal point)."""
    with zipfile.ZipFile(path) as archive:
        contents = {info.filename: archive.read(info) for info in archive.infolist()}
    assert old.encode() in contents[member]
    contents[member] = contents[member].replace(old.encode(), new.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def make_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "说明"
    first.append(["这是说明页"])
    second = book.create_sheet("订单")
    second.append([" 订单编号", "下单日期", "付款时间", "数量", "单价", "旧编号", "是否手机订单", None, None])
    second.append([2389012345678901, dt.date(2024, 11, 11), dt.datetime(2024, 11, 11, 0, 1, 2), 3, 59.9,
                   111111, True])
    second.append(["2389012345678902", None, dt.datetime(2024, 11, 12, 8, 0, 0), 2.0, 1e-7, 222222, False])
    second.cell(row=5, column=1, value="A-1")  # row 4 left blank
    second.cell(row=6, column=1, value="A-2")
    second.cell(row=6, column=12, value="stray")  # a value under no header
    book.save(path)
    # ids that went through Excel as numbers, stored the way a float is: 2.389012345678901E+15
    patch_zip_member(path, "xl/worksheets/sheet2.xml", "<v>111111</v>", "<v>2.389012345678901E+15</v>")
    patch_zip_member(path, "xl/worksheets/sheet2.xml", "<v>222222</v>", "<v>2389000000000000.0</v>")
    return path


def test_xlsx_named_sheet_is_read_with_cells_as_text(tmp_path):
    path = make_workbook(tmp_path / "orders.bin")

    reader, rows, numbers = read_all(path, sheet="订单")

    assert reader.info.format == "xlsx"
    assert reader.info.sheet == "订单"
    assert reader.info.encoding is None and reader.info.compression is None
    assert reader.header == ["订单编号", "下单日期", "付款时间", "数量", "单价", "旧编号", "是否手机订单"]
    assert rows == [
        ["2389012345678901", "2024-11-11", "2024-11-11 00:01:02", "3", "59.9", "2.389012345678901e+15", "true"],
        ["2389012345678902", "", "2024-11-12 08:00:00", "2", "1e-07", "2.389e+15", "false"],
        ["A-1", "", "", "", "", "", ""],
    ]
    assert numbers == [2, 3, 5]
    assert reader.ragged_rows() == [(6, 12)]


def test_xlsx_with_wrong_stored_dimensions_is_read_whole(tmp_path):
    path = make_workbook(tmp_path / "orders.xlsx")
    patch_zip_member(path, "xl/worksheets/sheet2.xml", '<dimension ref="A1:L6"', '<dimension ref="A1:A1"')

    reader, rows, _ = read_all(path, sheet="订单")

    assert len(reader.header) == 7
    assert rows[0][:2] == ["2389012345678901", "2024-11-11"]


def test_xlsx_first_sheet_by_default(tmp_path):
    path = make_workbook(tmp_path / "orders.xlsx")

    reader, rows, _ = read_all(path)

    assert reader.info.sheet == "说明"
    assert reader.header == ["这是说明页"]
    assert rows == []


def test_xlsx_headerless(tmp_path):
    path = tmp_path / "ub.xlsx"
    book = openpyxl.Workbook()
    book.active.append([1, 2268318, 2520377, "pv", 1511544070])
    book.active.append([1, 2333346, 2520771, "buy", 1511561733])
    book.save(path)

    reader, rows, numbers = read_all(path, has_header=False)

    assert reader.header == ["col1", "col2", "col3", "col4", "col5"]
    assert rows == [["1", "2268318", "2520377", "pv", "1511544070"], ["1", "2333346", "2520771", "buy", "1511561733"]]
    assert numbers == [1, 2]


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path):
    path = make_workbook(tmp_path / "orders.xlsx")

    error = raises_import_error(path, "no sheet named 'Sheet9'", sheet="Sheet9")

    assert "'说明', '订单'" in error.detail


def test_xlsx_declaring_too_much_is_a_413(tmp_path):
    path = make_workbook(tmp_path / "orders.xlsx")

    raises_import_error(path, "expands to more than 1,000 bytes", status=413, max_decompressed_bytes=1000)


@pytest.mark.parametrize("damage", ["truncated", "garbage-xml"])
def test_corrupt_xlsx_is_a_422(tmp_path, damage):
    path = tmp_path / "orders.xlsx"
    if damage == "truncated":
        data = make_workbook(tmp_path / "whole.xlsx").read_bytes()
        write(path, data[: len(data) // 2])
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "this is not xml <<<")

    raises_import_error(path, "^not a readable Excel workbook: ")


def test_empty_xlsx_sheet_is_empty(tmp_path):
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)

    raises_import_error(path, "^the file is empty")


@pytest.mark.parametrize("value,text", [
    (None, ""), (True, "true"), (7, "7"), (2389012345678901, "2389012345678901"), (1299.0, "1299"),
    (-5.0, "-5"), (0.1, "0.1"), (1299.5, "1299.5"), (2.389012345678901e15, "2.389012345678901e+15"),
    (1e15, "1e+15"), (1.5e20, "1.5e+20"), (dt.datetime(2024, 1, 2, 3, 4, 5, 600), "2024-01-02 03:04:05"),
    (dt.datetime(2024, 1, 2), "2024-01-02"), (dt.date(2024, 1, 2), "2024-01-02"), (dt.time(8, 30), "08:30:00"),
])
def test_cell_values_become_text(value, text):
    assert reader_module._cell_text(value) == text


# -- JSON Lines -----------------------------------------------------------------------------------

def test_json_lines_values_nested_and_bad_lines(tmp_path):
    lines = [
        '{"order_id": 2389012345678901, "amount": 1299.00, "paid": true, "note": null, '
        '"tags": {"颜色": "红", "n": 1.50}}',
        "",
        "[1, 2]",
        "not json at all",
        '{"order_id": "A-2", "amount": -0.5e3, "extra_in_scan": "x", "tags": [1, "二"]}',
        '  {"amount": 5}  ',
    ]
    path = write(tmp_path / "orders.jsonl", "\r\n".join(lines) + "\n")

    reader, rows, numbers = read_all(path)

    assert reader.info.format == "jsonl" and reader.info.delimiter is None
    assert reader.header == ["order_id", "amount", "paid", "note", "tags", "extra_in_scan"]
    assert rows == [
        ["2389012345678901", "1299.00", "true", "", '{"颜色": "红", "n": 1.50}', ""],
        ["A-2", "-0.5e3", "", "", '[1, "二"]', "x"],
        ["", "5", "", "", "", ""],
    ]
    assert numbers == [1, 5, 6]
    assert reader.ragged_rows() == [(3, 0), (4, 0)]
    assert reader.ignored_keys() == {}


def test_json_lines_keys_first_seen_after_the_scan_are_ignored_and_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_module, "JSONL_HEADER_SCAN_ROWS", 2)
    lines = ['{"a": 1}', '{"a": 2, "b": "x"}', '{"a": 3, "c": "late"}', '{"c": "again", "d": 4}']
    path = write(tmp_path / "late.jsonl", "\n".join(lines) + "\n")

    reader, rows, _ = read_all(path)

    assert reader.header == ["a", "b"]
    assert rows == [["1", ""], ["2", "x"], ["3", ""], ["", ""]]
    assert reader.ignored_keys() == {"c": 3, "d": 4}


def test_json_lines_gzip_gbk(tmp_path):
    data = gzip.compress('{"买家会员名": "小明", "金额": 5}\n'.encode("gbk"))
    path = write(tmp_path / "x", data)

    reader, rows, _ = read_all(path)

    assert (reader.info.format, reader.info.encoding, reader.info.compression) == ("jsonl", "gb18030", "gzip")
    assert rows == [["小明", "5"]]


def test_json_lines_decode_error_names_the_line(tmp_path):
    good = "".join(json.dumps({"id": i, "t": "ok"}) + "\n" for i in range(60_000))
    data = good.encode() + b'{"id": 1, "t": "' + "坏".encode("gbk") + b'"}\n'
    assert len(data) > reader_module.SAMPLE_BYTES
    path = write(tmp_path / "late.jsonl", data)

    error = raises_import_error(path, "not valid utf-8")

    assert error.row == 60_001


def test_json_lines_field_limit(tmp_path):
    path = write(tmp_path / "big.jsonl", '{"a": "x"}\n{"a": "' + "y" * 500 + '"}\n')

    error = raises_import_error(path, "row 2: a field is longer than 100 characters", max_field_chars=100)

    assert error.row == 2


# -- the error class ------------------------------------------------------------------------------

def test_import_file_error_carries_row_status_and_slug():
    plain = ImportFileError("bad")
    located = ImportFileError("row 7: bad", row=7)
    too_large = ImportFileError("too big", status=413, errors={"file": ["too big"]})

    assert (plain.status, plain.slug, plain.extra, plain.row) == (422, "bad-import-file", {}, None)
    assert located.extra == {"row": 7} and located.to_problem()["row"] == 7
    assert (too_large.status, too_large.slug, too_large.errors) == (413, "import-too-large", {"file": ["too big"]})
    assert ImportFileError.status == 422 and ImportFileError.slug == "bad-import-file"


# -- real exports (the public data sets, outside the repo: tests/support/public_data.py) ----------

@public_data.needs("taobao_userbehavior")
def test_real_taobao_user_behavior_log():
    path = public_data.data_set("taobao_userbehavior") / "userbehavior_head_users.csv"

    reader, rows, numbers = read_all(path, has_header=False)

    assert len(rows) == 84_475 and numbers[-1] == 84_475
    assert reader.header == ["col1", "col2", "col3", "col4", "col5"]
    assert {row[3] for row in rows} == {"pv", "buy", "cart", "fav"}
    assert reader.ragged_rows() == []


@public_data.needs("uci_online_retail")
def test_real_uci_online_retail_gzip():
    path = public_data.data_set("uci_online_retail") / "online_retail.csv.gz"

    with TableReader(path) as reader:
        count = sum(len(chunk.rows) for chunk in reader.chunks())

    assert reader.info.compression == "gzip"
    assert reader.header == ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                             "CustomerID", "Country"]
    assert count == 541_909
    assert reader.ragged_rows() == []


@pytest.fixture(autouse=True)
def _english():
    """These tests read the importer's messages in English."""
    from shared import i18n

    with i18n.use_language("en"):
        yield


# -- limits: what one file may cost -------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_a_line_over_the_limit_fails_naming_the_line_and_the_limit(tmp_path, compressed):
    data = b"id,text\n1,ok\n2," + b"y" * 5000 + b"\n3,after\n"
    path = write(tmp_path / "long.csv", gzip.compress(data) if compressed else data)

    error = raises_import_error(path, r"^line 3 is longer than 1,000 characters", max_line_chars=1000)

    assert error.row == 3


def test_a_line_of_exactly_the_limit_reads(tmp_path):
    path = write(tmp_path / "edge.csv", "id,text\r\n1," + "z" * 998 + "\r\n2,b\r\n")

    _, rows, _ = read_all(path, max_line_chars=1000)

    assert [row[0] for row in rows] == ["1", "2"] and len(rows[0][1]) == 998


def test_a_json_line_over_the_limit_fails_naming_it(tmp_path):
    path = write(tmp_path / "e.jsonl", '{"a": 1}\n{"a": "' + "q" * 3000 + '"}\n')

    raises_import_error(path, r"^line 2 is longer than 1,000 characters", max_line_chars=1000)


def test_the_header_must_be_within_the_first_stretch_of_the_file(tmp_path):
    path = write(tmp_path / "late.csv", "\n" * (reader_module.SAMPLE_BYTES + 10) + "id\n1\n")

    raises_import_error(path, "header row must be near the start")


def test_rows_without_values_before_the_header_are_bounded(tmp_path):
    path = write(tmp_path / "commas.csv", ",,\n" * (reader_module.HEADER_SCAN_ROWS + 1) + "id\n1\n")

    raises_import_error(path, "none of the first 1,000 rows has a value")


def test_a_long_run_of_blank_rows_fails_naming_the_row(tmp_path):
    path = write(tmp_path / "gap.csv", "id\n1\n" + "\n" * 30 + "2\n")

    assert [row for row in read_all(path, max_blank_run=30)[1]] == [["1"], ["2"]]
    error = raises_import_error(path, r"^row 32: 30 blank rows", max_blank_run=29)
    assert error.row == 32


def test_blank_rows_may_not_outnumber_data_rows_ten_to_one(tmp_path):
    path = write(tmp_path / "sparse.csv", "id\n" + "1\n\n\n\n\n\n\n\n\n\n\n\n" * 10)  # 11 blank per row

    raises_import_error(path, "no more than 10 blank rows for each row with data", max_blank_run=20)
    assert len(read_all(path, max_blank_run=200)[1]) == 10


def test_blank_rows_still_yield_chunks_so_progress_moves(tmp_path):
    path = write(tmp_path / "holes.csv", "id\n1\n" + "\n" * 10 + "2\n")

    with TableReader(path) as reader:
        chunks = list(reader.chunks(chunk_rows=4))

    assert [chunk.row_numbers for chunk in chunks] == [[2], [], [13]]


@pytest.mark.parametrize("text,has_header", [("a,b,c,d\n1,2,3,4\n", True), ("1,2,3,4\n", False),
                                             ('{"a": 1, "b": 2, "c": 3, "d": 4}\n', True)])
def test_more_columns_than_the_limit_is_refused(tmp_path, text, has_header):
    path = write(tmp_path / "wide.txt", text)

    raises_import_error(path, "the file has 4 columns; an import takes at most 3", max_columns=3,
                        has_header=has_header)


def test_the_decompressed_limit_is_a_ratio_of_the_size_between_a_floor_and_a_ceiling():
    floor, ceiling = reader_module.EXPANSION_FLOOR, 2 * 1024**3
    assert reader_module.decompressed_limit(611_000, ceiling, 200) == 122_200_000  # not 600 MB
    assert reader_module.decompressed_limit(1_000, ceiling, 200) == floor
    assert reader_module.decompressed_limit(1_000_000, ceiling, 200) == 200_000_000
    assert reader_module.decompressed_limit(100_000_000, ceiling, 200) == ceiling


def test_a_gzip_stops_at_its_decompressed_limit(tmp_path):
    path = write(tmp_path / "bomb.csv.gz", gzip.compress(b"id\n" + b"1\n" * 2_000_000, compresslevel=1))

    error = raises_import_error(path, "more than 1,000,000 bytes", status=413, max_decompressed_bytes=1_000_000)

    assert error.slug == "import-too-large"


def _formula_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.append(["id", "amount"])
    book.active.append(["1", "=2*3"])
    book.active.append(["2", 5])
    book.save(path)
    return path


def test_xlsx_formula_cells_without_a_value_are_reported_with_the_chunk(tmp_path):
    with TableReader(_formula_workbook(tmp_path / "f.xlsx")) as reader:
        chunks = list(reader.chunks())

    assert chunks[0].rows == [["1", ""], ["2", "5"]]
    assert chunks[0].formula_cells == [(2, 1, "=2*3")]
