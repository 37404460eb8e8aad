"""Offline evaluation on a time-based holdout: the last days are hidden, nothing leaks back.

Every model is fitted on the interactions before the cut-off and asked for the users who came
back after it; their new items (ones they had not touched before the cut-off) are the truth.
Metrics follow ``implicit.evaluation``'s definitions: precision, recall, NDCG, MAP and hit rate
at K, plus catalogue coverage of the lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.recommendation import ranker
from services.recommendation.candidates import (
    BLOCK_USERS,
    FEATURES,
    RETRIEVERS,
    Histories,
    Retrievers,
    build_histories,
    candidates,
    fit_retrievers,
)
from services.recommendation.model import (
    DEFAULT_PARAMS,
    ALSModel,
    NotEnoughData,
    build_interactions,
    item_neighbours,
)
from shared.i18n import Message, join, t

MIN_TEST_USERS = 5
MAX_TEST_USERS = 5_000  # a seeded sample beyond this: the metrics settle long before


QUIET_DAY_SHARE = 0.1  # a day with under a tenth of a typical day's interactions is not "data" yet
# The retrievers alone, in order of preference on a tie (every one of them can answer in real time).
PREFERENCE = ("als", "repeat", "item_knn", "category_popular", "popularity")


def data_end(ts: pd.Series) -> pd.Timestamp:
    """The last instant of the shop's usable history: the end of its last day with at least
    ``QUIET_DAY_SHARE`` of a typical day's interactions (the median day of the last year).

    A few live events (``POST /v1/events``) after an import ended weeks ago must not move the
    holdout and the "popular this week" window to days that have almost nothing in them.
    """
    days = ts.dt.floor("D")
    counts = days.value_counts().sort_index()
    last_year = counts[counts.index > counts.index[-1] - pd.Timedelta(days=365)]
    busy = counts[counts >= max(1.0, QUIET_DAY_SHARE * float(last_year.median()))]
    last_day = busy.index[-1] if len(busy) else counts.index[-1]
    return ts[days == last_day].max()


def time_split(frame: pd.DataFrame, holdout_days: float,
               end: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Everything before ``end - holdout_days`` trains; what comes after, up to ``end``, is the test."""
    end = frame["ts"].max() if end is None else end
    cutoff = end - pd.Timedelta(days=holdout_days)
    return frame[frame["ts"] <= cutoff], frame[(frame["ts"] > cutoff) & (frame["ts"] <= end)], cutoff


def ranking_metrics(recommended: dict[int, np.ndarray], relevant: dict[int, set[int]], n_items: int,
                    k: int = 10, k_recall: int = 20) -> dict[str, float]:
    """Mean metrics over users; ``recommended`` lists must be at least ``k_recall`` long."""
    precision, recall, recall_big, ndcg, average_precision, hits = [], [], [], [], [], []
    shown: set[int] = set()
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for user, truth in relevant.items():
        ranked = list(recommended.get(user, []))
        top = ranked[:k]
        shown.update(top)
        hit_flags = np.array([item in truth for item in top], dtype=float)
        found = hit_flags.sum()
        precision.append(found / k)
        recall.append(found / min(len(truth), k))
        recall_big.append(sum(item in truth for item in ranked[:k_recall]) / min(len(truth), k_recall))
        ideal = discounts[:min(len(truth), k)].sum()
        ndcg.append(float((hit_flags * discounts[:len(hit_flags)]).sum() / ideal))
        cumulative = np.cumsum(hit_flags)
        average_precision.append(float((cumulative / np.arange(1, len(top) + 1) * hit_flags).sum()
                                       / min(len(truth), k)) if len(top) else 0.0)
        hits.append(float(found > 0))
    users = len(relevant)
    if users == 0:
        return {}
    return {
        f"precision@{k}": float(np.mean(precision)), f"recall@{k}": float(np.mean(recall)),
        f"recall@{k_recall}": float(np.mean(recall_big)), f"ndcg@{k}": float(np.mean(ndcg)),
        f"map@{k}": float(np.mean(average_precision)), f"hr@{k}": float(np.mean(hits)),
        f"coverage@{k}": len(shown) / max(n_items, 1), "users": users,
    }


def _top_k(scores: np.ndarray, seen_rows, k: int) -> list[np.ndarray]:
    """Per row of a users × items score block, the k best unseen items."""
    for row, seen in enumerate(seen_rows):
        scores[row, seen] = -np.inf
    top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    ranked = np.take_along_axis(top, order, axis=1)
    return [r[np.isfinite(scores[i, r]) & (scores[i, r] > -1e30)] for i, r in enumerate(ranked)]


def evaluate(frame: pd.DataFrame, holdout_days: float = 7.0, params: dict | None = None,
             k: int = 20, models: tuple[str, ...] = ("als", "popularity", "item_knn"),
             end: pd.Timestamp | None = None) -> dict[str, dict[str, float]]:
    """Metrics of ALS, item-kNN and popularity on the same time-based split ending at ``end``
    (default: the last interaction).

    Raises :class:`NotEnoughData` when fewer than MIN_TEST_USERS users return after the cut-off.
    ``models`` limits what is scored (tuning needs ALS only).
    """
    params = {**DEFAULT_PARAMS, **(params or {})}
    train_frame, test_frame, cutoff = time_split(frame, holdout_days, end)
    data = build_interactions(train_frame, cutoff, params)
    matrix = data.matrix
    relevant: dict[int, set[int]] = {}
    for user_id, items in test_frame.groupby("user_id")["item_id"]:
        user = data.user_index.get(user_id)
        if user is None:
            continue
        seen = set(matrix.indices[matrix.indptr[user]:matrix.indptr[user + 1]].tolist())
        new = {data.item_index[i] for i in set(items.astype(str)) if i in data.item_index} - seen
        if new:
            relevant[user] = new
    if len(relevant) < MIN_TEST_USERS:
        raise NotEnoughData(t("recommendation.too_few_returning", users=len(relevant), cutoff=f"{cutoff:%Y-%m-%d}",
                              needed=MIN_TEST_USERS))
    if len(relevant) > MAX_TEST_USERS:
        keep = np.random.default_rng(0).choice(np.fromiter(relevant, dtype=np.int64), MAX_TEST_USERS, replace=False)
        relevant = {int(u): relevant[int(u)] for u in keep}
    users = np.fromiter(relevant, dtype=np.int64)
    n_items = matrix.shape[1]

    def seen(user: int) -> np.ndarray:
        return matrix.indices[matrix.indptr[user]:matrix.indptr[user + 1]]

    def scored(block_scores) -> dict[int, np.ndarray]:
        """Top-k lists for every test user, scored in blocks so memory stays bounded."""
        lists: dict[int, np.ndarray] = {}
        for start in range(0, len(users), 256):
            block = users[start:start + 256]
            ranked = _top_k(block_scores(block), [seen(u) for u in block], k)
            lists.update(zip(block.tolist(), ranked, strict=True))
        return lists

    results = {}
    if "als" in models:
        als = ALSModel(**{p: params[p] for p in ("factors", "regularization", "alpha", "iterations", "random_state")})
        als.fit(matrix)
        # implicit's batched top-k (in C, seen items filtered) from the trained factors.
        ids, _scores = als._als.recommend(users, matrix[users], N=k, filter_already_liked_items=True)
        results["als"] = ranking_metrics(dict(zip(users.tolist(), ids, strict=True)), relevant, n_items)
    if "popularity" in models:
        item_scores = np.asarray(matrix.sum(axis=0)).ravel()
        longest = int(np.diff(matrix.indptr)[users].max()) if len(users) else 0
        leaders = np.argsort(-item_scores)[:k + longest]  # enough to skip every seen item

        def top_popular(user: int) -> np.ndarray:
            exclude = set(seen(user).tolist())
            return np.array([i for i in leaders if i not in exclude][:k])

        results["popularity"] = ranking_metrics({u: top_popular(u) for u in users.tolist()}, relevant, n_items)
    if "item_knn" in models:
        neighbours = item_neighbours(matrix, params["neighbours"])

        def knn_scores(block):
            scores = (matrix[block] @ neighbours).toarray().astype(np.float32)
            scores[scores <= 0] = -np.inf
            return scores

        results["item_knn"] = ranking_metrics(scored(knn_scores), relevant, n_items)
    results["split"] = {"cutoff": cutoff.isoformat(), "end": test_frame["ts"].max().isoformat(),
                        "holdout_days": holdout_days, "test_users": len(relevant),
                        "train_interactions": int(matrix.nnz)}
    return results


def best_retriever(evaluation: dict, metric: str) -> tuple[str, Message]:
    """The retriever to serve personal recommendations with, and why: the best measured one by
    ``metric`` (ALS on a tie), so a model never ships when a baseline it measured beats it."""
    scores = {name: evaluation[name][metric] for name in PREFERENCE if metric in evaluation.get(name, {})}
    best = best_alone(evaluation, metric)
    others = join([t("recommendation.retriever_score", retriever=t(f"recommendation.retriever_{name}"),
                      score=f"{value:.3f}") for name, value in scores.items() if name != best])
    return best, t("recommendation.retriever_choice", retriever=t(f"recommendation.retriever_{best}"), metric=metric,
                   score=f"{scores[best]:.3f}", others=others)


# --- retrievers and the learned ranker ------------------------------------------------------------

# What a user asks for: only items they have not touched (exclude_seen=true, the default) or any
# (exclude_seen=false, where a repeat buyer's staples count). Each mode gets its own ranker and
# its own truth.
MODES = {"new": True, "all": False}
BOUGHT_AGAIN = 100  # a pick's source: the user's own staple, bought on 2+ days (not an index in RETRIEVERS)
BUY_DAYS = FEATURES.index("user_item_buy_days")
CANDIDATES_PER_RETRIEVER = 50
MAX_RANKER_USERS = 2_000


def returning_users(frame: pd.DataFrame, histories: Histories, start: pd.Timestamp, end: pd.Timestamp,
                    exclude_seen: bool) -> dict[int, set[int]]:
    """Per known user active in (start, end]: the items they touched then (less the ones touched
    before ``start`` when ``exclude_seen``)."""
    window = frame[(frame["ts"] > start) & (frame["ts"] <= end)]
    confidence = histories.confidence
    relevant = {}
    for user_id, items in window.groupby("user_id")["item_id"]:
        user = histories.user_index.get(user_id)
        if user is None:
            continue
        touched = {histories.item_index[i] for i in set(items.astype(str)) if i in histories.item_index}
        if exclude_seen:
            touched -= set(confidence.indices[confidence.indptr[user]:confidence.indptr[user + 1]].tolist())
        if touched:
            relevant[user] = touched
    return relevant


def _sample(relevant: dict[int, set[int]], limit: int, seed: int = 0) -> np.ndarray:
    users = np.fromiter(relevant, dtype=np.int64)
    if len(users) > limit:
        users = np.random.default_rng(seed).choice(users, limit, replace=False)
    return np.sort(users)


def candidate_blocks(retrievers: Retrievers, users: np.ndarray, exclude_seen: bool,
                     k: int = CANDIDATES_PER_RETRIEVER):
    """The merged candidates of ``users``, a block of BLOCK_USERS at a time: (block users, Candidates)."""
    for start in range(0, len(users), BLOCK_USERS):
        block = users[start:start + BLOCK_USERS]
        yield block, candidates(retrievers, block, k, exclude_seen)


def fit_ranker(retrievers: Retrievers, relevant: dict[int, set[int]], exclude_seen: bool):
    """A ranker taught by ``relevant`` (what the users did after the retrievers' cut-off)."""
    features, labels, groups = [], [], []
    for _block, found in candidate_blocks(retrievers, _sample(relevant, MAX_RANKER_USERS), exclude_seen):
        features.append(found.features)
        groups.append(found.users)
        labels.append(np.fromiter((item in relevant[user] for user, item in zip(found.users, found.items,
                                                                                  strict=True)),
                                  dtype=np.float32, count=len(found.items)))
    labels = np.concatenate(labels)
    if not labels.any():
        raise NotEnoughData(t("recommendation.no_ranker_labels"))
    return ranker.fit(np.vstack(features), labels, np.concatenate(groups))


def ranked_lists(retrievers: Retrievers, model, users: np.ndarray, exclude_seen: bool, n: int):
    """Per user: the ranker's top ``n`` (item indexes, scores, the source of each: the index in
    RETRIEVERS of the retriever that listed it highest, or BOUGHT_AGAIN), and each retriever's own
    top ``n``."""
    ranked, alone = {}, {name: {} for name in RETRIEVERS}
    for block, found in candidate_blocks(retrievers, users, exclude_seen):
        scores = ranker.score(model, found.features)
        ranks = found.features[:, [FEATURES.index(f"{name}_rank") for name in RETRIEVERS]]
        bounds = np.searchsorted(found.users, block, side="left"), np.searchsorted(found.users, block, side="right")
        for r, user in enumerate(block.tolist()):
            rows = np.arange(bounds[0][r], bounds[1][r])
            order = rows[np.argsort(-scores[rows], kind="stable")[:n]]
            source = ranks[order].argmin(axis=1).astype(np.int8)
            # A staple: listed by the repeat retriever and bought on two days or more.
            again = (source == RETRIEVERS.index("repeat")) & (found.features[order, BUY_DAYS] >= 2)
            ranked[user] = (found.items[order], scores[order], np.where(again, BOUGHT_AGAIN, source).astype(np.int8))
            for name in RETRIEVERS:
                listed = found.retrieved_by[name][r]
                alone[name][user] = listed[listed >= 0][:n]
    return ranked, alone


def evaluate_blend(frame: pd.DataFrame, holdout_days: float, params: dict, end: pd.Timestamp,
                   categories: pd.Series | None = None, k: int = 20) -> tuple[dict, dict]:
    """Every retriever alone and the ranked blend, per mode, on the holdout (end - holdout_days,
    end]; the ranker is taught on the same length of days just before it.

    Returns (the evaluation, per mode the ranker taught on the holdout itself: the one to serve,
    as it learned from the newest days). Raises :class:`NotEnoughData` when too few users return.
    """
    cutoff = end - pd.Timedelta(days=holdout_days)
    teach_cutoff = cutoff - pd.Timedelta(days=holdout_days)
    splits = {}
    for name, at in (("teach", teach_cutoff), ("test", cutoff)):
        past = frame[frame["ts"] <= at]
        histories = build_histories(past, at, params, categories)
        splits[name] = fit_retrievers(past, histories, params)
    evaluation, serving = {}, {}
    for mode, exclude_seen in MODES.items():
        teach = returning_users(frame, splits["teach"].histories, teach_cutoff, cutoff, exclude_seen)
        test = returning_users(frame, splits["test"].histories, cutoff, end, exclude_seen)
        if min(len(teach), len(test)) < MIN_TEST_USERS:
            raise NotEnoughData(t("recommendation.too_few_returning", users=min(len(teach), len(test)),
                                  cutoff=f"{cutoff:%Y-%m-%d}", needed=MIN_TEST_USERS))
        model = fit_ranker(splits["teach"], teach, exclude_seen)
        users = _sample(test, MAX_TEST_USERS)
        ranked, alone = ranked_lists(splits["test"], model, users, exclude_seen, k)
        truth = {int(u): test[int(u)] for u in users}
        n_items = splits["test"].histories.shape[1]
        scores = {name: ranking_metrics(lists, truth, n_items) for name, lists in alone.items()}
        scores["ranked"] = ranking_metrics({u: items for u, (items, _s, _r) in ranked.items()}, truth, n_items)
        evaluation[mode] = {**scores, "importance": dict(list(ranker.importance(model).items())[:8])}
        serving[mode] = fit_ranker(splits["test"], test, exclude_seen)
    evaluation["split"] = {"cutoff": cutoff.isoformat(), "end": end.isoformat(), "holdout_days": holdout_days,
                           "teach_from": teach_cutoff.isoformat(),
                           "test_users": {mode: evaluation[mode]["ranked"]["users"] for mode in MODES}}
    return evaluation, serving


def best_alone(evaluation: dict, metric: str) -> str:
    """The retriever that scored best alone (PREFERENCE decides a tie: ALS first, popularity last)."""
    alone = {name: evaluation[name][metric] for name in PREFERENCE if metric in evaluation.get(name, {})}
    return max(alone, key=lambda name: (alone[name], -PREFERENCE.index(name)))


def choose(evaluation: dict, metric: str) -> tuple[str, Message]:
    """What serves one mode: the ranked blend if it beats every retriever alone (popularity
    included), else the best retriever alone; and why, with the figures."""
    alone = {name: evaluation[name][metric] for name in RETRIEVERS if metric in evaluation.get(name, {})}
    best = best_alone(evaluation, metric)
    blend = evaluation["ranked"][metric]
    figures = join([t("recommendation.retriever_score", retriever=t(f"recommendation.retriever_{name}"),
                      score=f"{value:.3f}") for name, value in alone.items()])
    if blend > alone[best]:
        return "ranked", t("recommendation.blend_chosen", metric=metric, score=f"{blend:.3f}", others=figures)
    return best, t("recommendation.blend_not_better", retriever=t(f"recommendation.retriever_{best}"),
                   metric=metric, score=f"{alone[best]:.3f}", blend=f"{blend:.3f}", others=figures)
