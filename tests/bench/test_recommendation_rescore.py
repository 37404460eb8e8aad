"""Users with events since training: the incremental re-score against the alternatives.

Run alone with `.venv/bin/python -m pytest tests/bench/test_recommendation_rescore.py -q -s -p no:cacheprovider`.
Needs the public data sets (`SHOPMIND_PUBLIC_DATA`; skips without it); no database.

Per data set: the model is trained as the retrain job trains it (``evaluate_blend`` for the
rankers, ``choose`` per mode, then ``recommender.train``, which precomputes what ships when it
is the blend, ALS, item-kNN or the category list), on everything up to a cut-off T one holdout
before the data's end. The first ``recent`` days after T are the events a user sends "since
training"; what they touch after that, up to the end, is the truth
(mode "new": only items they had not touched by then). For every user known at T with events in
the recent window and a non-empty truth, recall@20 of:

- ``precomputed_ignoring_events``: the picks computed at training, as if nothing had happened
  (for reference: it breaks the rule that what was just bought is not offered again at once);
- ``realtime``: the best single retriever of the mode scored from scratch on the history plus the
  new events (what served these users before the re-score);
- ``rescored_weight_w``: the precomputed picks less what the user now has, merged by reciprocal
  rank with a fresh list weighted ``w`` (``Recommender._rescored_for``: mode "new" the neighbours
  of the new items, mode "all" those items themselves; w = 0: nothing merged).

Truth in mode "all" leaves out what the user bought in the recent window: no strategy may offer it
again at once, so it would count against all of them alike.

Also the in-process cost of one answer per strategy (p50, ms).
"""

import json
import time

import numpy as np
import pandas as pd
import pytest

from services.recommendation import recommender
from services.recommendation.evaluate import MODES, best_alone, choose, data_end, evaluate_blend
from services.recommendation.model import DEFAULT_PARAMS
from services.recommendation.recommender import train
from tests.bench.rec_data import TAOBAO, UCI, demo_frame, taobao_frame, uci_frame
from tests.support.public_data import MISSING

DEFAULT_WEIGHT = recommender.FRESH_WEIGHT
# Strategy: the weight of the new items' neighbours in the re-score (None: not a re-score).
STRATEGIES = {"precomputed_ignoring_events": None, "realtime": None, "rescored_weight_0": 0.0,
              "rescored_weight_0.5": 0.5, "rescored_weight_1": 1.0}
# name: (loader, holdout days, recent days)
DATA_SETS = {"demo": (demo_frame, 7.0, 1.0), "uci": (uci_frame, 30.0, 7.0), "taobao": (taobao_frame, 1.0, 0.25)}
MAX_USERS = 3_000  # users scored per data set and mode (a random sample when there are more)
N = 20


def _catalogue(frame: pd.DataFrame) -> pd.DataFrame:
    items = pd.Series(frame["item_id"].unique())
    categories = frame.attrs.get("categories", pd.Series(dtype=str))
    return pd.DataFrame({"item_id": items, "title": "", "category": items.map(categories)})


def _recall(picked: list[str], truth: set[str]) -> float:
    return len(set(picked[:N]) & truth) / min(len(truth), N)


def _report(frame: pd.DataFrame, holdout_days: float, recent_days: float) -> dict:
    end = data_end(frame["ts"])
    cutoff = end - pd.Timedelta(days=holdout_days)
    recent_end = cutoff + pd.Timedelta(days=recent_days)
    history = frame[frame["ts"] <= cutoff]
    params = dict(DEFAULT_PARAMS)
    categories = frame.attrs.get("categories")
    evaluation, rankers = evaluate_blend(history, holdout_days, params, cutoff, categories)
    params.update(serve={mode: choose(evaluation[mode], "recall@20")[0] for mode in MODES},
                  realtime={mode: best_alone(evaluation[mode], "recall@20") for mode in MODES})
    baskets = pd.DataFrame({"basket_id": pd.Series(dtype=str), "item_id": pd.Series(dtype=str)})
    model = train(history, baskets, _catalogue(frame), params, as_of=cutoff, rankers=rankers)
    recent = frame[(frame["ts"] > cutoff) & (frame["ts"] <= recent_end)].sort_values("ts", ascending=False)
    later = frame[(frame["ts"] > recent_end) & (frame["ts"] <= end)]
    touched_by = frame[frame["ts"] <= recent_end].groupby("user_id")["item_id"].agg(set)
    users = sorted(set(recent["user_id"]) & set(later["user_id"]) & set(model.user_index))
    rng = np.random.default_rng(7)
    if len(users) > MAX_USERS:
        users = sorted(rng.choice(users, MAX_USERS, replace=False).tolist())
    events = {user: {"item_id": rows["item_id"].tolist(), "type": rows["type"].tolist()}
              for user, rows in recent[recent["user_id"].isin(users)].groupby("user_id")}
    truth_all = later.groupby("user_id")["item_id"].agg(set)
    report = {"cutoff": cutoff.isoformat(), "recent_until": recent_end.isoformat(), "serve": params["serve"],
              "realtime": params["realtime"], "precomputed_modes": sorted(model.precomputed)}
    precomputed = model.precomputed
    bought_recently = recent[recent["type"] == "buy"].groupby("user_id")["item_id"].agg(set)
    for mode, exclude_seen in MODES.items():
        scores = {name: [] for name in STRATEGIES}
        cost = {name: [] for name in scores}
        for user in users:
            # What the user just bought is never offered again at once (a product rule every
            # strategy keeps), so it is not counted as a miss either.
            truth = truth_all[user] - (touched_by.get(user, set()) if exclude_seen else
                                       bought_recently.get(user, set()))
            if not truth:
                continue
            for name, weight in STRATEGIES.items():
                started = time.perf_counter()
                if name == "precomputed_ignoring_events":
                    answer = model.for_user(user, {"item_id": [], "type": []}, N, exclude_seen=exclude_seen)
                elif name == "realtime":
                    model.precomputed = {}
                    answer = model.for_user(user, events[user], N, exclude_seen=exclude_seen)
                    model.precomputed = precomputed
                else:
                    recommender.FRESH_WEIGHT = {**DEFAULT_WEIGHT, mode: weight}
                    answer = model.for_user(user, events[user], N, exclude_seen=exclude_seen)
                    recommender.FRESH_WEIGHT = DEFAULT_WEIGHT
                cost[name].append(time.perf_counter() - started)
                scores[name].append(_recall([p.item_id for p in answer.items], truth))
        report[mode] = {"users": len(scores["realtime"]),
                        "recall@20": {name: round(float(np.mean(v)), 4) if v else None for name, v in scores.items()},
                        "p50_ms": {name: round(float(np.median(v)) * 1000, 2) if v else None
                                   for name, v in cost.items()}}
    return report


@pytest.mark.skipif(not (TAOBAO.exists() and UCI.exists()), reason=MISSING)
def test_recommendation_rescore():
    reports = {}
    for name, (load, holdout_days, recent_days) in DATA_SETS.items():
        reports[name] = _report(load(), holdout_days, recent_days)
        print(json.dumps({name: reports[name]}, ensure_ascii=False), flush=True)
    print("\n" + json.dumps({"recommendation_rescore": reports}, indent=2, ensure_ascii=False))
    for name, report in reports.items():
        for mode in MODES:
            assert report[mode]["users"] > 0, (name, mode)
