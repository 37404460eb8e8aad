"""The retrievers, their candidates' features, the learned ranker and the picks precomputed from it."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from services.recommendation import candidates as cand
from services.recommendation.evaluate import MODES, best_alone, choose, evaluate_blend
from services.recommendation.model import DEFAULT_PARAMS
from services.recommendation.recommender import PRECOMPUTED, Recommender, train
from shared.i18n import render

END = pd.Timestamp("2026-06-30 23:00", tz="UTC")
PARAMS = {**DEFAULT_PARAMS, "factors": 8, "iterations": 5}


def _repeat_shop(users=240, items=150, days=120, seed=3) -> pd.DataFrame:
    """Customers who re-buy three staples of their own, each on its own cycle (5-15 days), and
    now and then buy or view something popular: a grocery-like shop."""
    rng = np.random.default_rng(seed)
    popular = 1.0 / np.arange(1, items + 1) ** 1.1
    popular /= popular.sum()
    rows = []
    start = END - pd.Timedelta(days=days)
    for user in range(users):
        for staple in rng.choice(items, 3, replace=False):
            period = rng.uniform(5, 15)
            day = rng.uniform(0, period)
            while day < days:
                rows.append((f"u{user}", f"i{staple}", "buy", start + pd.Timedelta(days=day)))
                day += period * rng.uniform(0.8, 1.2)
        for _ in range(rng.poisson(days / 10)):
            item = rng.choice(items, p=popular)
            rows.append((f"u{user}", f"i{item}", rng.choice(["pv", "buy"], p=[0.7, 0.3]),
                         start + pd.Timedelta(days=rng.uniform(0, days))))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "type", "ts"]).sort_values("ts", ignore_index=True)


@pytest.fixture(scope="module")
def shop():
    return _repeat_shop()


@pytest.fixture(scope="module")
def blend(shop):
    return evaluate_blend(shop, 14.0, PARAMS, END)


def test_histories_count_days_types_and_recency():
    frame = pd.DataFrame([
        ("a", "x", "buy", END - pd.Timedelta(days=10, hours=1)), ("a", "x", "buy", END - pd.Timedelta(days=10)),
        ("a", "x", "buy", END - pd.Timedelta(days=2.5)), ("a", "y", "pv", END - pd.Timedelta(hours=6)),
        ("a", "y", "cart", END - pd.Timedelta(hours=5)), ("b", "y", "pv", END - pd.Timedelta(days=40)),
    ], columns=["user_id", "item_id", "type", "ts"])
    h = cand.build_histories(frame, END, PARAMS, pd.Series({"x": "食品", "y": "日用"}))
    a, b, x, y = h.user_index["a"], h.user_index["b"], h.item_index["x"], h.item_index["y"]
    assert h.buys[a, x] == 2  # two of the three buys fall on one day
    assert h.touches[a, y] == 1 and h.by_type["cart"][a, y] == 1 and h.by_type["pv"][a, y] == 1
    assert h.last_buy[a, x] == pytest.approx(3.5) and h.first_buy[a, x] == pytest.approx(11 + 1 / 24)
    assert h.last_day[a, y] == 2 and h.last_day[a, x] == 0
    assert h.user_buy_days[a] == 2 and h.user_buy_days[b] == 0
    assert h.categories[x] != h.categories[y] and (h.categories >= 0).all()


def test_category_best_sellers_follow_the_users_interest(monkeypatch):
    """category_popular: each category's best sellers (at most CATEGORY_TOP), weighted by the
    user's share of interest in the category; nothing for a user without a known category."""
    monkeypatch.setattr(cand, "CATEGORY_TOP", 2)
    rows = [("fan", "t1", "buy", END - pd.Timedelta(days=3)), ("fan", "d1", "pv", END - pd.Timedelta(days=3))]
    for k, (item, times) in enumerate([("t2", 5), ("t3", 4), ("t4", 3), ("d2", 9)]):
        rows += [(f"x{k}{j}", item, "buy", END - pd.Timedelta(days=2)) for j in range(times)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "type", "ts"])
    categories = pd.Series({"t1": "茶", "t2": "茶", "t3": "茶", "t4": "茶", "d1": "数码", "d2": "数码"})
    h = cand.build_histories(frame, END, PARAMS, categories)
    retrievers = cand.fit_retrievers(frame, h, PARAMS)
    assert (np.diff(retrievers.category_top.indptr) <= 2).all()
    users = np.array([h.user_index["fan"], h.user_index["x00"]])
    sparse = retrievers.user_scores(users)
    top = retrievers.top("category_popular", users, 3, h.confidence[users], sparse)
    names = [[str(h.item_ids[i]) for i in row if i >= 0] for row in top]
    # 茶 holds the fan's buy (weight 5) and 数码 a view (1): 茶's two best sellers lead, then 数码's.
    assert names[0] == ["t2", "t3", "d2"]
    assert "t4" not in names[0]  # not among its category's top two


def test_sparse_top_and_ranks():
    block = sp.csr_matrix(np.array([[0.0, 3.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32))
    top = cand._sparse_top(block, 3)
    assert top.tolist() == [[1, 3, 2], [-1, -1, -1]]
    ranks = cand._rank_of(top, np.array([0, 0, 0, 1]), np.array([3, 1, 0, 1]), 3)
    assert ranks.tolist() == [2, 1, 4, 4]


def test_candidates_exclude_what_was_seen_and_carry_every_feature(shop):
    cutoff = END - pd.Timedelta(days=14)
    past = shop[shop["ts"] <= cutoff]
    h = cand.build_histories(past, cutoff, PARAMS)
    retrievers = cand.fit_retrievers(past, h, PARAMS)
    users = np.arange(20)
    found = cand.candidates(retrievers, users, 30, exclude_seen=True)
    assert found.features.shape == (len(found.items), len(cand.FEATURES))
    seen = h.confidence[found.users, found.items]
    assert not np.asarray(seen).any()
    assert np.isnan(found.features[:, cand.FEATURES.index("days_since_bought")]).all()  # nothing seen: never bought
    everything = cand.candidates(retrievers, users, 30, exclude_seen=False)
    repeat = everything.retrieved_by["repeat"][0]
    own = h.confidence[0].toarray().ravel()
    listed = repeat[repeat >= 0]
    assert set(listed) == set(np.flatnonzero(own)) and (np.diff(own[listed]) <= 0).all()


def test_the_ranker_learns_repeat_buying(blend):
    evaluation, rankers = blend
    everything = evaluation["all"]
    assert everything["ranked"]["recall@20"] >= 1.25 * everything["popularity"]["recall@20"]
    assert everything["ranked"]["recall@20"] >= everything["repeat"]["recall@20"] * 0.95
    assert evaluation["new"]["repeat"]["recall@20"] == 0  # only seen items: nothing new to offer
    assert set(rankers) == set(MODES)
    top_features = list(everything["importance"])[:5]
    assert {"repeat_rank", "repeat_score", "due_ratio", "user_item_buy_share", "days_since_bought",
            "user_item_buy_days", "buy_interval"} & set(top_features)


def test_choose_takes_the_blend_only_when_it_beats_every_retriever():
    scores = {name: {"recall@20": value} for name, value in
              {"popularity": 0.1, "repeat": 0.3, "item_knn": 0.05, "als": 0.2, "ranked": 0.3}.items()}
    chosen, why = choose(scores, "recall@20")
    assert chosen == "repeat" and best_alone(scores, "recall@20") == "repeat" and "0.300" in render(why, "zh-CN")
    scores["ranked"]["recall@20"] = 0.31
    assert choose(scores, "recall@20")[0] == "ranked"


@pytest.fixture(scope="module")
def served(shop, blend):
    evaluation, rankers = blend
    params = {**PARAMS, "serve": {"all": "ranked", "new": choose(evaluation["new"], "recall@20")[0]},
              "realtime": {mode: best_alone(evaluation[mode], "recall@20") for mode in MODES}}
    catalogue = pd.DataFrame({"item_id": [f"i{k}" for k in range(150)], "title": [f"商品{k}" for k in range(150)],
                              "category": ["食品" if k % 2 else "日用" for k in range(150)]})
    return train(shop, pd.DataFrame(columns=["basket_id", "item_id"]), catalogue, params, as_of=END, rankers=rankers)


NO_EVENTS = {"item_id": [], "type": []}


def test_known_users_are_served_the_precomputed_ranking(served):
    assert served.precomputed["all"]["items"].shape == (len(served.user_ids), PRECOMPUTED)
    user = "u7"
    answer = served.for_user(user, NO_EVENTS, n=10, exclude_seen=False)
    row = served.precomputed["all"]["items"][served.user_index[user]]
    assert [p.item_id for p in answer.items] == [str(served.item_ids[i]) for i in row[:10]]
    reasons = [render(p.reason, "zh-CN") for p in answer.items]
    assert any(r.startswith("您常买「") for r in reasons)  # the staples come back, said so
    user_index = served.user_index[user]
    bought_days = pd.Series(served.types[user_index].toarray().ravel())  # strongest type per item
    for pick, reason in zip(answer.items, reasons, strict=True):
        if reason.startswith("您常买「"):  # only what they bought again and again, never one purchase
            assert bought_days[served.item_index[pick.item_id]] == 4  # buy (code 3) + 1


def test_a_category_and_new_events_are_answered_in_real_time(served):
    user = "u7"
    in_food = served.for_user(user, NO_EVENTS, n=5, category="食品", exclude_seen=False)
    assert len(in_food.items) == 5 and all(served.categories[served.item_index[p.item_id]] == "食品"
                                           for p in in_food.items)
    bought_now = served.for_user(user, NO_EVENTS, n=3, exclude_seen=False).items[0].item_id
    after = served.for_user(user, {"item_id": [bought_now], "type": ["buy"]}, n=10, exclude_seen=False)
    assert bought_now not in [p.item_id for p in after.items]  # just bought: not offered again today


def test_new_events_rescore_the_precomputed_picks_incrementally(served):
    """Events since training: the precomputed list minus what the user now has, merged with a
    fresh list — in "all" what they just viewed, in "new" its nearest neighbours — each fresh
    pick saying which item brought it."""
    user = "u3"
    before = [p.item_id for p in served.for_user(user, NO_EVENTS, n=20, exclude_seen=False).items]
    viewed = next(item for item in served.item_ids.tolist()
                  if served.neighbours[served.item_index[item]].nnz >= 5 and item not in before)
    events = {"item_id": [before[0], viewed], "type": ["buy", "pv"]}
    after = served.for_user(user, events, n=20, exclude_seen=False)
    picked = [p.item_id for p in after.items]
    assert len(picked) == 20 and before[0] not in picked  # just bought: not offered again at once
    assert viewed in picked[:3]  # just viewed: what people come back to
    assert [item for item in picked if item != viewed] == [item for item in before if item in picked]
    title = served.titles[served.item_index[viewed]]
    assert title in next(p for p in after.items if p.item_id == viewed).reason.render("zh-CN")

    new_before = [p.item_id for p in served.for_user(user, NO_EVENTS, n=20, exclude_seen=True).items]
    new_after = served.for_user(user, events, n=20, exclude_seen=True)
    picked = [p.item_id for p in new_after.items]
    assert viewed not in picked and before[0] not in picked
    row = served.neighbours[served.item_index[viewed]]
    near = {str(served.item_ids[i]) for i in row.indices}
    fresh = [p for p in new_after.items if p.item_id in near and p.item_id not in new_before]
    assert fresh, "the new item's neighbours join the picks"
    bought_title = served.titles[served.item_index[before[0]]]
    assert all(title in p.reason.render("zh-CN") or bought_title in p.reason.render("zh-CN") for p in fresh)
    kept = [item for item in picked if item in new_before and item not in near]
    assert kept == [item for item in new_before if item in kept]  # the precomputed order stands for the rest
    assert len([item for item in picked if item in new_before]) >= 10  # incremental: most of the list stays


def test_category_best_sellers_in_real_time(served, monkeypatch):
    """A user with new events, when category_popular measured best: the best sellers of the
    categories they shop in, none they have, each with its rank in its category."""
    monkeypatch.setitem(served.params, "realtime", {"new": "category_popular", "all": "category_popular"})
    monkeypatch.setattr(served, "precomputed", {})
    user = "u5"
    row = served.user_index[user]
    own = served.matrix.indices[served.matrix.indptr[row]:served.matrix.indptr[row + 1]]
    answer = served.for_user(user, {"item_id": ["i1"], "type": ["pv"]}, n=10, exclude_seen=True)
    picked = [served.item_index[p.item_id] for p in answer.items]
    assert len(picked) == 10 and not set(picked) & set(own.tolist()) | {served.item_index["i1"]} & set(picked)
    assert all("热销第" in p.reason.render("zh-CN") for p in answer.items)
    assert [p.score for p in answer.items] == sorted((p.score for p in answer.items), reverse=True)


def test_a_single_retriever_that_serves_is_precomputed_too(shop):
    """ALS or item-kNN shipping alone: their lists are computed at training (a request only reads
    them), from the stored factors, and what the user has is left out in the "new" mode."""
    catalogue = pd.DataFrame({"item_id": [f"i{k}" for k in range(150)], "title": "", "category": None})
    params = {**PARAMS, "serve": {"new": "als", "all": "item_knn"}, "realtime": {"new": "als", "all": "item_knn"}}
    model = train(shop, pd.DataFrame(columns=["basket_id", "item_id"]), catalogue, params, as_of=END,
                  rankers={})
    assert set(model.precomputed) == {"new", "all"}
    user = model.user_index["u7"]
    als_codes = model.precomputed["new"]["by"][model.precomputed["new"]["rows"][user]]
    assert set(als_codes.tolist()) == {cand.RETRIEVERS.index("als")}
    answer = model.for_user("u7", NO_EVENTS, n=10, exclude_seen=True)
    scores = model.als.user_factors[user] @ model.als.item_factors.T
    has = set(model.matrix.indices[model.matrix.indptr[user]:model.matrix.indptr[user + 1]].tolist())
    scores[list(has)] = -np.inf
    assert [p.item_id for p in answer.items] == [str(model.item_ids[i]) for i in np.argsort(-scores)[:10]]
    knn = model.for_user("u7", NO_EVENTS, n=10, exclude_seen=False)
    assert len(knn.items) == 10 and [p.score for p in knn.items] == sorted((p.score for p in knn.items), reverse=True)
    assert model.precomputed["all"]["by"][model.precomputed["all"]["rows"][user]][0] == \
        cand.RETRIEVERS.index("item_knn")


def test_precomputed_picks_survive_the_artifact_round_trip(served):
    again = Recommender.from_arrays(served.to_arrays(), served.params)
    assert set(again.precomputed) == set(served.precomputed)
    for part in ("rows", "items", "scores", "by"):
        assert np.array_equal(again.precomputed["all"][part], served.precomputed["all"][part])
    assert [p.item_id for p in again.for_user("u3", NO_EVENTS, n=8, exclude_seen=False).items] == \
        [p.item_id for p in served.for_user("u3", NO_EVENTS, n=8, exclude_seen=False).items]


def test_a_staple_is_one_bought_on_two_days_or_more(shop, blend):
    from services.recommendation.evaluate import BOUGHT_AGAIN, ranked_lists

    _evaluation, rankers = blend
    h = cand.build_histories(shop, END, PARAMS)
    retrievers = cand.fit_retrievers(shop, h, PARAMS)
    ranked, _alone = ranked_lists(retrievers, rankers["all"], np.arange(40), False, 20)
    repeat = cand.RETRIEVERS.index("repeat")
    sources = {BOUGHT_AGAIN: 0, repeat: 0}
    for user, (items, _scores, source) in ranked.items():
        for item, code in zip(items.tolist(), source.tolist(), strict=True):
            if code == BOUGHT_AGAIN:
                assert h.buys[user, item] >= 2
            elif code == repeat:
                assert h.buys[user, item] < 2
            sources[code] = sources.get(code, 0) + 1
    assert sources[BOUGHT_AGAIN] > 0


def test_only_the_most_recently_active_users_are_precomputed_past_the_cap(shop, blend, monkeypatch):
    from services.recommendation import recommender

    evaluation, rankers = blend
    monkeypatch.setattr(recommender, "PRECOMPUTED_USERS", 50)
    params = {**PARAMS, "serve": {"all": "ranked"}, "realtime": {"all": best_alone(evaluation["all"], "recall@20")}}
    catalogue = pd.DataFrame({"item_id": [f"i{k}" for k in range(150)], "title": [""] * 150, "category": [""] * 150})
    capped = train(shop, pd.DataFrame(columns=["basket_id", "item_id"]), catalogue, params, as_of=END,
                   rankers=rankers)
    rows = capped.precomputed["all"]["rows"]
    assert capped.precomputed["all"]["items"].shape == (50, PRECOMPUTED) and (rows >= 0).sum() == 50
    last_seen = shop.groupby("user_id")["ts"].max()
    kept = {str(capped.user_ids[u]) for u in np.flatnonzero(rows >= 0)}
    assert last_seen[list(kept)].min() >= last_seen.drop(list(kept)).max()  # the 50 most recent
    left_out = next(u for u in capped.user_ids if str(u) not in kept)
    assert len(capped.for_user(str(left_out), NO_EVENTS, n=10, exclude_seen=False).items) == 10  # in real time
