"""Candidate retrievers and the features a ranker reads about each (user, candidate). Pure.

A shop's own data decides what matters: on a grocery-like shop customers re-buy their staples,
on a fashion shop they never buy the same coat twice. So several retrievers each propose items
for a user, and :mod:`ranker` learns how to order the merged candidates:

- ``popularity``: the shop's best sellers of the last ``POPULAR_WINDOW_DAYS`` (weighted events);
- ``repeat``: the user's own items, by their decayed interaction weight (what they keep buying);
- ``item_knn``: items like the user's items (cosine on co-occurrence, ``model.item_neighbours``);
- ``als``: implicit's matrix factorisation (``model.ALSModel``);
- ``category_popular``: the best sellers of the categories the user buys and browses, each
  category's ``CATEGORY_TOP`` weighted by the user's share of interest in it.

:class:`Histories` is everything known before a cut-off, as sparse users × items matrices.
Candidates are made for a block of ``BLOCK_USERS`` users at once: each retriever's top list (sparse
rows, or implicit's batched top-k for ALS, never a dense block × items array), then the features of
the merged (user, item) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from services.recommendation.model import ALSModel, Interactions, build_interactions, item_neighbours

RETRIEVERS = ("popularity", "repeat", "item_knn", "als", "category_popular")  # append only: codes are stored
CATEGORY_TOP = 200  # best sellers kept per category for ``category_popular``
POPULAR_WINDOW_DAYS = 30
BLOCK_USERS = 128
DAY_S = 86400.0


@dataclass
class Histories:
    """The interactions before ``as_of``, in the forms the retrievers and features read.

    ``confidence``: the decayed, type-weighted matrix ALS and item-kNN train on; ``buys``: distinct
    days the user bought the item; ``touches``: distinct days with any interaction; ``last_seen``,
    ``last_buy``, ``first_buy``: days before ``as_of``, fractional, +1 (so that 0 means "never").
    """

    as_of: pd.Timestamp
    user_ids: np.ndarray
    item_ids: np.ndarray
    confidence: sp.csr_matrix
    buys: sp.csr_matrix
    touches: sp.csr_matrix
    last_seen: sp.csr_matrix
    last_buy: sp.csr_matrix
    first_buy: sp.csr_matrix
    by_type: dict[str, sp.csr_matrix]  # events of each type (pv, fav, cart) per pair
    last_day: sp.csr_matrix  # events in the day before ``as_of`` per pair
    categories: np.ndarray  # category code per item (-1: none)
    user_buy_days: np.ndarray  # distinct days each user bought anything
    user_index: dict = field(repr=False, default_factory=dict)
    item_index: dict = field(repr=False, default_factory=dict)

    def __post_init__(self):
        self.user_index = self.user_index or {u: i for i, u in enumerate(self.user_ids.tolist())}
        self.item_index = self.item_index or {t: i for i, t in enumerate(self.item_ids.tolist())}

    @property
    def shape(self) -> tuple[int, int]:
        return self.confidence.shape


def build_histories(frame: pd.DataFrame, as_of: pd.Timestamp, params: dict,
                    categories: pd.Series | None = None, base: Interactions | None = None) -> Histories:
    """``frame``: user_id, item_id, type, ts (UTC), only what happened up to ``as_of``.
    ``categories``: category per item_id (optional). ``base``: ``build_interactions`` of the same
    frame, when the caller already has it."""
    base = base if base is not None else build_interactions(frame, as_of, params)
    users, items = base.user_index, base.item_index
    u = frame["user_id"].astype(str).map(users)
    i = frame["item_id"].astype(str).map(items)
    known = u.notna() & i.notna()
    events = pd.DataFrame({"u": u[known].to_numpy(dtype=np.int64), "i": i[known].to_numpy(dtype=np.int64),
                           "type": frame.loc[known, "type"].to_numpy(),
                           "buy": (frame.loc[known, "type"] == "buy").to_numpy(),
                           "age": (as_of - frame.loc[known, "ts"]).dt.total_seconds().to_numpy() / DAY_S})
    events["day"] = np.floor(events["age"])
    shape = base.matrix.shape

    def per_pair(rows: pd.DataFrame, values: str, how: str) -> sp.csr_matrix:
        grouped = rows.groupby(["u", "i"], sort=False)[values].agg(how)
        index = grouped.index
        return sp.csr_matrix((grouped.to_numpy(dtype=np.float32),
                              (index.get_level_values(0), index.get_level_values(1))), shape=shape)

    days = events.drop_duplicates(["u", "i", "day"])
    bought = events[events["buy"]]
    bought_days = bought.drop_duplicates(["u", "i", "day"])
    codes = np.full(len(base.item_ids), -1, dtype=np.int32)
    if categories is not None and len(categories):
        mapped = pd.Series(base.item_ids).map(categories.astype(str))
        codes = pd.factorize(mapped)[0].astype(np.int32)  # NaN → -1
    return Histories(
        as_of=as_of, user_ids=base.user_ids, item_ids=base.item_ids, confidence=base.matrix,
        buys=per_pair(bought_days.assign(n=1), "n", "sum"), touches=per_pair(days.assign(n=1), "n", "sum"),
        last_seen=per_pair(events.assign(d=events["age"] + 1), "d", "min"),
        last_buy=per_pair(bought.assign(d=bought["age"] + 1), "d", "min"),
        first_buy=per_pair(bought.assign(d=bought["age"] + 1), "d", "max"),
        by_type={kind: per_pair(events[events["type"] == kind].assign(n=1), "n", "sum")
                 for kind in ("pv", "fav", "cart")},
        last_day=per_pair(events[events["age"] < 1].assign(n=1), "n", "sum"),
        categories=codes, user_index=users, item_index=items,
        user_buy_days=np.bincount(bought_days.drop_duplicates(["u", "day"])["u"].to_numpy(dtype=np.int64),
                                  minlength=shape[0]).astype(np.float32))


def recent_popularity(frame: pd.DataFrame, histories: Histories, weights: dict[str, float],
                      days: int = POPULAR_WINDOW_DAYS) -> np.ndarray:
    """Per item: its weighted interactions in the ``days`` before ``as_of``."""
    recent = frame[(frame["ts"] > histories.as_of - pd.Timedelta(days=days)) & (frame["ts"] <= histories.as_of)]
    items = recent["item_id"].astype(str).map(histories.item_index)
    weight = recent["type"].map(weights).fillna(0.0)
    keep = items.notna()
    return np.bincount(items[keep].to_numpy(dtype=np.int64), weights=weight[keep].to_numpy(dtype=np.float64),
                       minlength=histories.shape[1]).astype(np.float32)


@dataclass
class Retrievers:
    """The fitted retrievers of one cut-off and the per-item facts the features use."""

    histories: Histories
    popular: np.ndarray  # recent weighted interactions per item
    popular_week: np.ndarray
    neighbours: sp.csr_matrix  # items × items cosine similarity
    user_factors: np.ndarray  # ALS
    item_factors: np.ndarray
    item_buyers: np.ndarray  # users who bought the item
    item_rebuy_share: np.ndarray  # of those, the share who bought it on 2+ days
    item_age: np.ndarray  # days since the item's first interaction (+1)
    category_top: sp.csr_matrix  # categories × items: each category's best sellers, by recent popularity

    def user_scores(self, users: np.ndarray) -> dict[str, sp.csr_matrix]:
        """block × items, sparse: the scores of the retrievers that score per user from their own
        items (computed once per block, read by ``top`` and ``pair_scores``)."""
        own = self.histories.confidence[users]
        return {"repeat": own, "item_knn": (own @ self.neighbours).tocsr(),
                "category_popular": (sp.csr_matrix(category_shares(self.histories, users)) @ self.category_top).tocsr()}

    def top(self, name: str, users: np.ndarray, k: int, seen: sp.csr_matrix | None,
            sparse: dict[str, sp.csr_matrix]) -> np.ndarray:
        """block × k: retriever ``name``'s best items for each user, best first (-1 pads); items
        in ``seen`` (block × items) are never listed. ``sparse``: ``user_scores(users)``."""
        h = self.histories
        if name == "popularity":  # the same list for everyone, less what each has seen
            leaders = np.argsort(-self.popular, kind="stable")
            leaders = leaders[self.popular[leaders] > 0][:k + (int(np.diff(seen.indptr).max()) if seen is not None
                                                               and seen.nnz else 0)]
            out = np.full((len(users), k), -1, dtype=np.int64)
            for r in range(len(users)):
                listed = leaders if seen is None else leaders[~np.isin(leaders, seen.indices[seen.indptr[r]:
                                                                                              seen.indptr[r + 1]])]
                out[r, :min(k, len(listed))] = listed[:k]
            return out
        if name == "als":
            from implicit.cpu.topk import topk

            ids, scores = topk(self.item_factors, self.user_factors[users], min(k, h.shape[1]),
                               filter_query_items=seen, num_threads=0)
            ids = np.where(np.isfinite(scores) & (scores > -1e30), ids, -1)
            return _pad(ids, k)
        if name == "repeat" and seen is not None:  # its items are all seen ones
            return np.full((len(users), k), -1, dtype=np.int64)
        block = sparse[name]
        if seen is not None:
            block = block - block.multiply(seen > 0)  # drop the seen items
            block.eliminate_zeros()
        return _sparse_top(block.tocsr(), k)

    def pair_scores(self, name: str, users: np.ndarray, rows: np.ndarray, items: np.ndarray,
                    sparse: dict[str, sp.csr_matrix]) -> np.ndarray:
        """Retriever ``name``'s score of each (users[rows], items) pair."""
        if name == "popularity":
            return self.popular[items]
        if name == "als":
            return np.einsum("ij,ij->i", self.user_factors[users[rows]], self.item_factors[items])
        return np.asarray(sparse[name][rows, items]).ravel()


def _pad(ids: np.ndarray, k: int) -> np.ndarray:
    if ids.shape[1] >= k:
        return ids[:, :k]
    return np.hstack([ids, np.full((ids.shape[0], k - ids.shape[1]), -1, dtype=ids.dtype)])


def _sparse_top(block: sp.csr_matrix, k: int) -> np.ndarray:
    """block × k: each row's ``k`` largest positive entries, best first (-1 pads)."""
    out = np.full((block.shape[0], k), -1, dtype=np.int64)
    for r in range(block.shape[0]):
        start, end = block.indptr[r], block.indptr[r + 1]
        values = block.data[start:end]
        positive = values > 0
        cols, values = block.indices[start:end][positive], values[positive]
        if len(values) > k:
            keep = np.argpartition(-values, k - 1)[:k]
            cols, values = cols[keep], values[keep]
        order = np.argsort(-values, kind="stable")
        out[r, :len(order)] = cols[order]
    return out


def fit_retrievers(frame: pd.DataFrame, histories: Histories, params: dict, als: ALSModel | None = None,
                   neighbours: sp.csr_matrix | None = None) -> Retrievers:
    """Fit every retriever on ``histories`` (``frame`` is the same interactions as rows). ``als``
    and ``neighbours`` already fitted on the same confidence matrix are reused (their item space
    may extend past the histories' with items nobody touched: those are cut off)."""
    h = histories
    n_items = h.shape[1]
    if als is None:
        als = ALSModel(**{k: params[k] for k in ("factors", "regularization", "alpha", "iterations",
                                                   "random_state")}).fit(h.confidence)
    if neighbours is None:
        neighbours = item_neighbours(h.confidence, params["neighbours"])
    buyers = np.asarray((h.buys > 0).sum(axis=0)).ravel()
    rebuyers = np.asarray((h.buys > 1).sum(axis=0)).ravel()
    first = h.last_seen.max(axis=0).toarray().ravel()
    popular = recent_popularity(frame, h, params["weights"])
    return Retrievers(
        histories=h, popular=popular,
        popular_week=recent_popularity(frame, h, params["weights"], days=7),
        neighbours=neighbours.tocsr()[:n_items, :n_items], user_factors=als.user_factors,
        item_factors=als.item_factors[:n_items],
        item_buyers=buyers.astype(np.float32),
        item_rebuy_share=np.where(buyers > 0, rebuyers / np.maximum(buyers, 1), 0).astype(np.float32),
        item_age=first.astype(np.float32), category_top=_category_top(h.categories, popular))


FEATURES = (
    *(f"{name}_score" for name in RETRIEVERS), *(f"{name}_rank" for name in RETRIEVERS),
    "user_item_days", "user_item_buy_days", "user_item_views", "user_item_favs", "user_item_carts",
    "user_item_last_day", "days_since_seen", "days_since_bought", "buy_interval",
    "due_ratio", "user_category_share", "item_popular_30d", "item_popular_7d", "item_buyers",
    "item_rebuy_share", "item_age", "user_items", "user_days_since_active",
    "user_buy_days", "user_item_buy_share",
)


@dataclass
class Candidates:
    """Merged candidates of a block of users: row ``r`` of ``features`` is the pair (users[r], items[r])."""

    users: np.ndarray  # user index of each row
    items: np.ndarray  # item index of each row
    features: np.ndarray  # rows × FEATURES, float32
    retrieved_by: dict[str, np.ndarray]  # per retriever: its top list per user (block × k, -1 pads)


def candidates(retrievers: Retrievers, users: np.ndarray, k: int, exclude_seen: bool) -> Candidates:
    """Each retriever's top ``k`` for every user in ``users`` (a block), merged, with features."""
    h = retrievers.histories
    seen = h.confidence[users] if exclude_seen else None
    sparse = retrievers.user_scores(users)
    lists = {name: retrievers.top(name, users, k, seen, sparse) for name in RETRIEVERS}
    rows, cols = [], []
    for r in range(len(users)):
        merged = np.unique(np.concatenate([lists[name][r] for name in RETRIEVERS]))
        merged = merged[merged >= 0]
        rows.append(np.full(len(merged), r))
        cols.append(merged)
    row = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
    col = np.concatenate(cols) if cols else np.array([], dtype=np.int64)
    user = users[row]
    columns = {}
    for name in RETRIEVERS:
        columns[f"{name}_score"] = retrievers.pair_scores(name, users, row, col, sparse)
        columns[f"{name}_rank"] = _rank_of(lists[name], row, col, k)

    def pair(matrix: sp.csr_matrix) -> np.ndarray:
        return np.asarray(matrix[users][row, col]).ravel().astype(np.float32)

    touches, buys = pair(h.touches), pair(h.buys)
    last_seen, last_buy, first_buy = pair(h.last_seen), pair(h.last_buy), pair(h.first_buy)
    interval = np.where(buys > 1, (first_buy - last_buy) / np.maximum(buys - 1, 1), np.nan)
    columns.update({
        "user_item_days": touches, "user_item_buy_days": buys, "user_item_views": pair(h.by_type["pv"]),
        "user_item_favs": pair(h.by_type["fav"]), "user_item_carts": pair(h.by_type["cart"]),
        "user_item_last_day": pair(h.last_day),
        "days_since_seen": np.where(last_seen > 0, last_seen - 1, np.nan),
        "days_since_bought": np.where(last_buy > 0, last_buy - 1, np.nan),
        "buy_interval": interval,
        "due_ratio": np.where(buys > 1, (last_buy - 1) / np.maximum(interval, 1), np.nan),
        "user_category_share": _category_share(h, users, row, col),
        "item_popular_30d": retrievers.popular[col], "item_popular_7d": retrievers.popular_week[col],
        "item_buyers": retrievers.item_buyers[col], "item_rebuy_share": retrievers.item_rebuy_share[col],
        "item_age": retrievers.item_age[col],
    })
    user_items = np.diff(h.confidence.indptr)[users].astype(np.float32)
    columns["user_items"] = user_items[row]
    columns["user_days_since_active"] = days_since_active(h.last_seen[users])[row]
    buy_days = h.user_buy_days[users][row]
    columns["user_buy_days"] = buy_days
    columns["user_item_buy_share"] = np.divide(buys, buy_days, out=np.zeros_like(buys), where=buy_days > 0)
    features = np.column_stack([columns[name] for name in FEATURES]).astype(np.float32) if len(row) else \
        np.zeros((0, len(FEATURES)), dtype=np.float32)
    return Candidates(users=user, items=col, features=features, retrieved_by=lists)


def _rank_of(lists: np.ndarray, row: np.ndarray, col: np.ndarray, k: int) -> np.ndarray:
    """The 1-based position of each (row, col) pair in ``lists`` (block × k), k + 1 when unlisted."""
    listed_rows, slots = np.nonzero(lists >= 0)
    if len(listed_rows) == 0:
        return np.full(len(row), k + 1, dtype=np.float32)
    keys = listed_rows.astype(np.int64) * (1 << 32) + lists[listed_rows, slots]
    order = np.argsort(keys)
    keys, slots = keys[order], slots[order]
    wanted = row.astype(np.int64) * (1 << 32) + col
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[at] == wanted, slots[at] + 1, k + 1).astype(np.float32)


def days_since_active(last_seen: sp.csr_matrix) -> np.ndarray:
    """Per row of a ``Histories.last_seen`` block: days since the user's latest interaction
    (the smallest stored value, less the +1); NaN for a row with none."""
    last_seen = last_seen.tocsr()
    filled = np.diff(last_seen.indptr) > 0
    smallest = np.full(last_seen.shape[0], np.nan, dtype=np.float32)
    if filled.any():
        smallest[filled] = np.minimum.reduceat(last_seen.data, last_seen.indptr[:-1][filled])
    return smallest - 1


def category_shares(h: Histories, users: np.ndarray) -> np.ndarray:
    """users × categories: the share of each user's interaction weight in each category."""
    codes = h.categories
    n_categories = int(codes.max()) + 1 if (codes >= 0).any() else 0
    block = h.confidence[users].tocoo()
    known = codes[block.col] >= 0
    per_category = sp.csr_matrix((block.data[known], (block.row[known], codes[block.col[known]])),
                                 shape=(len(users), n_categories)).toarray()
    totals = per_category.sum(axis=1, keepdims=True)
    return np.divide(per_category, totals, out=np.zeros_like(per_category), where=totals > 0)


def _category_top(codes: np.ndarray, popular: np.ndarray) -> sp.csr_matrix:
    """categories × items: each category's ``CATEGORY_TOP`` items with recent interactions, valued
    by their popularity."""
    n_categories = int(codes.max()) + 1 if (codes >= 0).any() else 0
    items = np.nonzero((codes >= 0) & (popular > 0))[0]
    order = np.lexsort((-popular[items], codes[items]))  # by category, the most popular first
    items = items[order]
    rank = np.arange(len(items)) - np.searchsorted(codes[items], codes[items], side="left")
    items = items[rank < CATEGORY_TOP]
    return sp.csr_matrix((popular[items], (codes[items], items)), shape=(n_categories, len(codes)),
                         dtype=np.float32)


def _category_share(h: Histories, users: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """The share of the user's interaction weight that falls in the candidate's category."""
    codes = h.categories
    if (codes < 0).all():
        return np.zeros(len(row), dtype=np.float32)
    share = category_shares(h, users)
    item_codes = codes[col]
    return np.where(item_codes >= 0, share[row, np.maximum(item_codes, 0)], 0).astype(np.float32)
