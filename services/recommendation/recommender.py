"""The trained recommender a serving process holds per shop: every model plus the catalogue.

:func:`train` builds it from interaction rows, order baskets and the catalogue;
:class:`Recommender` answers the five questions of the API (for a user, similar, bought
together, popular, for an anonymous session), each item with a ``reason`` derived from the model
that picked it, and says when it had to fall back. Pure: no Flask, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from services.recommendation.candidates import (
    BLOCK_USERS,
    POPULAR_WINDOW_DAYS,
    RETRIEVERS,
    build_histories,
    days_since_active,
    fit_retrievers,
)
from services.recommendation.evaluate import MODES, ranked_lists
from services.recommendation.model import (
    DEFAULT_PARAMS,
    POPULAR_DAYS,
    ALSModel,
    build_interactions,
    co_purchase_lift,
    item_neighbours,
    popularity,
    title_tokens,
    user_row,
)
from shared.i18n import Message, t

TYPE_CODE = {"pv": 0, "fav": 1, "cart": 2, "buy": 3}
TYPE_VERB = {code: f"recommendation.verb_{kind}" for kind, code in TYPE_CODE.items()}
PRECOMPUTED = 100  # ranked picks kept per known user and mode; a larger n is answered in real time
# Users precomputed per mode, the most recently active first: ~0.9 KB each per mode, so a shop of
# millions does not hold gigabytes; the others are answered in real time.
PRECOMPUTED_USERS = 300_000
# Single retrievers whose lists are precomputed when they serve alone.
PRECOMPUTED_ALONE = ("als", "item_knn", "category_popular")
# Versions trained before category_popular: code 4 was a staple bought again.
LEGACY_RETRIEVER_CODES = ("popularity", "repeat", "item_knn", "als")
RESCORE_NEIGHBOURS = 50  # neighbours of the items a user touched since training, merged into their picks
RRF_K = 60  # reciprocal-rank fusion's usual constant
# What joins a user's precomputed picks after new events, and its weight in the fusion against
# them: in "new" the neighbours of the new items, in "all" those items themselves (what a user
# just viewed is what they come back to). Chosen on the re-score benchmark (docs/benchmarks.md).
FRESH_WEIGHT = {"new": 0.5, "all": 1.0}


@dataclass
class Pick:
    item_id: str
    score: float
    reason: Message
    title: str | None = None  # the catalogue's at training, so a console names the item without a lookup


@dataclass
class Answer:
    items: list[Pick]
    fallback: str | None = None
    message: Message | None = None


def _csr_arrays(name: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {f"{name}_data": matrix.data, f"{name}_indices": matrix.indices, f"{name}_indptr": matrix.indptr,
            f"{name}_shape": np.array(matrix.shape)}


def _csr_from(name: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    return sp.csr_matrix((arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]),
                         shape=tuple(arrays[f"{name}_shape"]))


def train(interactions: pd.DataFrame, baskets: pd.DataFrame, catalogue: pd.DataFrame,
          params: dict | None = None, as_of: pd.Timestamp | None = None, rankers: dict | None = None,
          progress=None) -> Recommender:
    """Fit every model on all the data given; with ``rankers`` (per mode, ``evaluate.MODES``),
    precompute every known user's ranked top ``PRECOMPUTED`` for the modes ``params["serve"]``
    gives to the ranker.

    Parameters
    ----------
    interactions : DataFrame
        user_id, item_id, type (pv/fav/cart/buy), ts (UTC). Order lines come in as ``buy``.
    baskets : DataFrame
        basket_id, item_id: the lines of each paid order (for "bought together").
    catalogue : DataFrame
        item_id, title, category: products, including ones nobody has touched yet.
    """
    params = {**DEFAULT_PARAMS, **(params or {})}
    as_of = as_of if as_of is not None else interactions["ts"].max()
    base = build_interactions(interactions, as_of, params)
    # One item space for every model: interacted items plus the rest of the catalogue.
    # A set difference: np.setdiff1d on string arrays is quadratic (minutes at 50k items).
    extra = sorted(set(catalogue["item_id"].astype(str)) - set(base.item_ids.tolist()))
    item_ids = np.array([*base.item_ids.tolist(), *extra])
    matrix = sp.csr_matrix((base.matrix.data, base.matrix.indices, base.matrix.indptr),
                           shape=(len(base.user_ids), len(item_ids)))
    types = _strongest_types(interactions, base.user_index, {t: i for i, t in enumerate(item_ids.tolist())}, matrix)
    als = ALSModel(**{k: params[k] for k in ("factors", "regularization", "alpha", "iterations", "random_state")})
    als.fit(matrix)
    item_index = {t: i for i, t in enumerate(item_ids.tolist())}
    meta = catalogue.reindex(columns=["item_id", "title", "category"])
    meta = meta.assign(item_id=meta["item_id"].astype(str)).drop_duplicates("item_id").set_index("item_id")
    meta = meta.reindex(item_ids)
    titles = meta["title"].fillna("").astype(str).to_numpy()
    categories = meta["category"].fillna("").astype(str).to_numpy()
    neighbours = item_neighbours(matrix, params["neighbours"])
    precomputed = {}
    rankers = rankers or {}
    # Whatever serves a mode, its lists are computed here when scoring them costs a request
    # milliseconds: the ranked blend, ALS and item-kNN (popularity and the user's own items are
    # cheap enough to answer live).
    modes = {mode: how for mode, how in params.get("serve", {}).items()
             if (how == "ranked" and mode in rankers) or how in PRECOMPUTED_ALONE}
    if modes:
        item_categories = meta["category"].dropna().astype(str)
        histories = build_histories(interactions, as_of, params, item_categories, base=base)
        retrievers = fit_retrievers(interactions, histories, params, als=als, neighbours=neighbours)
        users = _most_recent(histories, PRECOMPUTED_USERS)
        if progress:
            progress(users=len(users))
        for mode, how in modes.items():
            precomputed[mode] = _precompute(retrievers, rankers.get(mode), users, MODES[mode],
                                            alone=None if how == "ranked" else how)
    return Recommender(
        params=params, as_of=as_of, user_ids=base.user_ids, item_ids=item_ids, matrix=matrix, types=types,
        als=als, neighbours=neighbours,
        together=co_purchase_lift(baskets, item_index, k=params["neighbours"]),
        popular=popularity(interactions, item_index, as_of, params["weights"]),
        titles=titles, categories=categories, tokens=_token_matrix(titles), precomputed=precomputed,
    )


def _most_recent(histories, limit: int) -> np.ndarray:
    """The ``limit`` users active most recently (all of them when there are fewer), sorted."""
    users = np.arange(histories.shape[0])
    if len(users) <= limit:
        return users
    return np.sort(np.argsort(days_since_active(histories.last_seen), kind="stable")[:limit])


def _precompute(retrievers, model, users: np.ndarray, exclude_seen: bool,
                alone: str | None = None) -> dict[str, np.ndarray]:
    """For ``users`` (sorted user indexes): ``rows``, each user's row (-1: none, answered in real
    time), and rows × PRECOMPUTED items (-1 pads), their scores, the source of each: the ranker's
    picks, or with ``alone`` that retriever's own."""
    rows = np.full(retrievers.histories.shape[0], -1, dtype=np.int32)
    rows[users] = np.arange(len(users))
    items = np.full((len(users), PRECOMPUTED), -1, dtype=np.int32)
    scores = np.zeros((len(users), PRECOMPUTED), dtype=np.float32)
    by = np.zeros((len(users), PRECOMPUTED), dtype=np.int8)
    lists = ranked_lists(retrievers, model, users, exclude_seen, PRECOMPUTED)[0] if alone is None else \
        _alone_lists(retrievers, alone, users, exclude_seen)
    for user, (picked, score, source) in lists.items():
        row = rows[user]
        items[row, :len(picked)], scores[row, :len(picked)], by[row, :len(picked)] = picked, score, source
    return {"rows": rows, "items": items, "scores": scores, "by": by}


def _alone_lists(retrievers, name: str, users: np.ndarray, exclude_seen: bool) -> dict:
    """Per user: retriever ``name``'s top PRECOMPUTED (items, scores, its code as the source)."""
    h, code, out = retrievers.histories, RETRIEVERS.index(name), {}
    for start in range(0, len(users), BLOCK_USERS):
        block = users[start:start + BLOCK_USERS]
        sparse = retrievers.user_scores(block)
        top = retrievers.top(name, block, PRECOMPUTED, h.confidence[block] if exclude_seen else None, sparse)
        row, col = np.nonzero(top >= 0)  # row-major: each user's picks stay in order
        picked = top[row, col]
        score = retrievers.pair_scores(name, block, row, picked, sparse).astype(np.float32)
        bounds = np.searchsorted(row, np.arange(len(block) + 1))
        for r, user in enumerate(block.tolist()):
            part = slice(bounds[r], bounds[r + 1])
            out[user] = (picked[part], score[part], np.full(bounds[r + 1] - bounds[r], code, dtype=np.int8))
    return out


def _strongest_types(frame: pd.DataFrame, user_index: dict, item_index: dict,
                     matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Per (user, item) the strongest interaction type, to word reasons ("因为您购买了 X")."""
    codes = frame["type"].map(TYPE_CODE)
    strongest = (pd.DataFrame({"u": frame["user_id"].map(user_index), "i": frame["item_id"].map(item_index),
                               "t": codes}).dropna().groupby(["u", "i"])["t"].max().reset_index())
    return sp.csr_matrix((strongest["t"].to_numpy(dtype=np.int8) + 1,
                          (strongest["u"].to_numpy(dtype=np.int64), strongest["i"].to_numpy(dtype=np.int64))),
                         shape=matrix.shape)


def _token_matrix(titles: np.ndarray) -> sp.csr_matrix:
    """items × title words (binary), for content similarity of items without behaviour."""
    tokens = title_tokens(titles.tolist())
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, words in enumerate(tokens):
        for word in words:
            rows.append(row)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                         shape=(len(titles), max(len(vocabulary), 1)))


class Recommender:
    """Everything needed to answer recommendation requests for one shop, from memory."""

    def __init__(self, *, params, as_of, user_ids, item_ids, matrix, types, als, neighbours, together, popular,
                 titles, categories, tokens, precomputed=None, retriever_codes=RETRIEVERS):
        self.params, self.as_of = params, pd.Timestamp(as_of)
        self.user_ids, self.item_ids = np.asarray(user_ids), np.asarray(item_ids)
        self.matrix, self.types, self.als = matrix.tocsr(), types.tocsr(), als
        self.neighbours, self.together, self.popular_daily = neighbours.tocsr(), together.tocsr(), popular.tocsr()
        self.titles, self.categories, self.tokens = np.asarray(titles), np.asarray(categories), tokens.tocsr()
        self.user_index = {u: i for i, u in enumerate(self.user_ids.tolist())}
        self.item_index = {t: i for i, t in enumerate(self.item_ids.tolist())}
        self.category_items = pd.Series(np.arange(len(self.item_ids))).groupby(self.categories).apply(
            lambda s: s.to_numpy()).to_dict()
        self.precomputed = precomputed or {}  # mode → {"rows": user → row, "items", "scores", "by"}
        self.retriever_codes = retriever_codes  # what each code in "by" names
        self.category_codes = pd.factorize(self.categories)[0]  # per item, for live category shares
        self._popular_rank: dict[bool, np.ndarray] = {}

    # -- artifact format ------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {"user_ids": self.user_ids.astype(str), "item_ids": self.item_ids.astype(str),
                  "titles": self.titles.astype(str), "categories": self.categories.astype(str),
                  "user_factors": self.als.user_factors, "item_factors": self.als.item_factors,
                  "as_of": np.array([self.as_of.value], dtype=np.int64),
                  "retriever_codes": np.array(self.retriever_codes, dtype=str)}
        for name, matrix in (("matrix", self.matrix), ("types", self.types), ("neighbours", self.neighbours),
                             ("together", self.together), ("popular", self.popular_daily), ("tokens", self.tokens)):
            arrays.update(_csr_arrays(name, matrix))
        for mode, lists in self.precomputed.items():
            arrays.update({f"top_{mode}_{part}": values for part, values in lists.items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], params: dict) -> Recommender:
        als = ALSModel.from_factors(arrays["user_factors"], arrays["item_factors"], params)
        return cls(params=params, as_of=pd.Timestamp(int(arrays["as_of"][0]), tz="UTC"),
                   user_ids=arrays["user_ids"], item_ids=arrays["item_ids"], titles=arrays["titles"],
                   categories=arrays["categories"], als=als,
                   **{name: _csr_from(name, arrays) for name in ("matrix", "types", "neighbours", "together",
                                                                  "popular", "tokens")},
                   precomputed={mode: {part: arrays[f"top_{mode}_{part}"] for part in ("rows", "items", "scores", "by")}
                                for mode in MODES if f"top_{mode}_items" in arrays},
                   retriever_codes=tuple(arrays["retriever_codes"].tolist()) if "retriever_codes" in arrays
                   else LEGACY_RETRIEVER_CODES)

    # -- helpers ----------------------------------------------------------------------------

    def _title(self, item: int) -> Message:
        title = self.titles[item]
        return t("recommendation.item_title", title=title[:24]) if title else \
            t("recommendation.item_id", item_id=str(self.item_ids[item]))

    def _category_filter(self, category: str | None) -> np.ndarray | None:
        if not category:
            return None
        return self.category_items.get(category, np.array([], dtype=np.int64))

    def _picks(self, items, scores, reasons) -> list[Pick]:
        return [Pick(str(self.item_ids[i]), round(float(s), 6), r, self.titles[i] or None)
                for i, s, r in zip(items, scores, reasons, strict=True)]

    def categories_known(self) -> set[str]:
        return {c for c in self.category_items if c}

    # -- the five questions -----------------------------------------------------------------

    def for_user(self, user_id: str | None, recent, n: int = 10, category: str | None = None,
                 exclude_seen: bool = True, explain: bool = True, hidden: np.ndarray | None = None) -> Answer:
        """Personal picks; ``recent`` maps item_id and type to lists of events since training
        (real-time feedback; a DataFrame works too). ``explain=False`` words every personal pick
        generically, for a reader who may not learn what this user bought or viewed. ``hidden``:
        item indexes never to offer (out of stock), whatever path answers."""
        weights: dict[int, float] = {}
        strongest: dict[int, int] = {}
        known = self.user_index.get(user_id) if user_id is not None else None
        if known is not None:
            start, end = self.matrix.indptr[known], self.matrix.indptr[known + 1]
            weights = dict(zip(self.matrix.indices[start:end].tolist(), self.matrix.data[start:end].tolist(),
                               strict=True))
            strongest = dict(zip(self.types.indices[self.types.indptr[known]:self.types.indptr[known + 1]].tolist(),
                                 (self.types.data[self.types.indptr[known]:self.types.indptr[known + 1]] - 1).tolist(),
                                 strict=True))
        just_bought = set()
        since_training: dict[int, float] = {}  # what the user did after the model's data ended
        for item_id, kind in zip(recent.get("item_id", []), recent.get("type", []), strict=True):
            item = self.item_index.get(str(item_id))
            if item is None:
                continue
            weights[item] = weights.get(item, 0.0) + self.params["weights"].get(kind, 0.0)
            since_training[item] = since_training.get(item, 0.0) + self.params["weights"].get(kind, 0.0)
            strongest[item] = max(strongest.get(item, 0), TYPE_CODE.get(kind, 0))
            if kind == "buy":
                just_bought.add(item)
        mode = "new" if exclude_seen else "all"
        seen = np.fromiter(weights.keys(), dtype=np.int64)
        exclude = seen if exclude_seen else np.fromiter(just_bought, dtype=np.int64)
        hidden = np.empty(0, dtype=np.int64) if hidden is None else hidden
        exclude = np.union1d(exclude, hidden)
        if known is not None and mode in self.precomputed:
            if not since_training:
                answer = self._precomputed_for(known, mode, n, category, explain, strongest, hidden)
            else:
                answer = self._rescored_for(known, mode, n, category, explain, strongest, since_training, exclude)
            if answer is not None:
                return answer
        candidates = self._category_filter(category)
        if not weights:
            return self._popular_fallback(n, category, "category_popular" if category else "popular", hidden)
        row = user_row(weights, len(self.item_ids))
        # The retriever that measured best alone at training, for this mode: what answers in real
        # time (a user with events since training, a category the precomputed picks lack).
        retriever = self.params.get("realtime", {}).get(mode) or self.params.get("personal", "als")
        if retriever == "popularity":
            return self._popular_for(n, category, exclude)
        if retriever == "category_popular":
            return self._category_popular_for(weights, n, category, exclude)
        if retriever == "repeat":
            items, scores, sources = self._own_items(weights, n, exclude, candidates)
        elif retriever == "item_knn":
            items, scores, sources = self._neighbours_of(row, n, exclude, candidates)
        else:
            items, scores = self.als.recommend(row, n, exclude=exclude, candidates=candidates)
            sources = self.als.explain(row, items) if len(items) else []
        if len(items) == 0:
            return self._popular_fallback(n, category, "category_popular" if category else "popular", hidden)
        again = retriever == "repeat"
        return Answer(self._picks(items, scores, [self._because(source, strongest, explain, again)
                                                  for source in sources]))

    def _because(self, source: int | None, strongest: dict[int, int], explain: bool, again: bool = False) -> Message:
        """The reason naming the user's own item behind a pick (or a generic one); ``again``: the
        pick is that item itself, offered again ("您买过", not "您常买": one purchase is not a habit)."""
        if not explain:
            return t("recommendation.picked_for_you")
        if source is None:
            return t("recommendation.matches_interests")
        kind = strongest.get(source, 0)
        if again and kind == TYPE_CODE["buy"]:
            return t("recommendation.bought_before", item=self._title(source))
        return t("recommendation.because", verb=t(TYPE_VERB[kind]), item=self._title(source))

    def _precomputed_for(self, user: int, mode: str, n: int, category: str | None, explain: bool,
                         strongest: dict[int, int], hidden: np.ndarray) -> Answer | None:
        """The ranker's picks computed at training; None when fewer than ``n`` remain after the
        category filter (the real-time path answers then)."""
        picked = self._precomputed_list(user, mode)
        if picked is None:
            return None
        items, scores, by = picked
        keep = self._in_category(items, category) & ~np.isin(items, hidden)
        items, scores, by = items[keep][:n], scores[keep][:n], by[keep][:n]
        if len(items) < n:
            return None
        return Answer(self._picks(items, scores, self._precomputed_reasons(user, items, by, explain, strongest)))

    def _rescored_for(self, user: int, mode: str, n: int, category: str | None, explain: bool,
                      strongest: dict[int, int], since_training: dict[int, float],
                      exclude: np.ndarray) -> Answer | None:
        """The precomputed picks updated by what the user did since training, without scoring
        everything again: what they now have (``exclude``) leaves, and a fresh list joins (mode
        "new": the neighbours of their new items; "all": those items), merged by reciprocal rank
        (a list's rank r adds weight/(RRF_K + r)); None when fewer than ``n`` remain (the
        real-time path answers then)."""
        picked = self._precomputed_list(user, mode)
        if picked is None:
            return None
        items, _scores, by = picked
        keep = ~np.isin(items, exclude)
        items, by = items[keep], by[keep]
        weight = FRESH_WEIGHT[mode]
        if mode == "new":
            fresh, _fresh_scores, sources = self._neighbours_of(user_row(since_training, len(self.item_ids)),
                                                               RESCORE_NEIGHBOURS, exclude, None)
        else:
            fresh, _fresh_scores, sources = self._own_items(since_training, RESCORE_NEIGHBOURS, exclude, None)
        if weight <= 0:
            fresh, sources = fresh[:0], []
        fused: dict[int, float] = {}
        for rank, item in enumerate(items.tolist(), start=1):
            fused[item] = 1.0 / (RRF_K + rank)
        for rank, item in enumerate(fresh.tolist(), start=1):
            fused[item] = fused.get(item, 0.0) + weight / (RRF_K + rank)
        order = sorted(fused, key=fused.__getitem__, reverse=True)
        merged = np.array(order, dtype=np.int64)
        merged = merged[self._in_category(merged, category)][:n]
        if len(merged) < n:
            return None
        because_fresh = dict(zip(fresh.tolist(), sources, strict=True))
        in_base = dict(zip(items.tolist(), by.tolist(), strict=True))
        base = [item for item in merged.tolist() if item not in because_fresh]
        base_reasons = dict(zip(base, self._precomputed_reasons(
            user, np.array(base, dtype=np.int64), np.array([in_base[i] for i in base], dtype=np.int8),
            explain, strongest), strict=True))
        reasons = [self._because(because_fresh[item], strongest, explain, again=mode == "all")
                   if item in because_fresh else base_reasons[item] for item in merged.tolist()]
        return Answer(self._picks(merged, [fused[item] for item in merged.tolist()], reasons))

    def _precomputed_list(self, user: int, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(items, scores, retriever codes) precomputed for ``user`` in ``mode``; None if not among them."""
        lists = self.precomputed[mode]
        row = int(lists["rows"][user]) if user < len(lists["rows"]) else -1
        if row < 0:  # not among the users precomputed at training
            return None
        items = lists["items"][row]
        keep = items >= 0
        return items[keep].astype(np.int64), lists["scores"][row][keep], lists["by"][row][keep]

    def _in_category(self, items: np.ndarray, category: str | None) -> np.ndarray:
        if not category:
            return np.ones(len(items), dtype=bool)
        return self.categories[items] == category

    def _precomputed_reasons(self, user: int, items: np.ndarray, by: np.ndarray, explain: bool,
                             strongest: dict[int, int]) -> list[Message]:
        """Each precomputed pick's reason, from the retriever that found it."""
        row_start, row_end = self.matrix.indptr[user], self.matrix.indptr[user + 1]
        own, weights = self.matrix.indices[row_start:row_end], self.matrix.data[row_start:row_end]
        contributions = self.neighbours[own][:, items].toarray() * weights[:, None] if len(own) and len(items) \
            else None
        reasons = []
        for k, (item, retriever) in enumerate(zip(items.tolist(), by.tolist(), strict=True)):
            name = self.retriever_codes[retriever] if retriever < len(self.retriever_codes) else "bought_again"
            if not explain:
                reasons.append(t("recommendation.picked_for_you"))
            elif name == "bought_again":
                reasons.append(t("recommendation.buy_again", item=self._title(item)))
            elif name == "repeat":
                reasons.append(self._because(item, strongest, explain, again=True))
            elif name == "popularity":
                reasons.append(t("recommendation.popular_in_shop", days=POPULAR_WINDOW_DAYS,
                                 rank=int(self._popular_ranks()[item])))
            elif name == "category_popular" and self.categories[item]:
                reasons.append(t("recommendation.popular_in_category", days=POPULAR_WINDOW_DAYS,
                                 category=self.categories[item], rank=int(self._popular_ranks(by_category=True)[item])))
            else:
                source = None
                if contributions is not None and contributions[:, k].max() > 0:
                    source = int(own[contributions[:, k].argmax()])
                reasons.append(self._because(source, strongest, explain))
        return reasons

    def _popular_ranks(self, by_category: bool = False) -> np.ndarray:
        """Each item's rank among the best sellers of the popularity retriever's window (1 = top),
        in the shop or, ``by_category``, in its own category."""
        if by_category not in self._popular_rank:
            counts = self._popular_counts()
            order = np.lexsort((-counts, self.category_codes)) if by_category else np.argsort(-counts, kind="stable")
            ranks = np.empty(len(counts), dtype=np.int32)
            if by_category:
                codes = self.category_codes[order]
                ranks[order] = np.arange(len(order)) - np.searchsorted(codes, codes, side="left") + 1
            else:
                ranks[order] = np.arange(1, len(counts) + 1)
            self._popular_rank[by_category] = ranks
        return self._popular_rank[by_category]

    def _popular_counts(self) -> np.ndarray:
        return np.asarray(self.popular_daily[:, -POPULAR_WINDOW_DAYS:].sum(axis=1)).ravel()

    def _own_items(self, weights: dict[int, float], n: int, exclude: np.ndarray,
                   candidates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """The user's own items by their decayed weight (what they keep coming back to): the
        repeat retriever in real time; each pick is its own source."""
        items = np.fromiter(weights.keys(), dtype=np.int64)
        scores = np.fromiter(weights.values(), dtype=np.float64)
        keep = ~np.isin(items, exclude)
        if candidates is not None:
            keep &= np.isin(items, candidates)
        items, scores = items[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")[:n]
        return items[order], scores[order], items[order].tolist()

    def _neighbours_of(self, row: sp.csr_matrix, n: int, exclude: np.ndarray,
                       candidates: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Item-kNN for a user: Σ over their items of weight × similarity; each pick's source is
        the item of theirs that contributed most."""
        scores = np.asarray((row @ self.neighbours).todense()).ravel()
        scores[exclude] = 0
        if candidates is not None:
            allowed = np.zeros(len(scores), dtype=bool)
            allowed[candidates] = True
            scores = np.where(allowed, scores, 0)
        order = np.argsort(-scores, kind="stable")[:n]
        order = order[scores[order] > 0]
        if len(order) == 0:
            return order, scores[order], []
        contributions = self.neighbours[row.indices][:, order].toarray() * row.data[:, None]
        sources = row.indices[contributions.argmax(axis=0)].tolist()
        return order, scores[order], sources

    def _category_popular_for(self, weights: dict[int, float], n: int, category: str | None,
                              exclude: np.ndarray) -> Answer:
        """Best sellers of the user's categories, each weighted by their share of interest in it
        (the ``category_popular`` retriever in real time)."""
        items = np.fromiter(weights.keys(), dtype=np.int64)
        codes = self.category_codes[items]
        known = (codes >= 0) & (self.categories[items] != "")
        share = np.bincount(codes[known], weights=np.fromiter(weights.values(), dtype=np.float64)[known],
                            minlength=int(self.category_codes.max()) + 1)
        if share.sum() <= 0:
            return self._popular_for(n, category, exclude)
        scores = self._popular_counts() * (share / share.sum())[self.category_codes]
        scores[exclude] = 0
        if category:
            scores = np.where(self.categories == category, scores, 0)
        order = np.argsort(-scores, kind="stable")[:n]
        order = order[scores[order] > 0]
        if len(order) == 0:
            return self._popular_for(n, category, exclude)
        ranks = self._popular_ranks(by_category=True)
        return Answer(self._picks(order, scores[order], [
            t("recommendation.popular_in_category", days=POPULAR_WINDOW_DAYS, category=self.categories[i],
              rank=int(ranks[i])) for i in order]))

    def _popular_for(self, n: int, category: str | None, exclude: np.ndarray) -> Answer:
        """The shop's best sellers this month, less what the user has (the retriever that measured best)."""
        return self.popular(n, category, window_days=30, hidden=exclude)

    def similar(self, item_id: str, n: int = 10, hidden: np.ndarray | None = None) -> Answer:
        item = self.item_index.get(str(item_id))
        if item is not None:
            items, scores = self._row_top(self.neighbours, item, n, hidden)
            if len(items):
                reason = t("recommendation.similar", item=self._title(item))
                return Answer(self._picks(items, scores, [reason] * len(items)))
        return self._content_similar(item, n, hidden)

    @staticmethod
    def _row_top(matrix: sp.csr_matrix, item: int, n: int, hidden: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` largest entries of an item's row (its neighbours), less the hidden items."""
        start, end = matrix.indptr[item], matrix.indptr[item + 1]
        items, scores = matrix.indices[start:end], matrix.data[start:end]
        if hidden is not None and len(hidden):
            keep = ~np.isin(items, hidden)
            items, scores = items[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")[:n]
        return items[order], scores[order]

    def bought_together(self, item_id: str, n: int = 10, hidden: np.ndarray | None = None) -> Answer:
        item = self.item_index.get(str(item_id))
        if item is not None:
            items, scores = self._row_top(self.together, item, n, hidden)
            if len(items):
                reason = t("recommendation.bought_together", item=self._title(item))
                return Answer(self._picks(items, scores, [reason] * len(items)))
        answer = self.similar(item_id, n, hidden)
        answer.fallback = answer.fallback or "similar"
        answer.message = t("recommendation.no_copurchases")
        return answer

    def popular(self, n: int = 10, category: str | None = None, window_days: int = 7,
                hidden: np.ndarray | None = None) -> Answer:
        window = max(1, min(int(window_days), POPULAR_DAYS))
        counts = np.asarray(self.popular_daily[:, -window:].sum(axis=1)).ravel()
        if hidden is not None and len(hidden):
            counts[hidden] = 0.0
        candidates = self._category_filter(category)
        if candidates is not None:
            mask = np.zeros(len(counts), dtype=bool)
            mask[candidates] = True
            counts = np.where(mask, counts, 0.0)
        order = np.argsort(-counts, kind="stable")[:n]
        order = order[counts[order] > 0]
        picks = []
        for rank, item in enumerate(order, start=1):
            if category:
                reason = t("recommendation.popular_in_category", days=window, category=category, rank=rank)
            elif self.categories[item]:
                reason = t("recommendation.popular_in_shop_of", days=window, rank=rank, category=self.categories[item])
            else:
                reason = t("recommendation.popular_in_shop", days=window, rank=rank)
            picks.append(Pick(str(self.item_ids[item]), round(float(counts[item]), 4), reason,
                              self.titles[item] or None))
        message = None if picks else t("recommendation.no_interactions_in_window")
        return Answer(picks, message=message)

    def session(self, item_ids: list[str], n: int = 10, hidden: np.ndarray | None = None) -> Answer:
        """For an anonymous visitor: neighbours of what they just viewed, the latest counting most."""
        known = [self.item_index[i] for i in map(str, item_ids) if i in self.item_index]
        if not known:
            answer = self.popular(n, hidden=hidden)
            answer.fallback = "popular"
            return answer
        scores = np.zeros(len(self.item_ids), dtype=np.float32)
        best_source = np.full(len(self.item_ids), -1, dtype=np.int64)
        best_contribution = np.zeros(len(self.item_ids), dtype=np.float32)
        for age, item in enumerate(reversed(known)):
            start, end = self.neighbours.indptr[item], self.neighbours.indptr[item + 1]
            cols = self.neighbours.indices[start:end]
            contribution = self.neighbours.data[start:end] * (0.8 ** age)
            scores[cols] += contribution
            better = contribution > best_contribution[cols]
            best_source[cols[better]] = item
            best_contribution[cols[better]] = contribution[better]
        scores[known] = 0
        if hidden is not None and len(hidden):
            scores[hidden] = 0
        order = np.argsort(-scores)[:n]
        order = order[scores[order] > 0]
        if len(order) == 0:
            return self._content_similar(known[-1], n, hidden)
        reasons = [t("recommendation.just_viewed", item=self._title(best_source[i])) for i in order]
        return Answer(self._picks(order, scores[order], reasons))

    # -- fallbacks ----------------------------------------------------------------------------

    def _popular_fallback(self, n: int, category: str | None, fallback: str, hidden: np.ndarray) -> Answer:
        answer = self.popular(n, category, window_days=30, hidden=hidden)
        if not answer.items and category:
            answer = self.popular(n, None, window_days=30, hidden=hidden)
            fallback = "popular"
        answer.fallback = fallback
        return answer

    def _content_similar(self, item: int | None, n: int, hidden: np.ndarray | None = None) -> Answer:
        """Items nobody has interacted with yet: same category and shared title words."""
        if item is None:
            answer = self.popular(n, window_days=30, hidden=hidden)
            answer.fallback = "popular"
            answer.message = t("recommendation.unknown_item")
            return answer
        overlap = np.asarray((self.tokens @ self.tokens[item].T).todense()).ravel()
        same_category = (self.categories == self.categories[item]) & (self.categories[item] != "")
        scores = overlap + 2.0 * same_category
        scores[item] = 0
        if hidden is not None and len(hidden):
            scores[hidden] = 0
        order = np.argsort(-scores, kind="stable")[:n]
        order = order[scores[order] > 0]
        reasons = [t("recommendation.same_category_title", item=self._title(item), category=self.categories[item])
                   if same_category[i] else t("recommendation.similar_title", item=self._title(item)) for i in order]
        return Answer(self._picks(order, scores[order], reasons), fallback="content")
