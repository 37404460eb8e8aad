"""What can be imported: the canonical fields of each entity (DATA.md) and the named presets."""

from __future__ import annotations

# entity -> (required fields, optional fields), in DATA.md's order.
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

PRESETS: dict[str, str] = {
    "auto": "detect the preset from the header row",
    "generic": "columns named as the canonical fields (English or Chinese synonyms)",
    "tmall_orders": "Tmall/Taobao 订单报表: one row per order",
    "tmall_order_items": "Tmall/Taobao 宝贝报表: one row per order line",
    "taobao_user_behavior": "Tianchi UserBehavior log: user_id,item_id,category_id,behavior_type,timestamp, no header",
}
