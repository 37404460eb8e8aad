"""Customer segments: RFM scores with the eight standard RFM groups, and k-means on behaviour. Pure.

RFM per buyer with a sale up to ``as_of``: recency (days since the last order), frequency (orders),
monetary (spend). Each gets a 1–5 score by quintile (recency reversed: recent = 5). A score above
the shop's average score is "high"; the three high/low flags name the eight groups that Chinese
CRM practice uses (重要价值客户 = recent, frequent, big spenders ... 一般挽留客户 = none of it).

k-means runs on standardised log-scaled recency, frequency, monetary, average order value and
(when there are behaviour events) views, carts and favourites per buyer; k from 2 to 8 is chosen
by the silhouette score on a sample, the criterion that needs no k given in advance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from shared.i18n import Message, t

RFM_GROUPS = {  # (recency high, frequency high, monetary high) -> name, the segment's id in the API
    (True, True, True): "重要价值客户", (True, False, True): "重要发展客户", (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户", (True, True, False): "一般价值客户", (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户", (False, False, False): "一般挽留客户",
}
# name -> its words in the catalogue (insights.rfm_<code> is its title, insights.rfm_<code>_advice what to do)
RFM_CODES = dict(zip(RFM_GROUPS.values(), ("important_value", "important_develop", "important_keep",
                                           "important_recall", "general_value", "general_develop", "general_keep",
                                           "general_recall"), strict=True))


def segment_title(name: str) -> str | Message:
    """An RFM group in the reader's words (the Chinese CRM term is also its id); other names as they are."""
    return t(f"insights.rfm_{RFM_CODES[name]}") if name in RFM_CODES else name
MAX_K = 8
SILHOUETTE_SAMPLE = 5000


@dataclass
class Segmentation:
    customers: pd.DataFrame  # user_id, recency_days, orders, spend, r, f, m, rfm_group, cluster
    as_of: str
    k: int
    silhouette: float | None
    cluster_profiles: list[dict]


def rfm(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """orders: user_id, order_id, day, revenue (sale orders only) → one row per buyer with scores and group."""
    per = orders.groupby("user_id").agg(last=("day", "max"), orders=("order_id", "nunique"), spend=("revenue", "sum"))
    per["recency_days"] = (as_of - per["last"]).dt.days
    per["r"] = _quintile(-per["recency_days"])
    per["f"] = _quintile(per["orders"])
    per["m"] = _quintile(per["spend"])
    high = {c: per[c] > per[c].mean() for c in ("r", "f", "m")}
    per["rfm_group"] = [RFM_GROUPS[(bool(a), bool(b), bool(c))] for a, b, c in zip(high["r"], high["f"], high["m"],
                                                                                    strict=True)]
    return per.drop(columns="last").reset_index()


def _quintile(values: pd.Series) -> pd.Series:
    """Scores 1–5 by rank quintile; ties share a score (ranked by first occurrence would split them)."""
    ranks = values.rank(method="average", pct=True)
    return np.ceil(ranks * 5).clip(1, 5).astype(int)


def cluster(customers: pd.DataFrame, behaviour: pd.DataFrame | None, seed: int = 0) -> tuple[np.ndarray, int,
                                                                                             float | None]:
    """(cluster per customer, k, silhouette) by k-means on behaviour features, k by silhouette."""
    spend = customers["spend"].clip(lower=0)
    features = pd.DataFrame({"recency": np.log1p(customers["recency_days"].clip(lower=0)),
                             "orders": np.log1p(customers["orders"]), "spend": np.log1p(spend),
                             "aov": np.log1p(spend / customers["orders"].clip(lower=1))})
    if behaviour is not None and not behaviour.empty:
        joined = customers[["user_id"]].merge(behaviour, on="user_id", how="left").fillna(0)
        for column in ("pv", "cart", "fav"):
            if column in joined:
                features[column] = np.log1p(joined[column].to_numpy())
    if len(customers) < 10:
        return np.zeros(len(customers), dtype=int), 1, None
    x = StandardScaler().fit_transform(features.to_numpy())
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(x), min(len(x), SILHOUETTE_SAMPLE), replace=False)
    best = (None, 1, -1.0)
    for k in range(2, min(MAX_K, len(x) - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
        if len(np.unique(labels[sample])) < 2:
            continue
        score = float(silhouette_score(x[sample], labels[sample]))
        if score > best[2]:
            best = (labels, k, score)
    if best[0] is None:
        return np.zeros(len(customers), dtype=int), 1, None
    return best[0], best[1], round(best[2], 4)


def segment(orders: pd.DataFrame, behaviour: pd.DataFrame | None, as_of: pd.Timestamp) -> Segmentation:
    customers = rfm(orders, as_of)
    labels, k, silhouette = cluster(customers, behaviour)
    customers["cluster"] = [f"cluster_{c + 1}" for c in labels]
    profiles = []
    for name, group in customers.groupby("cluster"):
        profiles.append({"name": name, "customers": int(len(group)),
                         "avg_recency_days": round(float(group["recency_days"].mean()), 1),
                         "avg_orders": round(float(group["orders"].mean()), 2),
                         "avg_spend": round(float(group["spend"].mean()), 2),
                         "main_rfm_group": str(group["rfm_group"].mode().iloc[0])})
    return Segmentation(customers, as_of.date().isoformat(), k, silhouette, profiles)


def summary(customers: pd.DataFrame, column: str) -> list[dict]:
    """Per group of ``column``: size, share, revenue share, averages (largest revenue first)."""
    total_spend = float(customers["spend"].sum()) or 1.0
    rows = []
    for name, group in customers.groupby(column):
        rows.append({"name": name, "customers": int(len(group)), "share": round(len(group) / len(customers), 4),
                     "revenue_share": round(float(group["spend"].sum()) / total_spend, 4),
                     "avg_recency_days": round(float(group["recency_days"].mean()), 1),
                     "avg_orders": round(float(group["orders"].mean()), 2),
                     "avg_spend": round(float(group["spend"].mean()), 2),
                     **({"title": segment_title(name), "advice": t(f"insights.rfm_{RFM_CODES[name]}_advice")}
                        if name in RFM_CODES else {})})
    return sorted(rows, key=lambda r: -r["revenue_share"])
