"""Recommendation models: pure numpy/scipy/implicit, no Flask, no SQL.

- :func:`build_interactions` turns behaviour rows (pv/fav/cart/buy, order lines as buy) into a
  users × items confidence matrix: weighted by type, decayed by age, repeat views capped.
- :class:`ALSModel` wraps ``implicit``'s ALS: personalised scores, user factors recomputed from
  a fresh interaction row (real-time feedback), and ``explain`` for the item behind each pick.
- :func:`item_neighbours` (cosine item-kNN), :func:`co_purchase_lift` (bought together) and
  :func:`popularity` (time-decayed, per window) are the non-personal models.
- :class:`Recommender` bundles them with the catalogue and is what serving holds in memory.

Everything here is arrays in, arrays out; :meth:`Recommender.to_arrays` / ``from_arrays`` are the
artifact format (``np.savez``, no pickle).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shared.i18n import t

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = {"pv": 1.0, "fav": 3.0, "cart": 4.0, "buy": 8.0}
DEFAULT_PARAMS = {
    "factors": 64, "regularization": 0.05, "alpha": 10.0, "iterations": 15, "half_life_days": 90.0,
    "pv_cap": 5, "weights": DEFAULT_WEIGHTS, "neighbours": 50, "random_state": 42,
}
POPULAR_DAYS = 90  # daily popularity kept for windows up to this long


class NotEnoughData(ValueError):
    """Too few interactions to train or evaluate a model."""


class ModelFitError(RuntimeError):
    """Training produced unusable factors (NaN or infinite)."""


# --- interactions --------------------------------------------------------------------------

@dataclass
class Interactions:
    """A users × items confidence matrix and the ids behind its rows and columns."""

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_index: dict = field(repr=False, default_factory=dict)
    item_index: dict = field(repr=False, default_factory=dict)

    def __post_init__(self):
        if not self.user_index:
            self.user_index = {u: i for i, u in enumerate(self.user_ids.tolist())}
        if not self.item_index:
            self.item_index = {t: i for i, t in enumerate(self.item_ids.tolist())}


def interaction_weights(frame: pd.DataFrame, as_of: pd.Timestamp, weights: dict[str, float],
                        half_life_days: float, pv_cap: int) -> pd.DataFrame:
    """One row per (user, item): Σ type weight × 0.5^(age / half-life), views capped per pair.

    ``frame`` has user_id, item_id, type, ts (UTC). A user who views one item 500 times counts
    like one who viewed it ``pv_cap`` times, so a bot cannot dominate an item's neighbours.
    """
    if frame.empty:
        return pd.DataFrame(columns=["user_id", "item_id", "weight"])
    age_days = (as_of - frame["ts"]).dt.total_seconds().to_numpy() / 86400.0
    decay = np.power(0.5, np.clip(age_days, 0, None) / half_life_days)
    data = pd.DataFrame({"user_id": frame["user_id"].to_numpy(), "item_id": frame["item_id"].to_numpy(),
                         "type": frame["type"].to_numpy(), "decay": decay})
    grouped = data.groupby(["user_id", "item_id", "type"], sort=False)["decay"].agg(["size", "mean"]).reset_index()
    counts = np.where(grouped["type"] == "pv", np.minimum(grouped["size"], pv_cap), grouped["size"])
    type_weight = grouped["type"].map(weights).fillna(0.0).to_numpy()
    grouped["weight"] = type_weight * counts * grouped["mean"].to_numpy()
    return grouped.groupby(["user_id", "item_id"], sort=False)["weight"].sum().reset_index()


def build_interactions(frame: pd.DataFrame, as_of: pd.Timestamp, params: dict) -> Interactions:
    pairs = interaction_weights(frame, as_of, params["weights"], params["half_life_days"], params["pv_cap"])
    pairs = pairs[pairs["weight"] > 0]
    if pairs.empty:
        raise NotEnoughData(t("recommendation.no_interactions"))
    users, user_codes = np.unique(pairs["user_id"].to_numpy().astype(str), return_inverse=True)
    items, item_codes = np.unique(pairs["item_id"].to_numpy().astype(str), return_inverse=True)
    matrix = sp.csr_matrix((pairs["weight"].to_numpy(dtype=np.float32), (user_codes, item_codes)),
                           shape=(len(users), len(items)))
    return Interactions(matrix, users, items)


def user_row(item_weights: dict[int, float], n_items: int) -> sp.csr_matrix:
    """A 1 × items row from {item index: weight}."""
    if not item_weights:
        return sp.csr_matrix((1, n_items), dtype=np.float32)
    cols = np.fromiter(item_weights.keys(), dtype=np.int32)
    vals = np.fromiter(item_weights.values(), dtype=np.float32)
    order = np.argsort(cols)
    return sp.csr_matrix((vals[order], cols[order], [0, len(cols)]), shape=(1, n_items))


# --- ALS -----------------------------------------------------------------------------------

def _single_threaded_blas() -> None:
    # implicit warns (and slows down) when OpenBLAS runs threaded alongside its own threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, "blas")
    except ImportError:
        pass


class ALSModel:
    """Implicit-feedback matrix factorisation (``implicit.als``), with real-time user updates.

    Parameters
    ----------
    factors, regularization, alpha, iterations, random_state
        As ``implicit.cpu.als.AlternatingLeastSquares``; ``alpha`` scales the confidence matrix.
    """

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, random_state: int = 42, num_threads: int = 0):
        from implicit.cpu.als import AlternatingLeastSquares

        _single_threaded_blas()
        self.params = {"factors": factors, "regularization": regularization, "alpha": alpha,
                       "iterations": iterations, "random_state": random_state}
        self._als = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                            iterations=iterations, random_state=random_state,
                                            num_threads=num_threads)

    def fit(self, matrix: sp.csr_matrix) -> ALSModel:
        """Fit on a users × items confidence matrix; raises :class:`ModelFitError` on NaN factors."""
        from implicit.recommender_base import ModelFitError as ImplicitFitError

        try:
            self._als.fit(matrix, show_progress=False)
        except ImplicitFitError as exc:
            raise ModelFitError(t("recommendation.als_diverged", error=str(exc))) from exc
        for name in ("user_factors", "item_factors"):
            if not np.isfinite(getattr(self._als, name)).all():
                raise ModelFitError(t("recommendation.als_diverged", error=f"non-finite {name}"))
        return self

    @property
    def user_factors(self) -> np.ndarray:
        return self._als.user_factors

    @property
    def item_factors(self) -> np.ndarray:
        return self._als.item_factors

    @classmethod
    def from_factors(cls, user_factors: np.ndarray, item_factors: np.ndarray, params: dict) -> ALSModel:
        model = cls(**{k: params[k] for k in ("factors", "regularization", "alpha", "iterations",
                                              "random_state")}, num_threads=1)
        model._als.user_factors = user_factors
        # implicit's Cython solver takes writable buffers only: a memory-mapped artifact's item
        # factors are copied (items × factors floats); the user factors stay shared.
        model._als.item_factors = np.require(item_factors, requirements="W")
        return model

    def recommend(self, row: sp.csr_matrix, n: int, exclude: np.ndarray | None = None,
                  candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` items for the user whose interactions are ``row`` (factors recomputed from it).

        ``exclude`` item indexes are never returned; ``candidates`` restricts the ranking.
        """
        scaled = row  # implicit applies alpha itself
        if candidates is not None:
            candidates = np.setdiff1d(candidates, exclude) if exclude is not None else candidates
            if len(candidates) == 0:
                return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
            ids, scores = self._als.recommend(0, scaled, N=n, filter_already_liked_items=False,
                                              recalculate_user=True, items=candidates)
        else:
            ids, scores = self._als.recommend(0, scaled, N=n, filter_already_liked_items=False,
                                              recalculate_user=True,
                                              filter_items=exclude if exclude is not None and len(exclude) else None)
        keep = np.isfinite(scores) & (scores > -1e30)
        return ids[keep], scores[keep]

    def recommend_known(self, user_index: int, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """Top ``n`` for a trained user from the stored factors (used by offline evaluation)."""
        scores = self.item_factors @ self.user_factors[user_index]
        if exclude is not None and len(exclude):
            scores[exclude] = -np.inf
        top = np.argpartition(-scores, min(n, len(scores) - 1))[:n]
        return top[np.argsort(-scores[top])]

    def explain(self, row: sp.csr_matrix, item_indexes: np.ndarray) -> list[int | None]:
        """For each recommended item, the interacted item that contributed most to its score."""
        reasons: list[int | None] = []
        weights = None
        for item in item_indexes:
            _score, contributions, weights = self._als.explain(0, row, int(item), user_weights=weights, N=1)
            reasons.append(int(contributions[0][0]) if contributions else None)
        return reasons


# --- non-personal models ----------------------------------------------------------------------

def item_neighbours(matrix: sp.csr_matrix, k: int = 50) -> sp.csr_matrix:
    """Cosine item-kNN: each item's ``k`` most similar items (items × items, sparse)."""
    from implicit.nearest_neighbours import ItemItemRecommender, normalize

    _single_threaded_blas()
    # What implicit's CosineRecommender does, but handing it CSR (its own normalize returns COO,
    # which it then converts with a warning).
    model = ItemItemRecommender(K=k + 1, num_threads=1)
    model.fit(normalize(matrix.T).T.tocsr(), show_progress=False)
    similarity = model.similarity.tocsr()
    similarity.setdiag(0)
    similarity.eliminate_zeros()
    return similarity.astype(np.float32)


def co_purchase_lift(baskets: pd.DataFrame, item_index: dict[str, int], min_count: int = 2,
                     k: int = 50) -> sp.csr_matrix:
    """Items bought in the same basket, scored by lift = P(a,b) / (P(a) P(b)) times support.

    Lift keeps best sellers from showing up as "bought together" with everything; multiplying by
    log(1 + count) keeps one-off coincidences from topping the list. ``baskets`` has basket_id,
    item_id (an order's lines, or one session's buys).
    """
    n_items = len(item_index)
    known = baskets[baskets["item_id"].isin(item_index)].drop_duplicates(["basket_id", "item_id"])
    if known.empty:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    basket_codes, basket_ids = pd.factorize(known["basket_id"])
    items = known["item_id"].map(item_index).to_numpy()
    incidence = sp.csr_matrix((np.ones(len(items), dtype=np.float32), (basket_codes, items)),
                              shape=(len(basket_ids), n_items))
    together = (incidence.T @ incidence).tocsr()
    together.setdiag(0)
    together.eliminate_zeros()
    together.data[together.data < min_count] = 0
    together.eliminate_zeros()
    if together.nnz == 0:
        return together.astype(np.float32)
    support = np.asarray(incidence.sum(axis=0)).ravel()
    total = float(len(basket_ids))
    coo = together.tocoo()
    lift = coo.data * total / (support[coo.row] * support[coo.col])
    score = lift * np.log1p(coo.data)
    scored = sp.csr_matrix((score.astype(np.float32), (coo.row, coo.col)), shape=together.shape)
    return _top_k_per_row(scored, k)


def _top_k_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for r in range(matrix.shape[0]):
        start, end = matrix.indptr[r], matrix.indptr[r + 1]
        if end == start:
            continue
        data = matrix.data[start:end]
        keep = np.argsort(-data)[:k]
        rows.append(np.full(len(keep), r))
        cols.append(matrix.indices[start:end][keep])
        vals.append(data[keep])
    if not rows:
        return sp.csr_matrix(matrix.shape, dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=matrix.shape)


def popularity(frame: pd.DataFrame, item_index: dict[str, int], as_of: pd.Timestamp,
               weights: dict[str, float], days: int = POPULAR_DAYS) -> sp.csr_matrix:
    """Weighted interactions per item per day for the last ``days`` days (items × days, newest last)."""
    n_items = len(item_index)
    recent = frame[(frame["ts"] > as_of - pd.Timedelta(days=days)) & frame["item_id"].isin(item_index)]
    if recent.empty:
        return sp.csr_matrix((n_items, days), dtype=np.float32)
    day = days - 1 - ((as_of - recent["ts"]).dt.total_seconds().to_numpy() // 86400).astype(int)
    weight = recent["type"].map(weights).fillna(0).to_numpy(dtype=np.float32)
    items = recent["item_id"].map(item_index).to_numpy()
    return sp.csr_matrix((weight, (items, np.clip(day, 0, days - 1))), shape=(n_items, days))


# --- content similarity (cold items) ---------------------------------------------------------

_TOKEN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z0-9]+")


def title_tokens(titles: list[str]) -> list[set[str]]:
    """Words of each title (jieba for Chinese), for content similarity of items nobody touched."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokens = []
    for title in titles:
        words: set[str] = set()
        for chunk in _TOKEN.findall(title or ""):
            if chunk[0] >= "\u4e00":
                words.update(w for w in jieba.lcut(chunk) if len(w) > 1)
            else:
                words.add(chunk.lower())
        tokens.append(words)
    return tokens
