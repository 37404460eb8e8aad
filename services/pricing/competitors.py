"""Competitor watch: the latest price of each competitor per item, price indexes, undercuts. Pure.

Price index = our price ÷ the lowest latest competitor price (1.10: we are 10% dearer than the
cheapest rival); a category's index is the median of its items'. A competitor undercuts when its
latest price is more than ``share`` below ours.
"""

from __future__ import annotations

import pandas as pd

DEFAULT_UNDERCUT_SHARE = 0.05


def latest(observations: pd.DataFrame) -> pd.DataFrame:
    """item_id, competitor, price, observed_at: each competitor's most recent observation per item."""
    if observations.empty:
        return observations
    ordered = observations.sort_values("observed_at")
    return ordered.groupby(["item_id", "competitor"], as_index=False).last()


def item_view(our_price: float | None, observations: pd.DataFrame) -> dict:
    """The competitors of one item (latest prices, gaps to ours) and its price index."""
    now = latest(observations)
    rows = []
    for row in now.sort_values("price").itertuples():
        gap = (row.price / our_price - 1) if our_price else None
        rows.append({"competitor": row.competitor, "price": round(float(row.price), 2),
                     "observed_at": pd.Timestamp(row.observed_at).isoformat(),
                     "gap_pct": round(100 * gap, 2) if gap is not None else None})
    index = round(our_price / float(now["price"].min()), 4) if our_price and not now.empty else None
    return {"competitors": rows, "price_index": index}


def undercuts(our_prices: pd.Series, observations: pd.DataFrame, share: float = DEFAULT_UNDERCUT_SHARE) -> list[dict]:
    """Latest competitor prices more than ``share`` below ours (``our_prices`` indexed by item_id)."""
    now = latest(observations)
    if now.empty:
        return []
    now = now.assign(ours=now["item_id"].map(our_prices)).dropna(subset=["ours"])
    below = now[now["price"] < now["ours"] * (1 - share)]
    return [{"item_id": str(r.item_id), "competitor": r.competitor, "competitor_price": round(float(r.price), 2),
             "our_price": round(float(r.ours), 2), "below_pct": round(100 * (1 - r.price / r.ours), 2),
             "observed_at": pd.Timestamp(r.observed_at).isoformat()} for r in below.itertuples()]


def category_index(our_prices: pd.Series, categories: pd.Series, observations: pd.DataFrame) -> list[dict]:
    """Per category: median price index of its watched items, how many are watched and undercut."""
    now = latest(observations)
    if now.empty:
        return []
    cheapest = now.groupby("item_id")["price"].min()
    frame = pd.DataFrame({"ours": our_prices, "cheapest": cheapest, "category": categories}).dropna(
        subset=["ours", "cheapest"])
    frame["index"] = frame["ours"] / frame["cheapest"]
    out = []
    for category, group in frame.groupby("category"):
        out.append({"category": category, "items_watched": int(len(group)),
                    "median_price_index": round(float(group["index"].median()), 4),
                    "items_dearer_than_cheapest_rival": int((group["index"] > 1).sum())})
    return sorted(out, key=lambda c: -c["median_price_index"])
