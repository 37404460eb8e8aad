"""Early warning: items whose share of negative reviews rose significantly, and the aspect behind it.

Per item, the recent window (the last ``window_days`` up to the shop's latest review) is compared
with the item's own baseline (the ``baseline_days`` before it). The baseline share is shrunk toward
the shop's overall negative share with ``prior_reviews`` pseudo-reviews, so an item with three
reviews of history is judged against something sensible. The test is one-sided binomial: how
likely are this many negatives in the recent reviews if the baseline share still held? Items are
tested together, so the p-values go through Benjamini-Hochberg (false discovery rate ``fdr``).
Two bad reviews never page anyone: an alert also needs ``min_negative`` negatives in the window and
a rise of at least ``min_rise`` in share.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import binom


@dataclass(frozen=True)
class AlertRules:
    window_days: int = 14
    baseline_days: int = 90
    min_negative: int = 5
    min_rise: float = 0.15
    fdr: float = 0.01
    prior_reviews: float = 20.0


def find_alerts(reviews: pd.DataFrame, rules: AlertRules = AlertRules(), as_of: date | None = None) -> list[dict]:
    """Alerts from scored reviews: columns item_id, day (date), negative (bool), complaints (list of
    aspects the review's negative clauses name), text. Sorted by p-value, strongest first."""
    if reviews.empty:
        return []
    as_of = as_of or max(reviews["day"])
    window_start = as_of - timedelta(days=rules.window_days - 1)
    baseline_start = window_start - timedelta(days=rules.baseline_days)
    recent = reviews[(reviews["day"] >= window_start) & (reviews["day"] <= as_of)]
    baseline = reviews[(reviews["day"] >= baseline_start) & (reviews["day"] < window_start)]
    if recent.empty:
        return []
    scope = reviews[(reviews["day"] >= baseline_start) & (reviews["day"] <= as_of)]
    shop_share = float(scope["negative"].mean()) if len(scope) else 0.0

    r = recent.groupby("item_id")["negative"].agg(["size", "sum"])
    b = baseline.groupby("item_id")["negative"].agg(["size", "sum"]).reindex(r.index, fill_value=0)
    expected = (b["sum"] + rules.prior_reviews * shop_share) / (b["size"] + rules.prior_reviews)
    expected = expected.clip(1e-3, 0.999)
    p_values = binom.sf(r["sum"] - 1, r["size"], expected)  # P(X >= negatives | baseline share)
    share = r["sum"] / r["size"]
    candidate = (r["sum"] >= rules.min_negative) & (share - expected >= rules.min_rise)
    significant = candidate.to_numpy() & _benjamini_hochberg(p_values, rules.fdr)

    alerts = []
    for item_id in r.index[significant]:
        item_recent = recent[recent["item_id"] == item_id]
        item_base = baseline[baseline["item_id"] == item_id]
        aspect, counts = _driving_aspect(item_recent, item_base)
        examples = _examples(item_recent, aspect)
        alerts.append({
            "item_id": str(item_id),
            "window": {"from": window_start.isoformat(), "to": as_of.isoformat()},
            "recent": {"reviews": int(r.at[item_id, "size"]), "negative": int(r.at[item_id, "sum"]),
                       "negative_share": round(float(share.at[item_id]), 4)},
            "baseline": {"reviews": int(b.at[item_id, "size"]), "negative": int(b.at[item_id, "sum"]),
                         "expected_negative_share": round(float(expected.at[item_id]), 4)},
            "p_value": float(p_values[r.index.get_loc(item_id)]),
            "aspect": aspect, "aspect_counts": counts, "examples": examples,
        })
    alerts.sort(key=lambda a: a["p_value"])
    return alerts


def _benjamini_hochberg(p_values: np.ndarray, fdr: float) -> np.ndarray:
    """Which hypotheses are rejected at false discovery rate ``fdr``."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    ranked = p[order] <= fdr * np.arange(1, len(p) + 1) / max(len(p), 1)
    cutoff = np.nonzero(ranked)[0].max() + 1 if ranked.any() else 0
    rejected = np.zeros(len(p), dtype=bool)
    rejected[order[:cutoff]] = True
    return rejected


def _driving_aspect(recent: pd.DataFrame, baseline: pd.DataFrame) -> tuple[str | None, dict]:
    """The aspect whose complaint rate (complaints per review) rose most; its recent and baseline counts."""
    now = Counter(a for aspects in recent["complaints"] for a in aspects)
    before = Counter(a for aspects in baseline["complaints"] for a in aspects)
    if not now:
        return None, {}
    n_now, n_before = max(len(recent), 1), max(len(baseline), 1)
    aspect = max(now, key=lambda a: (now[a] / n_now - before[a] / n_before, now[a]))
    return aspect, {"recent": now[aspect], "baseline": before[aspect]}


def _examples(recent: pd.DataFrame, aspect: str | None, limit: int = 3) -> list[str]:
    negative = recent[recent["negative"]]
    if aspect is not None:
        negative = negative[negative["complaints"].map(lambda aspects: aspect in aspects)]
    return [str(t) for t in negative.sort_values("day", ascending=False)["text"].head(limit)]
