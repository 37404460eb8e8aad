"""The learned ranker over merged candidates (xgboost's LambdaMART). Pure.

Trained on a time split inside the training data: features from what happened before a cut-off,
labels from the days after it (1 when the user interacted with the candidate then), one query
group per user. So the shop's own history decides how much its customers' repeat buying,
co-occurrence and popularity count.
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from services.recommendation.candidates import FEATURES

PARAMS = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.05, "subsample": 0.8,
          "colsample_bytree": 0.9, "min_child_weight": 2.0, "objective": "rank:ndcg",
          "lambdarank_pair_method": "topk", "lambdarank_num_pair_per_sample": 16, "eval_metric": "ndcg@20",
          "tree_method": "hist", "max_bin": 64, "random_state": 42, "n_jobs": 0}
NEGATIVES_PER_USER = 40  # a sample of each user's candidates they did not touch (all their positives stay)


def fit(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, params: dict | None = None,
        seed: int = 0) -> xgb.XGBRanker:
    """``groups``: the user of each row, rows of one user together. Users without a positive
    teach nothing and are dropped; each user keeps at most NEGATIVES_PER_USER negatives, drawn
    at random (the pairs that teach are positive-vs-negative: the rest is cost)."""
    keep = np.isin(groups, _users_with_a_positive(labels, groups)) & _sample_negatives(labels, groups, seed)
    features, labels, groups = features[keep], labels[keep], groups[keep]
    model = xgb.XGBRanker(**{**PARAMS, **(params or {})})
    model.fit(features, labels, qid=_as_qid(groups))
    return model


def score(model: xgb.XGBRanker, features: np.ndarray) -> np.ndarray:
    if len(features) == 0:
        return np.zeros(0, dtype=np.float32)
    return model.predict(features).astype(np.float32)


def importance(model: xgb.XGBRanker) -> dict[str, float]:
    """Gain per feature, named, largest first (what the shop's data made matter)."""
    gains = model.get_booster().get_score(importance_type="gain")
    named = {FEATURES[int(key[1:])]: value for key, value in gains.items()}
    total = sum(named.values()) or 1.0
    return {name: round(value / total, 4) for name, value in sorted(named.items(), key=lambda kv: -kv[1])}


def _sample_negatives(labels: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """Rows to keep: every positive, and per group NEGATIVES_PER_USER random negatives."""
    noise = np.random.default_rng(seed).random(len(labels))
    # Rank each negative within its group by its random draw; keep the first ones.
    order = np.lexsort((noise, labels > 0, groups))
    ranked_groups, ranked_negative = groups[order], labels[order] <= 0
    starts = np.concatenate([[True], ranked_groups[1:] != ranked_groups[:-1]])
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    position = np.arange(len(order)) - group_start  # negatives come first in each group
    keep = np.empty(len(labels), dtype=bool)
    keep[order] = ~ranked_negative | (position < NEGATIVES_PER_USER)
    return keep


def _users_with_a_positive(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    return np.unique(groups[labels > 0])


def _as_qid(groups: np.ndarray) -> np.ndarray:
    """xgboost wants query ids sorted; rows already come grouped, so relabel them 0, 1, 2..."""
    change = np.concatenate([[True], groups[1:] != groups[:-1]])
    return np.cumsum(change) - 1
