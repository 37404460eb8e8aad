"""Data for the recommendation benchmarks: the real logs as interaction frames, a synthetic shop.

The frames have the columns and dtypes that ``services.recommendation.data.load_interactions``
returns after an import (user_id pseudonymised as the importer does, item_id text, type, ts as
UTC Timestamps, duplicates of (user, item, type, ts) dropped), so ``evaluate()`` sees what the
train job sees. Read-only use of the public data sets (``SHOPMIND_PUBLIC_DATA``); nothing is copied into the repo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shared.privacy import pseudonymise_many
from tests.support.public_data import PUBLIC_DATA

DATA = PUBLIC_DATA
TAOBAO = DATA / "taobao_userbehavior"
UCI = DATA / "uci_online_retail" / "online_retail.csv.gz"
COLUMNS = ["user_id", "item_id", "type", "ts"]
SALT = "bench-quality"  # any fixed salt: ids are only relabelled


def _as_loaded(frame: pd.DataFrame) -> pd.DataFrame:
    """What load_interactions returns: the 4 columns, ts UTC, natural-key duplicates dropped."""
    frame = frame[COLUMNS].copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame.drop_duplicates(COLUMNS, ignore_index=True)


def taobao_frame(files: tuple[str, ...] = ("userbehavior_head_users.csv",)) -> pd.DataFrame:
    """The Tianchi UserBehavior log (headerless user,item,category,type,unix ts) as events."""
    raw = pd.concat([pd.read_csv(TAOBAO / name, header=None, dtype=str,
                                 names=["user_id", "item_id", "category_id", "type", "ts"]) for name in files],
                    ignore_index=True)
    users = pseudonymise_many(SALT, raw["user_id"])
    frame = _as_loaded(pd.DataFrame({
        "user_id": raw["user_id"].map(users), "item_id": raw["item_id"], "type": raw["type"],
        "ts": pd.to_datetime(raw["ts"].astype("int64"), unit="s", utc=True)}))
    frame.attrs["categories"] = item_categories(raw)
    return frame


def uci_frame() -> pd.DataFrame:
    """UCI Online Retail as customers x products: lines with a CustomerID and Quantity > 0, each a
    ``buy`` at its invoice time (InvoiceDate is UK wall-clock time, converted to UTC), as paid
    order lines come out of load_interactions (ts = the order's created_at)."""
    raw = pd.read_csv(UCI, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": "Int64"},
                      usecols=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "CustomerID"])
    raw = raw[raw["CustomerID"].notna() & (raw["Quantity"] > 0)]
    customer = raw["CustomerID"].astype(str)
    users = pseudonymise_many(SALT, customer)
    local = pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    ts = local.dt.tz_localize("Europe/London", ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    return _as_loaded(pd.DataFrame({"user_id": customer.map(users), "item_id": raw["StockCode"].str.strip(),
                                    "type": "buy", "ts": ts}).dropna(subset=["ts"]))


def uci_repeat_frame(min_orders: int = 4, min_repeat_share: float = 0.4) -> pd.DataFrame:
    """A shop whose customers buy the same things again and again (a grocery's staples), built
    from UCI: only customers with ``min_orders`` invoices or more, of whose lines at least
    ``min_repeat_share`` re-order a StockCode they had bought on an earlier invoice."""
    frame = uci_frame().sort_values("ts", kind="stable")
    invoice_day = frame["ts"].dt.floor("D")
    first = frame.groupby(["user_id", "item_id"])["ts"].transform("min")
    repeat = frame["ts"].dt.floor("D") > first.dt.floor("D")
    per_user = pd.DataFrame({"user_id": frame["user_id"], "day": invoice_day, "repeat": repeat})
    orders = per_user.groupby("user_id")["day"].nunique()
    share = per_user.groupby("user_id")["repeat"].mean()
    keep = orders[(orders >= min_orders) & (share >= min_repeat_share)].index
    return frame[frame["user_id"].isin(keep)].reset_index(drop=True)


def demo_frame(scale: float = 0.5, seed: int = 42) -> pd.DataFrame:
    """The demo shop (infra/demo_data.py) as the job loads it: the behaviour log's events and the
    lines of its paid orders as ``buy`` at the order's creation time (Asia/Shanghai → UTC)."""
    import tempfile
    from pathlib import Path

    from infra.demo_data import generate
    from tests.support import DEMO_END

    out = Path(tempfile.mkdtemp(prefix="demo-rec-"))
    generate(out, seed=seed, scale=scale, end_date=DEMO_END)
    events = pd.read_csv(out / "user_behavior.csv", header=None, dtype=str,
                         names=["user_id", "item_id", "category_id", "type", "ts"])
    events["ts"] = pd.to_datetime(events["ts"].astype("int64"), unit="s", utc=True)
    orders = pd.read_csv(out / "订单报表.csv", encoding="gbk", dtype=str)
    lines = pd.read_csv(out / "宝贝报表.csv", encoding="gbk", dtype=str)
    strip = {"订单编号": lambda c: c.str.strip('="')}
    orders, lines = orders.assign(**{k: f(orders[k]) for k, f in strip.items()}), \
        lines.assign(**{k: f(lines[k]) for k, f in strip.items()})
    paid = orders[~orders["订单状态"].str.contains("关闭|退款", regex=True, na=False)]
    bought = lines.merge(paid[["订单编号", "买家会员名", "订单创建时间"]], on="订单编号")
    created = pd.to_datetime(bought["订单创建时间"]).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    buys = pd.DataFrame({"user_id": bought["买家会员名"], "item_id": bought["商家编码"].str.strip(), "type": "buy",
                         "ts": created})
    frame = pd.concat([events[COLUMNS], buys], ignore_index=True)
    users = pseudonymise_many(SALT, frame["user_id"])
    loaded = _as_loaded(frame.assign(user_id=frame["user_id"].map(users)))
    loaded.attrs["categories"] = item_categories(events)
    return loaded


def item_categories(events: pd.DataFrame) -> pd.Series:
    """item_id → category, as the job hands the catalogue's categories to evaluate_blend (frames
    keep them in ``frame.attrs["categories"]``; UCI has none)."""
    known = events.dropna(subset=["category_id"]).drop_duplicates("item_id")
    return known.set_index(known["item_id"].astype(str))["category_id"].astype(str)


def describe(frame: pd.DataFrame) -> dict:
    return {"interactions": int(len(frame)), "users": int(frame["user_id"].nunique()),
            "items": int(frame["item_id"].nunique()), "from": frame["ts"].min().isoformat(),
            "to": frame["ts"].max().isoformat(),
            "types": {k: int(v) for k, v in frame["type"].value_counts().items()}}


# --- a synthetic shop ------------------------------------------------------------------------

WORDS = ["连衣裙", "衬衫", "夏季", "新款", "纯棉", "宽松", "韩版", "修身", "加厚", "保暖", "真皮", "休闲", "运动",
         "学生", "复古", "简约", "男士", "女士", "儿童", "大码", "防水", "轻薄", "手机壳", "耳机", "蓝牙", "无线",
         "充电宝", "茶叶", "绿茶", "零食", "坚果", "面膜", "补水", "口红", "香水", "收纳", "家用", "厨房", "不锈钢",
         "陶瓷", "cotton", "slim", "pro", "max", "mini", "plus"]


def synthetic_shop(n_users: int = 100_000, n_items: int = 100_000, n_events: int = 1_500_000, days: int = 60,
                   clusters: int = 50, seed: int = 42, end: str = "2026-11-01T00:00:00Z") -> dict:
    """A shop with power-law item popularity and users clustered on a few categories.

    Items fall in ``clusters`` categories; item popularity is Zipf-like (weight ~ rank^-0.9) and
    user activity is heavy-tailed (lognormal, every user at least one event). Each user has a home
    category (and half of them a second one): 80% of their events go there, 20% anywhere, picked by
    popularity. Types follow the Taobao mix (pv 89%, cart 5.5%, fav 3%, buy 2.5%); a user's buys on one
    day form one paid order, all its lines at one time, so the order lines and the buy events match.

    Returns events (raw user ids), catalogue, orders and order lines as DataFrames.
    """
    rng = np.random.default_rng(seed)
    item_ids = np.array([str(1_000_000 + i) for i in range(n_items)])
    category = rng.integers(0, clusters, n_items)
    weight = 1.0 / np.power(rng.permutation(n_items) + 1.0, 0.9)
    activity = rng.lognormal(0.0, 1.0, n_users)
    per_user = 1 + rng.multinomial(n_events - n_users, activity / activity.sum())
    user = np.repeat(np.arange(n_users), per_user)
    home = rng.integers(0, clusters, n_users)
    second = np.where(rng.random(n_users) < 0.5, rng.integers(0, clusters, n_users), home)
    wanted = np.where(rng.random(len(user)) < 0.5, home[user], second[user])
    anywhere = rng.random(len(user)) < 0.2
    item = np.empty(len(user), dtype=np.int64)
    item[anywhere] = rng.choice(n_items, anywhere.sum(), p=weight / weight.sum())
    for c in range(clusters):
        members = np.flatnonzero(category == c)
        rows = np.flatnonzero(~anywhere & (wanted == c))
        item[rows] = rng.choice(members, len(rows), p=weight[members] / weight[members].sum())
    kind = rng.choice(np.array(["pv", "cart", "fav", "buy"]), len(user), p=[0.89, 0.055, 0.03, 0.025])
    end_s = pd.Timestamp(end).value // 10**9
    ts = end_s - rng.integers(0, days * 86400, len(user))
    events = pd.DataFrame({"user_id": np.char.add("buyer", user.astype(str)), "item_id": item_ids[item],
                           "type": kind, "ts": ts, "category_id": category[item].astype(str)})
    # One order per user and day of buys, every line at the order's time.
    buys = events["type"] == "buy"
    day = events.loc[buys, "ts"] // 86400
    key = events.loc[buys, "user_id"] + ":" + day.astype(str)
    order_no, _ = pd.factorize(key)
    order_ts = events.loc[buys, "ts"].groupby(order_no).transform("max").to_numpy()
    events.loc[buys, "ts"] = order_ts
    events["ts"] = pd.to_datetime(events["ts"], unit="s", utc=True)
    events = events.drop_duplicates(["user_id", "item_id", "type", "ts"], ignore_index=True)
    buys = events["type"] == "buy"
    lines = events.loc[buys, ["user_id", "item_id", "ts"]].copy()
    lines["order_id"] = "o" + pd.Series(pd.factorize(lines["user_id"] + ":" + lines["ts"].astype(str))[0],
                                        index=lines.index).astype(str)
    orders = lines.drop_duplicates("order_id")[["order_id", "user_id", "ts"]].rename(columns={"ts": "created_at"})
    titles = [" ".join(rng.choice(WORDS, 3, replace=False)) + f" {i % 997}号" for i in range(n_items)]
    catalogue = pd.DataFrame({"item_id": item_ids, "title": titles,
                              "category": np.char.add("类目", category.astype(str))})
    return {"events": events, "catalogue": catalogue, "orders": orders.reset_index(drop=True),
            "lines": lines[["order_id", "item_id"]].reset_index(drop=True)}


def pseudonymised(shop: dict, salt: str) -> dict:
    """The shop's user ids as the importer stores them (per-shop salted pseudonyms)."""
    mapping = pseudonymise_many(salt, shop["events"]["user_id"])
    events = shop["events"].assign(user_id=shop["events"]["user_id"].map(mapping))
    orders = shop["orders"].assign(user_id=shop["orders"]["user_id"].map(mapping))
    return {**shop, "events": events, "orders": orders, "user_map": mapping}


def train_inputs(shop: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(interactions, baskets, catalogue) as tasks._load would hand them to train()."""
    events = shop["events"]
    interactions = _as_loaded(events)
    interactions = interactions.merge(events[["item_id", "category_id"]].drop_duplicates("item_id"),
                                      on="item_id", how="left")
    baskets = shop["lines"].rename(columns={"order_id": "basket_id"})
    return interactions, baskets, shop["catalogue"]
