"""Cleaning: raw export cells in, typed canonical values out, each bad cell with a reason.

Vectorised over a chunk of rows (pandas string operations), because imports run to millions of
rows. Every rule here is one small function with tests on the ugly cases of docs/export-formats.md: ids that
Excel wrapped (``="..."``, a leading ``'``) or ruined (``2.389E+15``), money as ``￥1,299.00``
or ``1299元`` or full-width digits, the date forms of real exports and unix seconds/ms, the
status words of the Tmall back office. Pure: no Flask, no SQL.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.ingestion.presets import ENTITY_FIELDS, ColumnPlan, entity_fields
from shared.i18n import Message, t
from shared.privacy import pseudonymise_many

ORDER_STATUS = {
    "交易成功": "completed", "交易完成": "completed", "已完成": "completed", "completed": "completed",
    "complete": "completed", "success": "completed", "finished": "completed", "done": "completed",
    "交易关闭": "closed", "已关闭": "closed", "已取消": "closed", "closed": "closed", "cancelled": "closed",
    "canceled": "closed", "cancel": "closed",
    "等待买家付款": "pending", "待付款": "pending", "pending": "pending", "unpaid": "pending", "created": "pending",
    "卖家已发货,等待买家确认": "shipped", "卖家已发货": "shipped", "已发货": "shipped", "待收货": "shipped",
    "shipped": "shipped", "delivered": "shipped",
    "买家已付款,等待卖家发货": "paid", "买家已付款": "paid", "已付款": "paid", "待发货": "paid", "paid": "paid",
    "退款成功": "refunded", "已退款": "refunded", "退款": "refunded", "refunded": "refunded", "refund": "refunded",
    "returned": "refunded",
}
EVENT_TYPE = {
    "pv": "pv", "view": "pv", "click": "pv", "page_view": "pv", "pageview": "pv", "浏览": "pv", "点击": "pv",
    "fav": "fav", "favorite": "fav", "favourite": "fav", "collect": "fav", "收藏": "fav",
    "cart": "cart", "add_to_cart": "cart", "addtocart": "cart", "加购": "cart", "加入购物车": "cart",
    "buy": "buy", "purchase": "buy", "order": "buy", "购买": "buy", "下单": "buy", "成交": "buy",
}
RATING_WORDS = {"好评": 5, "中评": 3, "差评": 1}
MOBILE_WORDS = {"手机订单", "手机", "mobile", "app", "wap", "无线", "是", "yes", "true", "1", "h5"}
PC_WORDS = {"pc", "电脑", "否", "no", "false", "0", "web"}

ID_FIELDS = {"order_id", "item_id", "user_id", "review_id", "category_id", "competitor"}
MONEY_FIELDS = {"price", "cost", "total_amount", "paid_amount", "shipping_fee", "discount", "unit_price"}
INT_FIELDS = {"quantity", "on_hand", "on_order", "lead_time_days"}
DATETIME_FIELDS = {"created_at", "paid_at", "ts", "registered_at", "observed_at"}
# Longest text each column holds (shared/models.py); longer is rejected, never cut.
MAX_CHARS = {"order_id": 64, "item_id": 64, "user_id": 64, "review_id": 64, "category_id": 64, "competitor": 200,
             "category": 200, "brand": 200, "status": 32, "province": 64, "city": 64, "gender": 16,
             "age_band": 16, "sku": 200, "channel": 16}
_SIMPLE_ID = r"[0-9A-Za-z_.\-:@#/]*"
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True)
class Rejection:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class CleanChunk:
    """Typed canonical columns for the rows that passed, and why the others did not."""

    frame: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)
    rows_rejected: int = 0


# --- single-column rules (each returns cleaned values and a reason per bad cell) -------------

def _joined(values: pd.Series) -> str:
    """All cells as one string, so a question about every cell is one regex call in C."""
    return "\n".join(values.tolist())


def _all_match(values: pd.Series, line_pattern: str) -> bool:
    """True when every cell matches ``line_pattern`` (checked with one pass over the column)."""
    return re.fullmatch(f"(?:{line_pattern})(?:\n(?:{line_pattern}))*", _joined(values)) is not None


def normalise(values: pd.Series) -> pd.Series:
    """Full-width to half-width (NFKC), trimmed; columns that are already plain ASCII skip the work."""
    values = values.astype(object).fillna("")
    if _all_match(values, r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?|"):
        return values  # ASCII, nothing to trim: the common case of machine-written exports
    plain = values.str.fullmatch(r"[\x20-\x7e]*").fillna(False)
    if not plain.all():
        values = values.where(plain, values.str.normalize("NFKC"))
    return values.str.strip()


def clean_id(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Unwrap Excel's id protections; refuse ids Excel already turned into scientific notation."""
    values = normalise(values)
    reasons = pd.Series(None, index=values.index, dtype=object)
    sci = r"[+-]?\d+(\.\d+)?[eE][+-]?\d+"
    joined = _joined(values)
    if re.fullmatch(r"[0-9A-Za-z_\-:@#/\n]*", joined) and not re.search(f"(?m)^{sci}$", joined):
        return values, reasons  # plain ids (no dots, quotes or spaces): nothing to unwrap
    if not values.str.fullmatch(_SIMPLE_ID).fillna(False).all() or values.str.startswith("'").any():
        values = values.str.replace(r'^="(.*)"$', r"\1", regex=True).str.lstrip("'").str.strip()
    values = values.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    ruined = values.str.fullmatch(sci).fillna(False)
    reasons[ruined] = t("ingestion.reject_scientific_id")
    return values, reasons


_OTHER_CURRENCY = re.compile(r"(US\$|HK\$|NT\$|\$|USD|HKD|TWD|EUR|€|GBP|£|JPY|円|美元|港币|港元|欧元|日元|英镑)",
                             re.IGNORECASE)
_PER_UNIT = re.compile(r"/\s*(斤|公斤|千克|kg|克|g|两|磅|lb|升|l|ml|米|m|盒|箱|包|打)\s*$", re.IGNORECASE)


def clean_money(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'¥1,299.00', '￥1,299.00', '1299元', full-width digits -> 1299.0 (yuan). Refused, with the
    reason: negatives, amounts in another currency ('$12', '12 USD') and prices per weight or pack
    ('12.5/斤'): they are not a per-item price in CNY, and guessing a rate would be silent damage."""
    text = normalise(values)
    currency = text.str.extract(_OTHER_CURRENCY, expand=False)
    per_unit = text.str.extract(_PER_UNIT, expand=False)
    stripped = text.str.replace(r"[¥,\s]|元|RMB|CNY|rmb|cny", "", regex=True)
    numbers = pd.to_numeric(stripped.where(stripped != ""), errors="coerce")
    reasons = pd.Series(None, index=values.index, dtype=object)
    reasons[(text != "") & numbers.isna()] = t("ingestion.reject_not_money")
    reasons[numbers < 0] = t("ingestion.reject_negative")
    reasons[currency.notna()] = currency[currency.notna()].map(lambda c: t("ingestion.reject_currency", currency=c))
    reasons[per_unit.notna()] = per_unit[per_unit.notna()].map(lambda u: t("ingestion.reject_per_unit", unit=u))
    numbers = numbers.where(currency.isna() & per_unit.isna())
    return numbers, reasons  # the database's NUMERIC(14,2) rounds half away from zero


def clean_int(values: pd.Series, minimum: int | None = None) -> tuple[pd.Series, pd.Series]:
    text = normalise(values).str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    reasons = pd.Series(None, index=values.index, dtype=object)
    reasons[(text != "") & numbers.isna()] = t("ingestion.reject_not_whole")
    fractional = numbers.notna() & (numbers != numbers.round())
    reasons[fractional] = t("ingestion.reject_not_whole")
    if minimum is not None:
        reasons[numbers < minimum] = t("ingestion.reject_below", minimum=minimum)
    return numbers.where(~fractional).round().astype("Int64"), reasons


def clean_datetime(values: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """Every date form of docs/export-formats.md, unix s/ms, ISO with offsets; naive times are in ``timezone``."""
    text = normalise(values)
    reasons = pd.Series(None, index=values.index, dtype=object)
    if len(text) and _all_match(text, r"\d{10}"):  # fast path: a unix-seconds log
        return pd.Series(pd.to_datetime(pd.to_numeric(text).to_numpy(), unit="s", utc=True), index=text.index), reasons
    if len(text) and _all_match(text, r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"):  # fast path: the usual export form
        parsed = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")
        if parsed.notna().all():
            return parsed.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert(
                "UTC"), reasons
    text = (text.str.replace(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", regex=True)
            .str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", regex=True)
            .str.replace("T", " ", regex=False))
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    unix = text.str.fullmatch(r"\d{10}(\.\d+)?|\d{13}").fillna(False)
    if unix.any():
        numbers = pd.to_numeric(text[unix])
        millis = text[unix].str.len() == 13
        result[unix] = pd.to_datetime(np.where(millis, numbers, numbers * 1000).astype("int64"), unit="ms", utc=True)
    with_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True).fillna(False) & ~unix
    if with_offset.any():
        result[with_offset] = pd.to_datetime(text[with_offset], format="ISO8601", utc=True, errors="coerce")
    naive = ~unix & ~with_offset & (text != "")
    pending = naive.copy()
    for fmt in _DATE_FORMATS:
        if not pending.any():
            break
        parsed = pd.to_datetime(text[pending], format=fmt, errors="coerce")
        ok = parsed.notna()
        if ok.any():
            localized = parsed[ok].dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
            result[localized.index] = localized.dt.tz_convert("UTC")
            pending[localized.index] = False
    reasons[(text != "") & result.isna()] = t("ingestion.reject_datetime")
    implausible = result.notna() & ((result.dt.year < 1990) | (result.dt.year > 2100))
    reasons[implausible] = t("ingestion.reject_implausible_date")
    return result.where(~implausible), reasons


def clean_date(values: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """A calendar day in the shop's time zone (inventory snapshots)."""
    moments, reasons = clean_datetime(values, timezone)
    return moments.dt.tz_convert(timezone).dt.date.where(moments.notna(), None), reasons


def clean_words(values: pd.Series, vocabulary: dict[str, str], what: Message) -> tuple[pd.Series, pd.Series]:
    """Map status/type words (Chinese or English) to canonical values; unknown words are refused."""
    reasons = pd.Series(None, index=values.index, dtype=object)
    mapped = values.map(vocabulary)  # fast path: the words as written
    if mapped.notna().all():
        return mapped, reasons
    text = normalise(values).str.lower().str.replace(r"\s+", "", regex=True)
    mapped = text.map(vocabulary)
    known = ", ".join(sorted(set(vocabulary.values())))
    reasons[(text != "") & mapped.isna()] = t("ingestion.reject_unknown_word", what=what, known=known)
    return mapped.where(mapped.notna(), None), reasons


def clean_rating(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = normalise(values)
    words = text.map(RATING_WORDS)
    numbers, reasons = clean_int(text.where(words.isna(), words.astype(str).str.replace(".0", "", regex=False)))
    bad = numbers.notna() & ((numbers < 1) | (numbers > 5))
    reasons[bad] = t("ingestion.reject_rating")
    return numbers.where(~bad), reasons


def clean_text(values: pd.Series) -> pd.Series:
    text = values.astype(object).fillna("").str.replace("\x00", "", regex=False).str.strip()
    return text.where(text != "", None)


def clean_channel(values: pd.Series, empty_means_pc: bool) -> pd.Series:
    text = normalise(values).str.lower()
    channel = pd.Series(np.where(text.isin(MOBILE_WORDS), "mobile", np.where(text.isin(PC_WORDS), "pc", text)),
                        index=values.index, dtype=object)
    empty = text == ""
    return channel.where(~empty, "pc" if empty_means_pc else None)


def split_address(addresses: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'浙江省 杭州市 西湖区 文三路8号' -> ('浙江省', '杭州市'); the street part is never kept."""
    text = normalise(addresses)
    spaced = text.str.split(r"\s+", n=2, expand=True).reindex(columns=[0, 1])
    pattern = r"^(?P<province>.+?(?:省|自治区|特别行政区|市))(?P<city>.+?(?:市|自治州|地区|盟|区|县))?"
    joined = text.str.extract(pattern)
    has_spaces = text.str.contains(r"\s", regex=True).fillna(False)
    province = spaced[0].where(has_spaces, joined["province"])
    city = spaced[1].where(has_spaces, joined["city"])
    return province.where(text != "", None), city.where(text != "", None)


def synthetic_review_ids(frame: pd.DataFrame) -> pd.Series:
    """docs/data-model.md: a review without an id is keyed by a hash of item, user, time and text."""
    parts = (frame["item_id"].astype(str) + "\x1f" + frame["user_id"].astype(str) + "\x1f"
             + frame["created_at"].astype(str) + "\x1f" + frame["text"].astype(str))
    return parts.map(lambda s: "h" + hashlib.sha1(s.encode()).hexdigest()[:24])


def clean_attributes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """JSON objects as given; any other text is kept as {"raw": text} so nothing is lost."""
    def parse(text: str):
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return {"raw": text}
        return value if isinstance(value, dict) else {"raw": text}

    return values.astype(object).fillna("").str.strip().map(parse), pd.Series(None, index=values.index, dtype=object)


# --- a whole chunk ----------------------------------------------------------------------

def extract(plan: ColumnPlan, rows: list[list[str]], row_numbers: list[int]) -> pd.DataFrame:
    """Raw cells of each planned field (first non-empty candidate column wins), indexed by row number."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in plan.header]
    data = {}
    for fld, indexes in plan.fields.items():
        series = pd.Series(columns[indexes[0]], dtype=object)
        for extra in indexes[1:]:
            other = pd.Series(columns[extra], dtype=object)
            series = series.where(series.str.strip() != "", other)
        data[fld] = series
    if plan.address_column is not None:
        data["_address"] = pd.Series(columns[plan.address_column], dtype=object)
    if plan.close_reason_column is not None:
        data["_close_reason"] = pd.Series(columns[plan.close_reason_column], dtype=object)
    frame = pd.DataFrame(data)
    frame.index = pd.Index(row_numbers, name="row")
    return frame


def clean_chunk(plan: ColumnPlan, raw: pd.DataFrame, timezone: str, user_salt: str,
                formula_cells: list[tuple[int, int, str]] = ()) -> CleanChunk:
    """Apply every field's rule; a row with any bad cell is rejected (each bad cell reported).

    ``formula_cells`` (row, column index, formula): cells of a workbook that hold a formula and no
    computed value; a row where one feeds a field is rejected, never loaded with the field empty.
    """
    entity = plan.entity
    required = set(ENTITY_FIELDS[entity][0])
    out = pd.DataFrame(index=raw.index)
    reasons: dict[str, pd.Series] = {}
    formulas = _formula_reasons(plan, raw.index, formula_cells)

    for fld in entity_fields(entity):
        if fld not in raw:
            out[fld] = None
            continue
        values = raw[fld]
        if fld in ID_FIELDS:
            cleaned, why = clean_id(values)
        elif fld in MONEY_FIELDS:
            cleaned, why = clean_money(values)
        elif fld in INT_FIELDS:
            cleaned, why = clean_int(values, minimum=0 if fld in ("on_hand", "on_order", "lead_time_days") else None)
        elif fld in DATETIME_FIELDS:
            cleaned, why = clean_datetime(values, timezone)
        elif fld == "date":
            cleaned, why = clean_date(values, timezone)
        elif fld == "status" and entity in ("orders", "order_items"):
            cleaned, why = clean_words(values, ORDER_STATUS, t("ingestion.word_order_status"))
        elif fld == "type":
            cleaned, why = clean_words(values, EVENT_TYPE, t("ingestion.word_event_type"))
        elif fld == "rating":
            cleaned, why = clean_rating(values)
        elif fld == "attributes":
            cleaned, why = clean_attributes(values)
        elif fld == "channel":
            cleaned, why = clean_channel(values, plan.preset == "tmall_orders"), None
        else:
            cleaned, why = clean_text(values), None
        if fld in ID_FIELDS or fld in MAX_CHARS:
            cleaned = cleaned.where(cleaned != "", None) if cleaned.dtype == object else cleaned
        if fld in MAX_CHARS:
            too_long = cleaned.astype(str).str.len() > MAX_CHARS[fld]
            if too_long.any():
                why = why if why is not None else pd.Series(None, index=raw.index, dtype=object)
                why = why.where(~(too_long & cleaned.notna()), t("ingestion.reject_too_long", chars=MAX_CHARS[fld]))
        if fld in required:
            empty = cleaned.isna()
            if empty.any():
                why = why if why is not None else pd.Series(None, index=raw.index, dtype=object)
                why = why.where(~empty | why.notna(), t("ingestion.reject_required", field=fld))
        if fld in formulas:  # said instead of whatever the empty cell would have earned
            why = formulas[fld] if why is None else formulas[fld].where(formulas[fld].notna(), why)
        out[fld] = cleaned
        if why is not None and why.notna().any():
            reasons[fld] = why

    if "_address" in raw:
        out["province"], out["city"] = split_address(raw["_address"])
    if "_close_reason" in raw and "status" in out:
        refund = normalise(raw["_close_reason"]).str.contains("退款").fillna(False)
        out["status"] = out["status"].where(~(refund & (out["status"] == "closed")), "refunded")
    if entity == "order_items" and out["sku"].isna().any():
        out["sku"] = out["sku"].where(out["sku"].notna(), "")
    if entity == "reviews" and "review_id" in out and out["review_id"].isna().any():
        missing = out["review_id"].isna()
        out.loc[missing, "review_id"] = synthetic_review_ids(out[missing])
    if "user_id" in out and out["user_id"].notna().any():
        present = out["user_id"].notna()
        lookup = pseudonymise_many(user_salt, out.loc[present, "user_id"])
        out.loc[present, "user_id"] = out.loc[present, "user_id"].map(lookup)

    return _split_rejected(plan, raw, out, reasons)


def _formula_reasons(plan: ColumnPlan, rows: pd.Index, formula_cells) -> dict[str, pd.Series]:
    """Per field fed by a formula cell without a value: the reason, on the rows that have one."""
    if not len(formula_cells):
        return {}
    field_of = {index: fld for fld, indexes in plan.fields.items() for index in indexes}
    kept = set(rows)
    reasons: dict[str, pd.Series] = {}
    for row, index, formula in formula_cells:
        fld = field_of.get(index)
        if fld is None or row not in kept:
            continue  # a column the import does not read, or a row already dropped
        if fld not in reasons:
            reasons[fld] = pd.Series(None, index=rows, dtype=object)
        reasons[fld][row] = t("ingestion.reject_formula", formula=formula[:100])
    return reasons


def _split_rejected(plan: ColumnPlan, raw: pd.DataFrame, out: pd.DataFrame,
                    reasons: dict[str, pd.Series]) -> CleanChunk:
    if not reasons:
        return CleanChunk(out)
    source = {fld: plan.header[cols[0]] for fld, cols in plan.fields.items()}
    bad = pd.Series(False, index=out.index)
    rejections = []
    for fld, why in reasons.items():
        mask = why.notna()
        bad |= mask
        for row, value, reason in zip(why.index[mask], raw.loc[mask, fld], why[mask], strict=True):
            rejections.append(Rejection(int(row), source.get(fld, fld), str(value)[:1000], reason))
    rejections.sort(key=lambda r: r.row)
    return CleanChunk(out[~bad], rejections, int(bad.sum()))
