"""Recommendation models on data whose right answer is known."""

import numpy as np
import pandas as pd
import pytest

from services.recommendation import model as m
from services.recommendation.evaluate import best_retriever, data_end, evaluate, ranking_metrics, time_split
from services.recommendation.recommender import Recommender, train

NOW = pd.Timestamp("2026-11-20", tz="UTC")


def events(rows):
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "type", "days_ago"])
    frame["ts"] = NOW - pd.to_timedelta(frame.pop("days_ago"), unit="D")
    return frame


def two_tribes(users_per_tribe=80, seed=0):
    """Users of tribe A touch items a0..a9, tribe B touches b0..b9: the right answer is obvious."""
    rng = np.random.default_rng(seed)
    rows = []
    for tribe in "ab":
        for u in range(users_per_tribe):
            for item in rng.choice(10, size=6, replace=False):
                rows.append((f"{tribe}{u}", f"{tribe}-item{item}", rng.choice(["pv", "cart", "buy"]),
                             float(rng.integers(0, 60))))
    return events(rows)


def catalogue_for(frame):
    items = sorted(frame["item_id"].unique())
    return pd.DataFrame({"item_id": items, "title": [f"商品{i}" for i in items],
                         "category": ["女装" if i.startswith("a") else "数码" for i in items]})


def test_weights_by_type_decay_by_age_and_views_are_capped():
    frame = events([("u", "i", "buy", 0), ("u", "j", "buy", 90)] + [("bot", "i", "pv", 0)] * 500)
    weights = m.interaction_weights(frame, NOW, m.DEFAULT_WEIGHTS, half_life_days=90, pv_cap=5)
    got = {(r.user_id, r.item_id): r.weight for r in weights.itertuples()}
    assert got[("u", "i")] == pytest.approx(8.0)
    assert got[("u", "j")] == pytest.approx(4.0)  # one half-life old
    assert got[("bot", "i")] == pytest.approx(5.0)  # 500 views count as 5


def test_build_interactions_refuses_an_empty_history():
    with pytest.raises(m.NotEnoughData):
        m.build_interactions(events([]), NOW, m.DEFAULT_PARAMS)


def test_als_recovers_the_tribes_and_recomputes_a_user_from_a_row():
    frame = two_tribes()
    data = m.build_interactions(frame, NOW, m.DEFAULT_PARAMS)
    als = m.ALSModel(factors=4, iterations=15, regularization=0.1, alpha=5).fit(data.matrix)
    a_items = [data.item_index[f"a-item{i}"] for i in range(3)]
    row = m.user_row({i: 8.0 for i in a_items}, data.matrix.shape[1])
    items, _scores = als.recommend(row, 5, exclude=np.array(a_items))
    assert all(data.item_ids[i].startswith("a-") for i in items)
    assert not set(items) & set(a_items)
    because = als.explain(row, items[:2])
    assert all(b in a_items for b in because)


def test_als_fit_errors_on_garbage():
    data = m.build_interactions(two_tribes(), NOW, m.DEFAULT_PARAMS)
    data.matrix.data[:] = np.nan
    with pytest.raises(m.ModelFitError):
        m.ALSModel(factors=4, iterations=2).fit(data.matrix)


def test_item_neighbours_stay_within_a_tribe():
    data = m.build_interactions(two_tribes(), NOW, m.DEFAULT_PARAMS)
    neighbours = m.item_neighbours(data.matrix, k=5)
    item = data.item_index["b-item1"]
    row = neighbours[item]
    assert row.nnz and all(data.item_ids[j].startswith("b-") for j in row.indices) and item not in row.indices


def test_lift_keeps_best_sellers_from_being_bought_with_everything():
    baskets = [(f"o{i}", "bestseller") for i in range(100)]
    baskets += [(f"o{i}", x) for i in range(0, 6) for x in ("tent", "stakes")]
    baskets += [(f"o{i}", "socks") for i in range(50, 100)]
    frame = pd.DataFrame(baskets, columns=["basket_id", "item_id"])
    index = {t: i for i, t in enumerate(["bestseller", "tent", "stakes", "socks"])}
    lift = m.co_purchase_lift(frame, index, min_count=2)
    tent = lift[index["tent"]].toarray().ravel()
    assert tent[index["stakes"]] > tent[index["bestseller"]] > 0
    assert lift[index["tent"], index["socks"]] == 0  # never together


def test_popularity_windows():
    frame = events([("u1", "old", "buy", 40), ("u2", "new", "pv", 1), ("u3", "new", "pv", 2)])
    daily = m.popularity(frame, {"old": 0, "new": 1}, NOW, m.DEFAULT_WEIGHTS)
    last_week = np.asarray(daily[:, -7:].sum(axis=1)).ravel()
    last_90 = np.asarray(daily.sum(axis=1)).ravel()
    assert last_week.tolist() == [0.0, 2.0] and last_90.tolist() == [8.0, 2.0]


def test_ranking_metrics_known_answer():
    recommended = {0: np.array([1, 2, 3] + list(range(10, 27))), 1: np.arange(30, 50)}
    relevant = {0: {2, 99}, 1: {7}}
    metrics = ranking_metrics(recommended, relevant, n_items=100, k=10, k_recall=20)
    assert metrics["precision@10"] == pytest.approx(0.05)
    assert metrics["recall@10"] == pytest.approx(0.25) and metrics["hr@10"] == pytest.approx(0.5)
    assert metrics["ndcg@10"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)) / 2)


def test_time_split_never_leaks_the_future():
    frame = two_tribes()
    train_part, test_part, cutoff = time_split(frame, 7)
    assert train_part["ts"].max() <= cutoff < test_part["ts"].min()


def test_evaluation_beats_popularity_where_taste_matters():
    frame = two_tribes(users_per_tribe=40, seed=3)
    results = evaluate(frame, holdout_days=10, params={"factors": 4, "alpha": 5.0, "regularization": 0.1})
    assert results["als"]["ndcg@10"] > results["popularity"]["ndcg@10"]
    assert results["als"]["map@10"] > results["popularity"]["map@10"]
    assert results["split"]["test_users"] >= 5


def test_recommender_round_trips_through_its_arrays():
    frame = two_tribes()
    baskets = pd.DataFrame({"basket_id": ["o1", "o1", "o2", "o2"], "item_id": ["a-item1", "a-item2"] * 2})
    model = train(frame, baskets, catalogue_for(frame), {"factors": 4, "alpha": 5.0, "regularization": 0.1})
    again = Recommender.from_arrays(model.to_arrays(), model.params)
    recent = pd.DataFrame({"item_id": [], "type": []})
    first, second = model.for_user("a1", recent, 5), again.for_user("a1", recent, 5)
    assert [p.item_id for p in first.items] == [p.item_id for p in second.items]
    assert [p.reason for p in first.items] == [p.reason for p in second.items]
    assert again.bought_together("a-item1", 3).items[0].item_id == "a-item2"


@pytest.fixture(scope="module")
def trained():
    frame = two_tribes()
    cold = pd.DataFrame({"item_id": ["new-dress"], "title": ["商品a-item1 新款"], "category": ["女装"]})
    catalogue = pd.concat([catalogue_for(frame), cold])
    return train(frame, pd.DataFrame(columns=["basket_id", "item_id"]), catalogue,
                 {"factors": 4, "alpha": 5.0, "regularization": 0.1})


def test_reasons_name_the_item_that_drove_the_pick(trained):
    answer = trained.for_user("a1", pd.DataFrame(columns=["item_id", "type"]), 3)
    assert answer.fallback is None and all(str(p.reason).startswith("因为您") and "「商品a-item" in str(p.reason)
                                           for p in answer.items)


def test_real_time_events_change_the_next_answer_and_bought_items_disappear(trained):
    empty = pd.DataFrame(columns=["item_id", "type"])
    cold = trained.for_user("stranger", empty, 5)
    assert cold.fallback == "popular"
    warm = trained.for_user("stranger", pd.DataFrame({"item_id": ["b-item1", "b-item2"], "type": ["cart", "pv"]}), 5)
    assert warm.fallback is None and all(p.item_id.startswith("b-") for p in warm.items)
    top = warm.items[0].item_id
    bought = trained.for_user("stranger", pd.DataFrame({"item_id": ["b-item1", "b-item2", top],
                                                        "type": ["cart", "pv", "buy"]}), 5, exclude_seen=False)
    assert top not in [p.item_id for p in bought.items]


def test_category_filter_and_exclude_seen(trained):
    empty = pd.DataFrame(columns=["item_id", "type"])
    answer = trained.for_user("a1", empty, 10, category="数码")
    assert answer.items and all(p.item_id.startswith("b-") for p in answer.items)
    seen = set(trained.item_ids[trained.matrix[trained.user_index["a1"]].indices])
    assert not {p.item_id for p in trained.for_user("a1", empty, 10).items} & seen


def test_fallbacks_for_unknown_and_cold_items(trained):
    assert trained.similar("no-such-item", 3).fallback == "popular"
    cold = trained.similar("new-dress", 3)
    assert cold.fallback == "content" and "同属女装" in str(cold.items[0].reason)
    assert trained.bought_together("a-item1", 3).fallback == "similar"
    assert trained.session(["nope"], 3).fallback == "popular"
    session = trained.session(["a-item1", "a-item2"], 3)
    assert session.fallback is None and "刚看过" in str(session.items[0].reason)


def test_popular_by_category_and_window(trained):
    women = trained.popular(5, category="女装", window_days=90)
    assert women.items and all(p.item_id.startswith("a-") for p in women.items)
    assert "女装热销第1" in str(women.items[0].reason)


def test_a_trickle_of_live_events_does_not_move_the_end_of_the_data():
    """An import ending on day 40 ago, then one live event today: the data ends 40 days ago."""
    history = two_tribes()
    history = history.assign(ts=history["ts"] - pd.Timedelta(days=40))
    live = events([("a1", "a-item1", "pv", 0)])
    frame = pd.concat([history, live], ignore_index=True)
    assert data_end(frame["ts"]) == history["ts"].max()
    busy_today = pd.concat([history, events([(f"a{u}", "a-item1", "pv", 0) for u in range(30)])])
    assert data_end(busy_today["ts"]).normalize() == NOW.normalize()  # a real day of data moves it


def test_the_best_measured_retriever_is_chosen_and_als_wins_ties():
    evaluation = {"als": {"recall@20": 0.34}, "item_knn": {"recall@20": 0.41}, "popularity": {"recall@20": 0.2},
                  "split": {}}
    chosen, why = best_retriever(evaluation, "recall@20")
    assert chosen == "item_knn" and "0.410" in why.render("en") and "(ALS) 0.340" in why.render("en")
    assert best_retriever({**evaluation, "item_knn": {"recall@20": 0.34}}, "recall@20")[0] == "als"


@pytest.mark.parametrize("retriever", ["item_knn", "popularity"])
def test_personal_picks_come_from_the_retriever_chosen_at_training(trained, retriever):
    serving = Recommender.from_arrays(trained.to_arrays(), {**trained.params, "personal": retriever})
    empty = pd.DataFrame(columns=["item_id", "type"])
    answer = serving.for_user("a1", empty, 5)
    seen = set(trained.item_ids[trained.matrix[trained.user_index["a1"]].indices])
    assert answer.items and not {p.item_id for p in answer.items} & seen
    if retriever == "item_knn":  # neighbours of a tribe-A user's items are tribe A's, with the source named
        assert all(p.item_id.startswith("a-") and "「商品a-item" in str(p.reason) for p in answer.items)
    else:
        assert all("热销" in str(p.reason) for p in answer.items)
