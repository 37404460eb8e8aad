"""What can be imported, and how a file's columns become canonical fields.

A *preset* says how to read one kind of export: the Tmall 订单报表 and 宝贝报表, the Taobao
UserBehavior log, or ``generic`` (columns named after the fields, in English or Chinese).
``auto`` picks one from the header and says how sure it is. A user ``mapping``
(``{"source column": "field"}``) overrides whatever the preset decided.

Pure: no Flask, no SQL. The result is a :class:`ColumnPlan` the cleaner applies to rows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from shared.i18n import Message, t
from shared.problems import InvalidInput

# Column names a job result lists back (ignored, dropped): the first this many, each cut to
# LISTED_NAME_CHARS; the rest are counted.
LISTED_NAMES = 50
LISTED_NAME_CHARS = 100

# entity -> (required fields, optional fields), in docs/data-model.md's order.
ENTITY_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "products": (("item_id",), ("title", "category", "brand", "price", "cost", "status", "created_at",
                                "attributes")),
    "customers": (("user_id",), ("province", "city", "gender", "age_band", "registered_at")),
    "orders": (("order_id", "created_at"), ("user_id", "paid_at", "status", "total_amount", "paid_amount",
                                            "shipping_fee", "discount", "channel", "province", "city")),
    "order_items": (("order_id", "item_id", "quantity", "unit_price"), ("sku", "paid_amount", "status")),
    "events": (("user_id", "item_id", "type", "ts"), ("category_id",)),
    "reviews": (("item_id", "text"), ("review_id", "user_id", "rating", "created_at")),
    "inventory": (("item_id", "date", "on_hand"), ("on_order", "lead_time_days")),
    "competitor_prices": (("item_id", "competitor", "price", "observed_at"), ()),
}

PRESETS = ("auto", "generic", "tmall_orders", "tmall_order_items", "taobao_user_behavior")


def preset_description(preset: str) -> Message:
    return t(f"ingestion.preset_{preset}")
PRESET_ENTITY = {"tmall_orders": "orders", "tmall_order_items": "order_items", "taobao_user_behavior": "events"}

# Names a column may carry for each field (compared after normalise_name). A field only matches
# within an entity that has it, so "价格" is products.price or order_items.unit_price as fits.
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id", "order no", "order number", "orderid", "invoiceno", "invoice", "订单编号", "订单号",
                 "主订单编号", "订单id", "子订单编号"),
    "item_id": ("item_id", "itemid", "product_id", "productid", "goods_id", "stockcode", "stock code", "商品id",
                "商品编号", "宝贝id", "商家编码", "商品编码", "货号", "商品货号"),
    "user_id": ("user_id", "userid", "customer_id", "customerid", "customer", "buyer", "buyer_id", "buyer_nick",
                "nick", "买家会员名", "买家昵称", "会员名", "用户id", "用户", "客户id", "买家id", "买家"),
    "title": ("title", "product_name", "item_name", "name", "description", "标题", "宝贝标题", "商品标题",
              "商品名称", "宝贝名称"),
    "category": ("category", "category_name", "cat", "类目", "品类", "分类", "商品类目", "宝贝类目", "类目名称"),
    "brand": ("brand", "品牌"),
    "price": ("price", "list_price", "sale_price", "售价", "价格", "一口价", "标价", "销售价", "竞品价格", "竞品售价"),
    "unit_price": ("unit_price", "unitprice", "price", "价格", "单价", "成交价", "商品价格", "商品单价"),
    "cost": ("cost", "unit_cost", "cost_price", "成本", "成本价", "进价", "采购价"),
    "status": ("status", "order_status", "订单状态", "状态", "交易状态", "商品状态", "宝贝状态"),
    "created_at": ("created_at", "created", "create_time", "order_time", "order_date", "invoicedate", "创建时间",
                   "订单创建时间", "下单时间", "上架时间", "评价时间", "评论时间"),
    "attributes": ("attributes", "attrs", "properties", "属性", "商品属性"),
    "province": ("province", "state", "省", "省份", "收货省份"),
    "city": ("city", "城市", "市", "收货城市"),
    "gender": ("gender", "sex", "性别"),
    "age_band": ("age_band", "age", "age_group", "年龄段", "年龄"),
    "registered_at": ("registered_at", "register_time", "signup_date", "注册时间", "注册日期"),
    "paid_at": ("paid_at", "pay_time", "payment_time", "付款时间", "订单付款时间", "支付时间"),
    "total_amount": ("total_amount", "total", "order_amount", "总金额", "订单金额", "订单总金额"),
    "paid_amount": ("paid_amount", "amount_paid", "payment", "paid", "买家实际支付金额", "实付金额", "实际支付金额",
                    "实付款", "支付金额"),
    "shipping_fee": ("shipping_fee", "shipping", "postage", "freight", "运费", "邮费", "买家应付邮费"),
    "discount": ("discount", "discount_amount", "优惠", "优惠金额", "折扣金额", "店铺优惠"),
    "channel": ("channel", "platform", "terminal", "渠道", "终端", "是否手机订单"),
    "quantity": ("quantity", "qty", "count", "数量", "购买数量", "商品数量", "宝贝数量"),
    "sku": ("sku", "sku_name", "sku_properties", "variant", "规格", "销售属性", "sku属性", "商品属性", "颜色分类"),
    "type": ("type", "behavior_type", "behaviour_type", "behavior", "event", "event_type", "action", "行为",
             "行为类型"),
    "ts": ("ts", "timestamp", "time", "event_time", "datetime", "时间", "时间戳", "行为时间"),
    "category_id": ("category_id", "categoryid", "cat_id", "类目id", "品类id", "分类id"),
    "review_id": ("review_id", "comment_id", "评价id", "评论id"),
    "rating": ("rating", "score", "stars", "star", "评分", "星级", "评价等级", "评价结果"),
    "text": ("text", "review", "content", "comment", "review_text", "评价内容", "评论内容", "评价", "评论", "内容",
             "初次评价"),
    "date": ("date", "snapshot_date", "day", "日期", "库存日期"),
    "on_hand": ("on_hand", "onhand", "stock", "inventory", "qty_on_hand", "库存", "可用库存", "现有库存",
                "库存数量", "实际库存"),
    "on_order": ("on_order", "onorder", "in_transit", "在途", "在途库存", "采购在途", "在途数量"),
    "lead_time_days": ("lead_time_days", "lead_time", "leadtime", "交货期", "补货周期", "采购周期", "到货天数"),
    "competitor": ("competitor", "competitor_name", "rival", "竞品", "竞品店铺", "竞争对手", "竞品名称"),
    "observed_at": ("observed_at", "observed", "captured_at", "date", "time", "采集时间", "日期", "时间", "抓取时间"),
}

# Columns that hold personal data: never stored, reported as dropped. The address is read for
# province and city first.
PII_COLUMNS = frozenset((
    "买家支付宝账号", "支付宝账号", "收货人姓名", "收货人", "姓名", "收货地址", "详细地址", "地址", "联系电话",
    "联系手机", "手机", "手机号", "电话", "邮箱", "身份证", "身份证号", "买家留言", "订单备注", "备注", "物流单号",
    "phone", "mobile", "telephone", "email", "address", "receiver", "receiver_name", "full_name", "id_card",
))
ADDRESS_COLUMNS = ("收货地址", "详细地址", "地址", "address")

TMALL_ORDERS = {
    "订单编号": "order_id", "买家会员名": "user_id", "总金额": "total_amount", "买家实际支付金额": "paid_amount",
    "买家应付邮费": "shipping_fee", "订单状态": "status", "订单创建时间": "created_at", "订单付款时间": "paid_at",
    "是否手机订单": "channel",
}
TMALL_ORDER_ITEMS = {
    "订单编号": "order_id", "商家编码": "item_id", "外部系统编号": "item_id", "价格": "unit_price",
    "购买数量": "quantity", "商品属性": "sku", "订单状态": "status",
}
USER_BEHAVIOR = {"col1": "user_id", "col2": "item_id", "col3": "category_id", "col4": "type", "col5": "ts"}
# Columns that identify a preset in `auto` (beyond those it maps).
SIGNATURES = {
    "tmall_orders": (*TMALL_ORDERS, "买家支付宝账号", "收货地址", "宝贝总数量", "订单关闭原因", "宝贝标题"),
    "tmall_order_items": (*TMALL_ORDER_ITEMS, "标题", "套餐信息"),
}
BEHAVIOR_TYPES = {"pv", "buy", "cart", "fav"}


def normalise_name(name: str) -> str:
    """Header names compare equal across case, width, spaces and separators: 'Order ID' == 'order_id'."""
    text = unicodedata.normalize("NFKC", name).strip().lower()
    return "".join(ch for ch in text if ch not in " _-.:()/（）")


_SYNONYMS = {f: {normalise_name(s) for s in names} for f, names in FIELD_SYNONYMS.items()}
_PII = {normalise_name(c) for c in PII_COLUMNS}
_ADDRESS = {normalise_name(c) for c in ADDRESS_COLUMNS}


def entity_fields(entity: str) -> tuple[str, ...]:
    required, optional = ENTITY_FIELDS[entity]
    return required + optional


@dataclass
class ColumnPlan:
    """How each canonical field is read from the file's columns."""

    entity: str
    preset: str
    confidence: float
    reason: Message
    header: list[str]
    # field -> column indexes; the first non-empty one wins (商家编码, else 外部系统编号)
    fields: dict[str, list[int]] = field(default_factory=dict)
    address_column: int | None = None
    close_reason_column: int | None = None
    dropped_pii: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # columns the user's mapping set to null: read for nothing, not even the address
    excluded: set[int] = field(default_factory=set)

    @property
    def used_columns(self) -> set[int]:
        """The indexes of the columns the import reads (for a field, the address, the close reason)."""
        return {i for cols in self.fields.values() for i in cols} | (
            {self.address_column, self.close_reason_column} - {None})

    @property
    def missing(self) -> list[str]:
        """The entity's required fields no column feeds (empty when the file can be imported)."""
        return [f for f in ENTITY_FIELDS[self.entity][0] if f not in self.fields]

    @property
    def column_mapping(self) -> dict[str, str]:
        mapping = {self.header[i]: f for f, cols in self.fields.items() for i in cols}
        if self.address_column is not None:
            mapping[self.header[self.address_column]] = t("ingestion.maps_address")
        if self.close_reason_column is not None:
            mapping[self.header[self.close_reason_column]] = t("ingestion.maps_close_reason")
        return mapping

    @property
    def hashed(self) -> list[str]:
        return [self.header[i] for i in self.fields.get("user_id", [])]

    @property
    def fields_present(self) -> set[str]:
        """The entity's fields this file gives a value for (a re-import leaves the others alone)."""
        present = set(self.fields)
        if self.address_column is not None:
            present |= {"province", "city"}
        return present

    def columns(self, samples: list[list[str]]) -> list[dict]:
        """Each column as a preview shows it: the field it feeds (or null), its role, and sample
        values, masked where the column is personal data (buyer ids, addresses, phones ...)."""
        field_of = {i: f for f, cols in self.fields.items() for i in cols}
        described = []
        for index, name in enumerate(self.header):
            if index in field_of:
                role = "hashed" if field_of[index] == "user_id" else "field"
            elif index == self.address_column:
                role = "address"
            elif index == self.close_reason_column:
                role = "close_reason"
            elif normalise_name(name) in _PII:
                role = "personal"
            else:
                role = "ignored"
            values = [row[index] for row in samples if index < len(row)]
            shown = [mask(v) if role in MASKED_ROLES else v[:SAMPLE_CHARS] for v in values]
            described.append({"name": name, "field": field_of.get(index), "role": role, "samples": shown})
        return described

    def report(self) -> dict:
        report = {"preset": self.preset, "preset_confidence": round(self.confidence, 2),
                  "preset_reason": self.reason, "column_mapping": self.column_mapping,
                  "columns_ignored": _listed(self.ignored), "columns_dropped_pii": _listed(self.dropped_pii),
                  "columns_hashed": self.hashed}
        for key, names in (("columns_ignored_more", self.ignored), ("columns_dropped_pii_more", self.dropped_pii)):
            if len(names) > LISTED_NAMES:
                report[key] = len(names) - LISTED_NAMES
        return report


# Roles whose values a preview never shows in the clear, and how much of a value it shows.
MASKED_ROLES = frozenset({"hashed", "address", "personal"})
SAMPLE_CHARS = 60


def mask(value: str) -> str:
    """A personal value as a preview shows it: its first character, the rest starred."""
    value = value.strip()
    return value[:1] + "*" * min(max(len(value) - 1, 2), 6) if value else ""


def _listed(names: list) -> list:
    return [name[:LISTED_NAME_CHARS] if isinstance(name, str) else name for name in names[:LISTED_NAMES]]


def _names_text(names: list[str]) -> str:
    """Column names for a message: the first LISTED_NAMES, cut, and how many more there are."""
    text = ", ".join(_listed(names))
    return text + f", … (+{len(names) - LISTED_NAMES})" if len(names) > LISTED_NAMES else text


def looks_like_user_behavior(first_row: list[str]) -> bool:
    """The headerless UserBehavior log: 5 fields, a behaviour word 4th, a unix time 5th."""
    cells = [c.strip() for c in first_row]
    return len(cells) == 5 and cells[3].lower() in BEHAVIOR_TYPES and cells[4].isdigit() and bool(cells[0])


def plan_columns(entity: str, preset: str, header: list[str], mapping: dict[str, str | None] | None = None,
                 headerless: bool = False, complete: bool = True) -> ColumnPlan:
    """Decide which column feeds which field; raise a 422 that lists what was seen and what is needed.

    ``mapping`` names a field for a column, or None to leave the column out. With
    ``complete=False`` (a preview) a plan missing required fields is returned, not refused:
    ``plan.missing`` lists them.
    """
    if entity not in ENTITY_FIELDS:
        raise InvalidInput(t("ingestion.unknown_entity", entity=entity),
                           errors={"entity": [t("ingestion.one_of", values=", ".join(ENTITY_FIELDS))]})
    if preset not in PRESETS:
        raise InvalidInput(t("ingestion.unknown_preset", preset=preset),
                           errors={"preset": [t("ingestion.one_of", values=", ".join(PRESETS))]})
    if preset == "auto":
        preset, confidence, reason = detect_preset(entity, header, headerless)
    else:
        confidence, reason = 1.0, t("ingestion.preset_chosen")
    if PRESET_ENTITY.get(preset, entity) != entity:
        raise InvalidInput(t("ingestion.preset_entity", preset=preset, reads=PRESET_ENTITY[preset], entity=entity),
                           errors={"preset": [t("ingestion.use_entity", entity=PRESET_ENTITY[preset])]})
    plan = ColumnPlan(entity, preset, confidence, reason, list(header))
    names = [normalise_name(h) for h in header]
    allowed = set(entity_fields(entity))

    if preset == "tmall_orders":
        _apply_named(plan, names, TMALL_ORDERS)
    elif preset == "tmall_order_items":
        _apply_named(plan, names, TMALL_ORDER_ITEMS)
    elif preset == "taobao_user_behavior":
        _apply_named(plan, names, USER_BEHAVIOR)
    for index, name in enumerate(names):  # generic synonyms fill what the preset left open
        if any(index in cols for cols in plan.fields.values()):
            continue
        for fld in entity_fields(entity):
            if fld not in plan.fields and name in _SYNONYMS.get(fld, ()) and name not in _PII:
                plan.fields[fld] = [index]
                break
    if mapping:
        _apply_user_mapping(plan, mapping, allowed)
    if entity == "orders":
        if not {"province", "city"} & set(plan.fields):
            plan.address_column = next((i for i, n in enumerate(names) if n in _ADDRESS and i not in plan.excluded),
                                       None)
        plan.close_reason_column = next((i for i, n in enumerate(names)
                                         if n == normalise_name("订单关闭原因") and i not in plan.excluded), None)

    used = plan.used_columns
    for index, name in enumerate(names):
        if index in used:
            continue
        (plan.dropped_pii if name in _PII else plan.ignored).append(header[index])
    if plan.address_column is not None:
        plan.dropped_pii.append(t("ingestion.street_part", column=header[plan.address_column]))

    missing = plan.missing
    if missing and complete:
        raise InvalidInput(
            t("ingestion.missing_columns", fields=", ".join(missing), entity=entity,
              columns=_names_text(header) or "-"),
            errors={f: [t("ingestion.no_column_for_field")] for f in missing},
            columns_seen=_listed(header), fields_required=list(ENTITY_FIELDS[entity][0]),
            fields_optional=list(ENTITY_FIELDS[entity][1]),
        )
    return plan


def _apply_named(plan: ColumnPlan, names: list[str], named: dict[str, str]) -> None:
    for source, fld in named.items():
        key = normalise_name(source)
        if key in names:
            plan.fields.setdefault(fld, []).append(names.index(key))


def _apply_user_mapping(plan: ColumnPlan, mapping: dict[str, str | None], allowed: set[str]) -> None:
    by_name = {normalise_name(h): i for i, h in enumerate(plan.header)}
    errors: dict[str, list[Message]] = {}
    for source, fld in mapping.items():
        index = plan.header.index(source) if source in plan.header else by_name.get(normalise_name(source))
        if index is None:
            errors[source[:LISTED_NAME_CHARS]] = [t("ingestion.no_such_column", columns=_names_text(plan.header))]
        elif fld is None:  # the user leaves this column out
            plan.excluded.add(index)
            _free_column(plan, index)
        elif fld not in allowed:
            errors[source[:LISTED_NAME_CHARS]] = [t("ingestion.not_a_field", field=fld[:LISTED_NAME_CHARS],
                                                    entity=plan.entity, fields=", ".join(sorted(allowed)))]
        elif normalise_name(source) in _PII:
            errors[source[:LISTED_NAME_CHARS]] = [t("ingestion.personal_column")]
        else:
            _free_column(plan, index)  # a column feeds one field only
            plan.fields[fld] = [index]
    if errors:
        raise InvalidInput(t("ingestion.mapping_misfit"), errors=errors)
    plan.reason = t("ingestion.mapping_applied", reason=plan.reason)


def _free_column(plan: ColumnPlan, index: int) -> None:
    for cols in plan.fields.values():
        if index in cols:
            cols.remove(index)
    plan.fields = {f: cols for f, cols in plan.fields.items() if cols}


def guess_entities(header: list[str], headerless: bool = False) -> list[tuple[str, str, float]]:
    """Which entity a file most likely holds, best first: (entity, preset, score 0..1).

    A file is scored for each entity by the share of the entity's required fields its columns
    feed, then by the share of its (non-personal) columns the entity reads, then by how well a
    preset's signature fits: a competitor price list (item, competitor, price, time) is
    competitor_prices, not products, though it holds an item id and a price too.
    """
    readable = sum(1 for name in header if normalise_name(name) not in _PII) or 1
    guesses = []
    for entity, (required, _optional) in ENTITY_FIELDS.items():
        try:
            plan = plan_columns(entity, "auto", header, headerless=headerless, complete=False)
        except InvalidInput:  # the headerless behaviour log reads as events only
            continue
        found = len(required) - len(plan.missing)
        used = len(plan.used_columns)
        signature = plan.confidence if plan.preset != "generic" else 0.0
        score = 0.6 * found / len(required) + 0.3 * min(used / readable, 1.0) + 0.1 * signature
        guesses.append((entity, plan.preset, round(score, 3)))
    return sorted(guesses, key=lambda guess: -guess[2])


def detect_preset(entity: str, header: list[str], headerless: bool = False) -> tuple[str, float, Message]:
    """Pick the preset for ``auto``: (preset, confidence 0..1, why)."""
    if headerless or looks_like_user_behavior(header):
        return "taobao_user_behavior", 0.95, t("ingestion.detected_user_behavior")
    names = {normalise_name(h) for h in header}
    scores = []
    for preset, signature in SIGNATURES.items():
        if PRESET_ENTITY[preset] != entity:
            continue
        keys = {normalise_name(c) for c in signature}
        scores.append((len(names & keys) / len(keys), preset))
    if scores:
        score, preset = max(scores)
        if score >= 0.5:
            return preset, score, t("ingestion.detected_preset", share=round(score * 100), preset=preset)
    required = ENTITY_FIELDS[entity][0]
    found = sum(1 for f in required if names & _SYNONYMS.get(f, set()))
    return "generic", found / len(required), t("ingestion.detected_generic", found=found, required=len(required))
