"""Tests of the synthetic demo shop generator (infra/demo_data.py), at scale 0.1."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from infra.demo_data import ASPECT_PHRASES, CATEGORIES, generate
from tests.support import DEMO_END

SCALE = 0.1
ORDER_HEADER = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额", "买家实际支付金额",
    "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系电话", "联系手机", "订单创建时间",
    "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司", "订单备注", "宝贝总数量", "店铺Id",
    "店铺名称", "订单关闭原因", "是否手机订单",
]
ORDER_ITEM_HEADER = ["订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注",
                     "订单状态", "商家编码"]
UTF8_HEADERS = {
    "products.csv": ["item_id", "title", "category", "brand", "price", "cost", "status", "created_at",
                     "attributes"],
    "customers.csv": ["user_id", "province", "city", "gender", "age_band", "registered_at"],
    "reviews.csv": ["review_id", "item_id", "user_id", "rating", "text", "created_at"],
    "inventory.csv": ["item_id", "date", "on_hand", "on_order", "lead_time_days"],
    "competitor_prices.csv": ["item_id", "competitor", "price", "observed_at"],
}
ORDER_STATUSES = {"交易成功", "交易关闭", "等待买家付款", "卖家已发货，等待买家确认",
                  "买家已付款，等待卖家发货"}
LINE_STATUSES = ORDER_STATUSES | {"退款成功"}
SALE_STATUSES = {"交易成功", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货"}
ALL_FILES = ["products.csv", "customers.csv", "订单报表.csv", "宝贝报表.csv", "user_behavior.csv",
             "reviews.csv", "inventory.csv", "competitor_prices.csv", "ground_truth.json"]


# ---------------------------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One generated shop (seed 42, scale 0.1) shared by the read-only tests."""
    out = tmp_path_factory.mktemp("demo")
    calls: list[tuple[float, str]] = []
    summary = generate(out, seed=42, scale=SCALE, end_date=DEMO_END, progress=lambda f, m: calls.append((f, m)))
    return {"dir": out, "summary": summary, "progress": calls}


@pytest.fixture(scope="module")
def truth(demo):
    return json.loads((demo["dir"] / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def orders(demo):
    return pd.read_csv(demo["dir"] / "订单报表.csv", encoding="gbk", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def order_lines(demo):
    return pd.read_csv(demo["dir"] / "宝贝报表.csv", encoding="gbk", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def behavior(demo):
    return pd.read_csv(demo["dir"] / "user_behavior.csv", header=None, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def reviews(demo):
    return pd.read_csv(demo["dir"] / "reviews.csv", dtype={"review_id": str, "item_id": str, "user_id": str})


@pytest.fixture(scope="module")
def inventory(demo):
    return pd.read_csv(demo["dir"] / "inventory.csv", dtype={"item_id": str})


@pytest.fixture(scope="module")
def daily_sales(orders, order_lines):
    """Units sold per (item_id, date), counting paid, shipped and completed orders only."""
    lines = order_lines[order_lines["订单状态"].isin(SALE_STATUSES)]
    lines = lines.merge(orders[["订单编号", "订单创建时间"]], on="订单编号", validate="many_to_one")
    lines = lines.assign(date=lines["订单创建时间"].str[:10], units=lines["购买数量"].astype(int))
    return lines.groupby(["商家编码", "date"])["units"].sum()


def parse_money(values: pd.Series) -> pd.Series:
    """'￥1,299.00' or '1299.00' -> 1299.0."""
    return values.str.replace("￥", "", regex=False).str.replace(",", "", regex=False).astype(float)


def special_days(truth: dict) -> set[str]:
    days: set[str] = set()
    for window in truth["promotions"] + truth["holidays"]:
        days |= set(pd.date_range(window["start"], window["end"]).strftime("%Y-%m-%d"))
    return days


def daily_price(truth: dict, item_id: str) -> pd.Series:
    changes = truth["price_history"][item_id]
    days = pd.date_range(truth["start_date"], truth["end_date"]).strftime("%Y-%m-%d")
    return pd.Series([p for _, p in changes], index=[d for d, _ in changes]).reindex(days).ffill()


# ---------------------------------------------------------------------------------------------
# determinism, summary, progress
# ---------------------------------------------------------------------------------------------

def test_summary_lists_every_file_with_its_row_count(demo):
    summary = demo["summary"]
    assert set(summary["files"]) == set(ALL_FILES) - {"ground_truth.json"}
    assert (summary["seed"], summary["scale"]) == (42, SCALE)
    assert (summary["start_date"], summary["end_date"]) == ("2024-11-21", "2026-11-20")
    for name in ALL_FILES:
        assert (demo["dir"] / name).is_file(), name
    for name, count in summary["files"].items():
        encoding = "gbk" if name.startswith(("订单", "宝贝")) else "utf-8"
        lines = (demo["dir"] / name).read_bytes().decode(encoding).splitlines()
        header = 0 if name == "user_behavior.csv" else 1
        assert len(lines) - header == count > 0, name


def test_same_seed_gives_identical_bytes_and_another_seed_differs(demo, tmp_path):
    generate(tmp_path / "again", seed=42, scale=SCALE, end_date=DEMO_END)
    generate(tmp_path / "other", seed=7, scale=SCALE, end_date=DEMO_END)
    for name in ALL_FILES:
        first = (demo["dir"] / name).read_bytes()
        assert (tmp_path / "again" / name).read_bytes() == first, name
        assert (tmp_path / "other" / name).read_bytes() != first, name


def test_progress_rises_from_zero_to_one(demo):
    fractions = [fraction for fraction, _ in demo["progress"]]
    assert (fractions[0], fractions[-1]) == (0.0, 1.0)
    assert fractions == sorted(fractions)
    assert len(fractions) >= 5
    assert all(isinstance(message, str) and message for _, message in demo["progress"])


def test_scale_multiplies_items_and_customers(demo, truth):
    assert demo["summary"]["files"]["products.csv"] == 20
    assert demo["summary"]["files"]["customers.csv"] == 200
    assert {item["category"] for item in truth["items"].values()} == {spec.name for spec in CATEGORIES}


def test_bad_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0, end_date=DEMO_END)
    with pytest.raises(ValueError, match="lunar calendar"):
        generate(tmp_path, end_date="2099-06-01")


def test_the_shop_ends_yesterday_in_its_timezone_unless_told(tmp_path):
    """Whatever today is, the shop's last week has sales; the end date is in the summary."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    summary = generate(tmp_path / "now", seed=2, scale=0.05)
    yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    assert summary["end_date"] == yesterday.isoformat()
    orders = pd.read_csv(tmp_path / "now" / "订单报表.csv", encoding="gbk", dtype=str)
    last_week = orders["订单付款时间"].fillna("").str[:10] >= (yesterday - timedelta(days=6)).isoformat()
    assert last_week.sum() >= 7, "the last 7 days have sales"
    assert orders["订单创建时间"].str[:10].max() == yesterday.isoformat()


@pytest.mark.parametrize(("end", "spring_festival"), [("2027-01-05", "2027-02-06"), ("2031-06-30", "2031-01-23")])
def test_any_end_date_gives_a_shop_with_its_festivals(tmp_path, end, spring_festival):
    """Spring Festival comes from the lunar calendar, so later years work too; the same end date
    and seed give the same files."""
    first = generate(tmp_path / "a", seed=4, scale=0.05, end_date=end)
    generate(tmp_path / "b", seed=4, scale=0.05, end_date=end)
    assert first["end_date"] == end
    assert (tmp_path / "a" / "订单报表.csv").read_bytes() == (tmp_path / "b" / "订单报表.csv").read_bytes()
    truth = json.loads((tmp_path / "a" / "ground_truth.json").read_text())
    assert truth["spring_festival"][end[:4]] == spring_festival


# ---------------------------------------------------------------------------------------------
# file formats
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "header"),
                         [("订单报表.csv", ORDER_HEADER), ("宝贝报表.csv", ORDER_ITEM_HEADER)])
def test_tmall_reports_are_gbk_not_utf8_with_exact_header(demo, name, header):
    raw = (demo["dir"] / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(raw.decode("gbk"), newline="")))
    assert rows[0] == header
    assert {len(row) for row in rows} == {len(header)}
    assert raw.endswith(b"\r\n")


@pytest.mark.parametrize("name", sorted(UTF8_HEADERS))
def test_canonical_files_are_utf8_with_exact_header(demo, name):
    text = (demo["dir"] / name).read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(frame.columns) == UTF8_HEADERS[name]
    assert len(frame) > 0
    assert not (frame == "").all(axis=None)


def test_order_ids_are_excel_wrapped_16_to_19_digits(orders, order_lines):
    pattern = re.compile(r'^="(\d{16,19})"$')
    assert orders["订单编号"].str.fullmatch(pattern).all()
    assert order_lines["订单编号"].str.fullmatch(pattern).all()
    assert orders["订单编号"].is_unique
    assert set(order_lines["订单编号"]) == set(orders["订单编号"])


def test_money_parses_and_adds_up(orders, order_lines):
    assert orders["总金额"].str.startswith("￥").all()
    goods, postage = parse_money(orders["买家应付货款"]), parse_money(orders["买家应付邮费"])
    total, paid = parse_money(orders["总金额"]), parse_money(orders["买家实际支付金额"])
    np.testing.assert_allclose(total, goods + postage, atol=0.005)
    line_total = (parse_money(order_lines["价格"]) * order_lines["购买数量"].astype(int)).groupby(
        order_lines["订单编号"]).sum()
    np.testing.assert_allclose(line_total.reindex(orders["订单编号"]).to_numpy(), goods, atol=0.01)
    unpaid = orders["订单付款时间"] == ""
    assert (paid[unpaid] == 0).all()
    assert ((paid[~unpaid] > 0) & (paid[~unpaid] <= total[~unpaid])).all()


def test_statuses_and_shares_look_like_a_real_shop(orders, order_lines):
    assert set(orders["订单状态"]) <= ORDER_STATUSES
    assert set(order_lines["订单状态"]) <= LINE_STATUSES
    closed = orders["订单状态"] == "交易关闭"
    refunded = closed & (orders["订单关闭原因"] == "退款")
    assert 0.08 < (closed & ~refunded).mean() < 0.13
    assert 0.015 < refunded.mean() < 0.05
    assert 0.74 < (orders["是否手机订单"] == "手机订单").mean() < 0.86
    assert set(orders["是否手机订单"]) == {"手机订单", ""}
    assert (orders.loc[closed & ~refunded, "订单付款时间"] == "").all()
    assert (orders.loc[refunded, "订单付款时间"] != "").all()
    assert orders["宝贝种类"].astype(int).between(1, 3).all()
    refund_ids = set(orders.loc[refunded, "订单编号"])
    assert (order_lines.loc[order_lines["订单编号"].isin(refund_ids), "订单状态"] == "退款成功").all()


def test_order_times_and_contacts_are_well_formed(orders):
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
    assert orders["订单创建时间"].str.fullmatch(stamp).all()
    paid = orders["订单付款时间"] != ""
    assert orders.loc[paid, "订单付款时间"].str.fullmatch(stamp).all()
    assert (orders.loc[paid, "订单付款时间"] >= orders.loc[paid, "订单创建时间"]).all()
    assert orders["订单创建时间"].between("2024-11-21", "2026-11-20 23:59:59").all()
    assert orders["收货地址"].str.fullmatch(r"\S+ \S+市 \S+ \S+号\S*").all()
    assert orders["联系手机"].str.fullmatch(r"170\*{4}\d{4}").all()


def test_user_behavior_is_headerless_tianchi_format(behavior, truth, demo):
    assert behavior.shape[1] == 5
    assert set(behavior[3]) == {"pv", "buy", "cart", "fav"}  # the first row is data, not a header
    ts = behavior[4].astype(np.int64)
    assert behavior[4].str.fullmatch(r"\d{10}").all()
    start = pd.Timestamp(truth["funnel"]["window_start"]).timestamp() - 8 * 3600
    end = pd.Timestamp(truth["end_date"]).timestamp() + 86400 - 8 * 3600
    assert ts.min() >= start
    assert ts.max() < end
    products = pd.read_csv(demo["dir"] / "products.csv", dtype=str)
    customers = pd.read_csv(demo["dir"] / "customers.csv", dtype=str)
    assert set(behavior[0]) <= set(customers["user_id"])
    category_of = products.set_index("item_id")["category"].map(truth["category_ids"]).astype(str)
    assert (behavior[2] == behavior[1].map(category_of)).all()


def test_buyers_and_items_are_known_everywhere(orders, order_lines, reviews, demo, truth):
    customers = pd.read_csv(demo["dir"] / "customers.csv", dtype=str)
    products = pd.read_csv(demo["dir"] / "products.csv", dtype={"item_id": str})
    assert customers["user_id"].is_unique
    assert set(orders["买家会员名"]) <= set(customers["user_id"])
    assert set(reviews["user_id"]) <= set(customers["user_id"])
    assert set(order_lines["商家编码"]) <= set(products["item_id"])
    assert (order_lines["外部系统编号"] == order_lines["商家编码"]).all()
    assert products["item_id"].str.fullmatch(r"\d{12}").all()
    assert (products["cost"] < products["price"]).all()
    assert set(products["item_id"]) == set(truth["items"])
    first_order = orders.groupby("买家会员名")["订单创建时间"].min()
    registered = customers.set_index("user_id")["registered_at"].reindex(first_order.index)
    assert (registered < first_order).all()


def test_files_hold_only_gbk_safe_text_where_gbk_is_claimed(orders, order_lines):
    for frame in (orders, order_lines):
        text = frame.to_csv(index=False)
        text.encode("gbk")  # raises if anything is not GBK
        assert "\ufffd" not in text


# ---------------------------------------------------------------------------------------------
# planted ground truth
# ---------------------------------------------------------------------------------------------

def test_ground_truth_has_the_documented_keys(truth):
    for key in ("items", "weekly_seasonality", "yearly_seasonality", "promotions", "holidays", "funnel",
                "category_ids", "reviews", "planted_spike", "stockout_days", "price_history"):
        assert key in truth, key
    assert len(truth["weekly_seasonality"]) == 7
    item = next(iter(truth["items"].values()))
    required = {"elasticity", "base_daily_demand", "base_price", "cost", "category", "lead_time_days"}
    assert required <= set(item)
    assert all(-3.0 <= i["elasticity"] <= -0.5 for i in truth["items"].values())


def test_promotion_calendar_has_the_tmall_festivals(truth, orders):
    windows = {(w["name"], w["phase"], w["start"]) for w in truth["promotions"]}
    expected = {("双11", "peak", "2025-11-11"), ("双11", "pre-sale", "2025-10-24"),
                ("618", "peak", "2026-06-18"), ("双12", "peak", "2025-12-12"), ("38节", "main", "2026-03-06")}
    assert expected <= windows
    new_year = [w for w in truth["promotions"] if w["name"] == "年货节" and w["end"].startswith("2026")]
    assert len(new_year) == 1
    assert new_year[0]["end"] < "2026-02-17"  # before the 2026 Spring Festival
    per_day = orders["订单创建时间"].str[:10].value_counts()
    assert per_day["2025-11-11"] > 3 * per_day.median()


def test_elasticity_is_recoverable_from_non_promotion_days(truth, daily_sales):
    """log(mean units) on log(price) per price level, for the best-selling items with price changes."""
    excluded = special_days(truth)
    units_by_item = daily_sales.groupby(level=0).sum().sort_values(ascending=False)
    estimates = []
    for item_id in units_by_item.index:
        info = truth["items"][item_id]
        if info["fixed_price"]:
            continue
        price = daily_price(truth, item_id)
        units = daily_sales.loc[item_id].reindex(price.index, fill_value=0)
        stockouts = set(truth["stockout_days"].get(item_id, []))
        delisted = info["delisted_on"] or "9999"
        keep = [info["listed_from"] <= d < delisted and d not in excluded and d not in stockouts
                for d in price.index]
        levels = pd.DataFrame({"price": price[keep], "units": units[keep]}).groupby("price")["units"].agg(
            ["mean", "size"])
        levels = levels[(levels["size"] >= 5) & (levels["mean"] > 0)]
        slope = np.polyfit(np.log(levels.index), np.log(levels["mean"]), 1, w=np.sqrt(levels["size"]))[0]
        estimates.append((info["elasticity"], slope))
        if len(estimates) == 3:
            break
    assert all(slope < 0 for _, slope in estimates)
    true_top, slope_top = estimates[0]
    assert abs(slope_top - true_top) < 1.0


def test_fixed_price_items_never_change_price(truth, order_lines):
    fixed = [item_id for item_id, info in truth["items"].items() if info["fixed_price"]]
    moving = [item_id for item_id, info in truth["items"].items() if not info["fixed_price"]]
    assert fixed
    assert moving
    for item_id in fixed:
        assert len(truth["price_history"][item_id]) == 1
        assert order_lines.loc[order_lines["商家编码"] == item_id, "价格"].nunique() <= 1
    assert max(len(truth["price_history"][item_id]) for item_id in moving) > 10


def test_stockout_days_have_zero_sales_and_match_inventory(truth, inventory, daily_sales):
    marked = {(item, day) for item, days in truth["stockout_days"].items() for day in days}
    empty = inventory[inventory["on_hand"] == 0]
    assert marked
    assert marked == set(zip(empty["item_id"], empty["date"], strict=True))
    sold = set(daily_sales[daily_sales > 0].index)
    assert not marked & sold


def test_inventory_follows_sales_and_restocks(inventory, daily_sales):
    frame = inventory.sort_values(["item_id", "date"]).reset_index(drop=True)
    keys = list(zip(frame["item_id"], frame["date"], strict=True))
    frame["sold"] = daily_sales.reindex(keys, fill_value=0).to_numpy()
    nxt = frame.groupby("item_id").shift(-1)
    consecutive = nxt["date"].notna()
    receipts = nxt["on_hand"][consecutive] - (frame["on_hand"] - frame["sold"])[consecutive]
    assert (frame["sold"] <= frame["on_hand"]).all()
    assert (receipts >= 0).all()
    assert (receipts <= frame["on_order"][consecutive]).all()
    assert (receipts > 0).sum() > 20


def test_funnel_narrows_and_buys_match_orders(behavior, orders, order_lines, truth):
    counts = behavior[3].value_counts()
    assert counts["pv"] > counts["cart"] > counts["buy"] > 0
    assert counts["pv"] > counts["fav"] > 0
    assert counts.to_dict() == truth["funnel"]["observed_counts"]
    buys = behavior[behavior[3] == "buy"]
    local = pd.to_datetime(buys[4].astype(np.int64) + 8 * 3600, unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")
    buy_keys = set(zip(buys[0], buys[1], local, strict=True))
    lines = order_lines.merge(orders[["订单编号", "买家会员名", "订单创建时间"]], on="订单编号")
    order_keys = set(zip(lines["买家会员名"], lines["商家编码"], lines["订单创建时间"], strict=True))
    assert buy_keys <= order_keys
    in_window = lines["订单创建时间"] >= truth["funnel"]["window_start"]
    assert len(buys) == in_window.sum()


def test_review_ratings_follow_the_labels(reviews, truth):
    assert reviews["rating"].between(1, 5).all()
    assert set(reviews["review_id"]) == set(truth["reviews"])
    label = reviews["review_id"].map(lambda r: truth["reviews"][r]["label"])
    positive = (label == "positive").astype(float)
    assert np.corrcoef(positive, reviews["rating"])[0, 1] > 0.7
    assert reviews.loc[label == "positive", "rating"].mean() > 4.2
    assert reviews.loc[label == "negative", "rating"].mean() < 2.3


def test_review_texts_state_their_labelled_aspects(reviews, truth):
    quality = {polarity: {p for spec in CATEGORIES for p in spec.quality_phrases[k]}
               for k, polarity in enumerate(("positive", "negative"))}
    for review_id, text in zip(reviews["review_id"], reviews["text"], strict=True):
        for aspect, polarity in truth["reviews"][review_id]["aspects"].items():
            phrases = set(ASPECT_PHRASES[aspect][polarity])
            if aspect == "质量":
                phrases |= quality[polarity]
            assert any(phrase in text for phrase in phrases), (text, aspect, polarity)
    mixed = [t for t in reviews["text"] if "但是" in t or "就是" in t or "不过" in t]
    assert len(mixed) > 10


def test_negative_review_spike_is_planted(reviews, truth):
    spike = truth["planted_spike"]
    assert (spike["aspect"], spike["start_date"]) == ("质量", "2026-10-31")
    item = reviews[reviews["item_id"] == spike["item_id"]]
    negative = item["review_id"].map(lambda r: truth["reviews"][r]["aspects"].get("质量") == "negative")
    in_window = reviews["created_at"] >= spike["start_date"]
    recent = item["created_at"] >= spike["start_date"]
    assert recent.sum() >= 8
    assert negative[recent].mean() > 0.5
    assert (~recent).sum() >= 3
    assert negative[~recent].mean() < 0.3
    others = reviews.loc[(reviews["item_id"] != spike["item_id"]) & in_window, "review_id"]
    other_negative = others.map(lambda r: truth["reviews"][r]["aspects"].get("质量") == "negative")
    assert negative[recent].mean() > other_negative.mean() + 0.3


def test_competitor_prices_cover_a_subset_and_undercut_sometimes(demo, truth):
    rows = pd.read_csv(demo["dir"] / "competitor_prices.csv", dtype={"item_id": str})
    per_item = rows.groupby("item_id")["competitor"].nunique()
    assert per_item.between(2, 3).all()
    assert 0 < len(per_item) < len(truth["items"])
    assert (rows["price"] > 0).all()
    ours = pd.concat({item_id: daily_price(truth, item_id) for item_id in per_item.index})
    our_price = ours.reindex(list(zip(rows["item_id"], rows["observed_at"].str[:10], strict=True))).to_numpy()
    assert (rows["price"].to_numpy() < our_price * 0.93).any()


def test_output_folder_is_created(tmp_path):
    target = tmp_path / "nested" / "demo"
    summary = generate(Path(target), seed=1, scale=0.05)
    assert target.is_dir()
    assert summary["files"]["products.csv"] == 10
