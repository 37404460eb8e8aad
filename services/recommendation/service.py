"""Recommendation use cases: what the routes and the training and tuning jobs do, on top of the
models (``recommender``, ``model``, ``evaluate``) and the SQL (``data``). No HTTP here: api.py
parses, checks who may see what and shapes, tasks.py wraps the jobs.

Jobs load from the database, evaluate on a time holdout, fit, save and promote."""

from __future__ import annotations

import json
import logging
import random
import time

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.recommendation import data
from services.recommendation.evaluate import (
    MODES,
    best_alone,
    best_retriever,
    choose,
    data_end,
    evaluate,
    evaluate_blend,
)
from services.recommendation.model import DEFAULT_PARAMS, NotEnoughData
from services.recommendation.recommender import Answer, Recommender, train
from shared import activity, artifacts, jobs, sales
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.auth import Principal
from shared.catalogue import with_titles
from shared.config import Settings
from shared.errors import Forbidden, InvalidInput
from shared.i18n import said, t
from shared.jobs import JobContext
from shared.models import Shop
from shared.privacy import pseudonymise

log = logging.getLogger(__name__)
SERVICE = "recommendation"
MODELS: ActiveModelCache[Recommender] = ActiveModelCache(
    SERVICE, lambda artifact: Recommender.from_arrays(artifact.arrays, artifact.params))
NO_MODEL = "recommendation.no_model"
PROMOTION_METRIC = "recall@20"
STOCK_CHECK_S = 60.0
_OUT_OF_STOCK: dict[int, tuple[float, int, np.ndarray]] = {}  # shop → (read at, model version, item indexes)
SEARCH_SPACE = {
    "factors": [32, 64, 128],
    "regularization": [0.01, 0.05, 0.2, 1.0],
    "alpha": [1.0, 5.0, 10.0, 40.0],
    "iterations": [10, 20],
    "half_life_days": [30.0, 90.0, 365.0],
    "weights": [DEFAULT_PARAMS["weights"], {"pv": 1.0, "fav": 2.0, "cart": 3.0, "buy": 5.0},
                {"pv": 1.0, "fav": 5.0, "cart": 8.0, "buy": 15.0}],
}


# --- requests -----------------------------------------------------------------------------------

def for_user(session: Session, shop_id: int, settings: Settings, principal: Principal, user_id: str, n: int,
             category: str | None, exclude_seen: bool) -> dict:
    """Personal picks for a shop's own buyer id, updated by their latest events without a retrain."""
    loaded = MODELS.get(shop_id, settings)
    if loaded is None:
        return _no_model(user_id=user_id)
    model = loaded.model
    _check_category(model, category)
    # A front-end key is public: without the user's token it gets their picks, never their history.
    personal = _may_see_history_of(principal, user_id)
    pseudonym = pseudonymise(_salt(session, shop_id), user_id)
    since = model.as_of.to_pydatetime()
    recent = data.NO_EVENTS
    if activity.may_have_events_since(settings.redis_url, shop_id, pseudonym, since, model.params.get("data_read_at")):
        recent = data.recent_events(session, pseudonym, since)
    answer = model.for_user(pseudonym, recent, n, category, exclude_seen=exclude_seen or not personal,
                            explain=personal, hidden=_out_of_stock(session, shop_id, loaded))
    return _respond(answer, loaded, user_id=user_id)


def similar(session: Session, shop_id: int, settings: Settings, item_id: str, n: int) -> dict:
    """Items similar to this one (behaviour first, then category and title)."""
    loaded = MODELS.get(shop_id, settings)
    if loaded is None:
        return _no_model(item_id=item_id)
    return _respond(loaded.model.similar(item_id, n, _out_of_stock(session, shop_id, loaded)), loaded,
                    item_id=item_id)


def bought_together(session: Session, shop_id: int, settings: Settings, item_id: str, n: int) -> dict:
    """Items often bought in the same order as this one, ranked by lift."""
    loaded = MODELS.get(shop_id, settings)
    if loaded is None:
        return _no_model(item_id=item_id)
    return _respond(loaded.model.bought_together(item_id, n, _out_of_stock(session, shop_id, loaded)), loaded,
                    item_id=item_id)


def popular(session: Session, shop_id: int, settings: Settings, n: int, category: str | None,
            window_days: int) -> dict:
    """Best sellers and trending items over a window, optionally within a category."""
    loaded = MODELS.get(shop_id, settings)
    if loaded is None:
        return _no_model()
    _check_category(loaded.model, category)
    return _respond(loaded.model.popular(n, category, window_days, _out_of_stock(session, shop_id, loaded)), loaded)


def for_session(session: Session, shop_id: int, settings: Settings, item_ids: list[str], n: int) -> dict:
    """Picks for an anonymous visitor from the items they just viewed."""
    loaded = MODELS.get(shop_id, settings)
    if loaded is None:
        return _no_model()
    return _respond(loaded.model.session(item_ids, n, _out_of_stock(session, shop_id, loaded)), loaded)


def start_tuning(session: Session, shop_id: int, settings: Settings, params: dict) -> dict:
    """Start (or join the unfinished) ``recommendation.tune`` job."""
    job = jobs.start(session, settings, shop_id, "recommendation.tune", params, reuse_unfinished=True)
    return {"job": jobs.job_to_dict(job)}


def user_history(session: Session, shop_id: int, principal: Principal, user_id: str, limit: int) -> dict:
    """What a buyer viewed, carted and bought, newest first (staff only: a history is personal)."""
    if not _may_see_history_of(principal, user_id):
        raise Forbidden(t("recommendation.history_staff_only"))
    events, purchases = data.user_history(session, pseudonymise(_salt(session, shop_id), user_id), limit)
    return {"user_id": user_id,
            "events": with_titles(session, [{"item_id": r.item_id, "type": r.type, "ts": r.ts.isoformat()}
                                            for r in events.itertuples()]),
            "purchases": with_titles(session, [{"item_id": r.item_id, "units": float(r.units or 0),
                                                "created_at": r.created_at.isoformat()}
                                               for r in purchases.itertuples()])}


def _may_see_history_of(principal: Principal, user_id: str) -> bool:
    if principal.user_id is not None and principal.user_id != user_id:
        raise Forbidden(t("auth.user_token_other_user"))
    return principal.may_see_history_of(user_id)


_SALTS: dict[int, str] = {}


def _out_of_stock(session: Session, shop_id: int, loaded: LoadedModel[Recommender]) -> np.ndarray:
    """The model's indexes of the shop's out-of-stock items (shared.sales), read again at most
    every STOCK_CHECK_S per process: a stock import shows in the picks within a minute."""
    checked = _OUT_OF_STOCK.get(shop_id)
    if checked is not None and checked[1] == loaded.version and time.monotonic() - checked[0] < STOCK_CHECK_S:
        return checked[2]
    index = loaded.model.item_index
    items = np.array(sorted(index[item] for item in sales.out_of_stock(session) if item in index), dtype=np.int64)
    _OUT_OF_STOCK[shop_id] = (time.monotonic(), loaded.version, items)
    return items


def _salt(session: Session, shop_id: int) -> str:
    if shop_id not in _SALTS:  # a shop's salt never changes
        _SALTS[shop_id] = session.get(Shop, shop_id).user_id_salt
    return _SALTS[shop_id]


def _respond(answer: Answer, loaded: LoadedModel | None, **ids) -> dict:
    return {**ids, "model_version": loaded.version if loaded else None, "items": answer.items,
            "fallback": answer.fallback, "message": answer.message}


def _no_model(**ids) -> dict:
    return {**ids, "model_version": None, "items": [], "fallback": "popular", "message": t(NO_MODEL)}


def _check_category(model: Recommender, category: str | None) -> None:
    if category and category not in model.categories_known():
        known = sorted(model.categories_known())
        listed = t("recommendation.known_categories", categories=", ".join(known[:50]))
        raise InvalidInput(t("recommendation.unknown_category", category=category), errors={"category": [listed]})


# --- jobs ---------------------------------------------------------------------------------------

def holdout_days(interactions: pd.DataFrame, end: pd.Timestamp | None = None) -> float:
    """7 days, or a tenth of the history when it is shorter than ten weeks.

    The span ignores the oldest 1% of events: a few stray early rows (real logs have them) must not
    stretch a nine-day log into "ten weeks" and hold out most of it.
    """
    end = interactions["ts"].max() if end is None else end
    span = (end - interactions["ts"].quantile(0.01)).total_seconds() / 86400
    return round(min(7.0, max(span / 10, 0.5)), 2)


def _load(ctx: JobContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float | None]:
    """Interactions, baskets, catalogue, and when they were read (``shared.activity``: serving
    may then skip the recent-events query for users with no mark since)."""
    data_read_at = activity.start_watermark(ctx.settings.redis_url, ctx.shop_id)
    with ctx.session() as session:
        interactions = data.load_interactions(session)
        if interactions.empty:
            raise InvalidInput(t("recommendation.no_data_yet"))
        baskets = data.load_baskets(session)
        categories = data.load_event_categories(session)
    interactions = interactions.merge(categories.drop_duplicates("item_id"), on="item_id", how="left")
    with ctx.session() as session:
        catalogue = data.load_catalogue(session, interactions)
    return interactions, baskets, catalogue, data_read_at


def _short_metrics(scores: dict) -> dict:
    """What the version keeps of a retriever's or the blend's evaluation in one mode."""
    if "recall@20" not in scores:  # the ranker's feature importance
        return scores
    return {key: round(scores[key], 5) for key in ("recall@20", "ndcg@10", "coverage@10", "hr@10")} | {
        "users": scores["users"]}


def _active_params(ctx: JobContext) -> dict:
    with ctx.session() as session:
        active = artifacts.active_version(session, SERVICE)
        return {k: v for k, v in (active.params if active else {}).items() if k in DEFAULT_PARAMS}


def fit_and_register(ctx: JobContext, interactions, baskets, catalogue, params: dict, extra: dict | None = None,
                     progress_from: float = 0.1, data_read_at: float | None = None) -> dict:
    """Evaluate every retriever on a holdout, fit the best on everything, save the version, and
    promote it if it beats the active one."""
    end = data_end(interactions["ts"])
    window = ctx.params.get("holdout_days") or holdout_days(interactions, end)
    ctx.progress(progress_from, t("recommendation.progress_evaluating", days=window, end=f"{end:%Y-%m-%d}",
                                  interactions=f"{len(interactions):,}"))
    started = time.perf_counter()
    categories = catalogue.dropna(subset=["category"]).set_index("item_id")["category"].astype(str)
    rankers: dict = {}
    try:
        blend, rankers = evaluate_blend(interactions, window, params, end, categories)
        choices = {mode: choose(blend[mode], PROMOTION_METRIC) for mode in MODES}
        serve = {mode: choice for mode, (choice, _why) in choices.items()}
        realtime = {mode: best_alone(blend[mode], PROMOTION_METRIC) for mode in MODES}
        retriever, why = choices["new"]
        metrics = {**blend["new"][retriever], "retriever": retriever, "serve": serve,
                   "baselines": {**blend["new"], "split": blend["split"]},
                   "modes": {mode: {name: _short_metrics(scores) for name, scores in blend[mode].items()}
                             for mode in MODES},
                   "holdout_days": window}
        why_all = choices["all"][1]
    except NotEnoughData:
        # Too few users came back for a ranker to learn and be judged: the single retrievers' own
        # evaluation decides (or ALS, when even that cannot be measured).
        try:
            evaluation = evaluate(interactions, window, params, end=end)
            retriever, why = best_retriever(evaluation, PROMOTION_METRIC)
            metrics = {**evaluation[retriever], "retriever": retriever, "baselines": evaluation,
                       "holdout_days": window}
        except NotEnoughData as exc:
            retriever, why = "als", t("recommendation.not_evaluated", reason=said(exc))
            metrics = {"evaluation": t("recommendation.evaluation_skipped", reason=said(exc)), "retriever": retriever,
                       "holdout_days": window}
        serve = realtime = {mode: retriever for mode in MODES}
        metrics["serve"], why_all = serve, why
    params = {**params, "personal": realtime["new"], "realtime": realtime, "serve": serve,
              "data_read_at": data_read_at}
    evaluate_s = time.perf_counter() - started
    ctx.progress(progress_from + (1 - progress_from) * 0.5, t("recommendation.progress_fitting"))
    started = time.perf_counter()

    def precomputing(users: int) -> None:
        ctx.progress(progress_from + (1 - progress_from) * 0.7,
                     t("recommendation.progress_precomputing", users=f"{users:,}"))

    model = train(interactions, baskets, catalogue, params, as_of=end, rankers=rankers, progress=precomputing)
    fit_s = time.perf_counter() - started
    ctx.progress(0.9, t("jobs.progress_saving"))
    data_window = {"from": interactions["ts"].min().isoformat(), "to": end.isoformat(),
                   "interactions": int(len(interactions)), "users": int(len(model.user_ids)),
                   "items": int(len(model.item_ids))}
    with ctx.session() as session:
        row = artifacts.save_version(session, ctx.settings, ctx.shop_id, SERVICE, arrays=model.to_arrays(),
                                     params=json.loads(json.dumps(params)), metrics={**metrics, **(extra or {})},
                                     data_window=data_window, job_id=ctx.job_id)
        promoted = artifacts.promote_if_better(session, row, PROMOTION_METRIC, higher_is_better=True)
        version, model_id = row.version, row.id
        if not promoted:
            active = artifacts.active_version(session, SERVICE)
            reason = t("recommendation.not_promoted", metric=PROMOTION_METRIC,
                       score=metrics.get(PROMOTION_METRIC, "-"), active=active.version,
                       active_score=active.metrics.get(PROMOTION_METRIC), model_id=model_id)
        else:
            reason = t("recommendation.promoted")
    log.info("recommendation v%s trained with %s (promoted: %s)", version, retriever, promoted)
    return {"model_id": model_id, "version": version, "promoted": promoted, "promotion": reason,
            "retriever": retriever, "retriever_choice": why, "serve": serve,
            "serve_choice": {"new": why, "all": why_all}, "metrics": metrics, "data_window": data_window,
            "timings_s": {"evaluate": round(evaluate_s, 2), "fit": round(fit_s, 2)}}


def retrain(ctx: JobContext) -> dict:
    """Retrain on all of the shop's data (with the active version's tuned parameters)."""
    ctx.progress(0.02, t("recommendation.progress_loading"))
    interactions, baskets, catalogue, data_read_at = _load(ctx)
    params = {**DEFAULT_PARAMS, **_active_params(ctx), **(ctx.params.get("params") or {})}
    return fit_and_register(ctx, interactions, baskets, catalogue, params, data_read_at=data_read_at)


def tune(ctx: JobContext) -> dict:
    """Random search over ALS and weighting parameters on a validation split, bounded in time,
    then train the best on all data. The validation split ends where the test holdout begins, so
    the reported test metrics stay unseen by the search."""
    ctx.progress(0.02, t("recommendation.progress_loading"))
    interactions, baskets, catalogue, data_read_at = _load(ctx)
    end = data_end(interactions["ts"])
    window = holdout_days(interactions, end)
    cutoff = end - pd.Timedelta(days=window)
    validation = interactions[interactions["ts"] <= cutoff]
    budget_s = float(ctx.params.get("budget_s", 300))
    max_trials = int(ctx.params.get("max_trials", 12))
    rng = random.Random(int(ctx.params.get("seed", 7)))
    trials, best = [], None
    started = time.perf_counter()
    candidates = [DEFAULT_PARAMS] + [{**DEFAULT_PARAMS, **{k: rng.choice(v) for k, v in SEARCH_SPACE.items()}}
                                     for _ in range(max_trials - 1)]
    for number, params in enumerate(candidates, start=1):
        if time.perf_counter() - started > budget_s:
            break
        try:
            score = evaluate(validation, window, params, models=("als",))["als"][PROMOTION_METRIC]
        except NotEnoughData as exc:
            raise InvalidInput(t("recommendation.cannot_tune", reason=said(exc))) from None
        trials.append({"params": {k: params[k] for k in SEARCH_SPACE}, PROMOTION_METRIC: round(score, 5)})
        if best is None or score > best[0]:
            best = (score, params)
        ctx.progress(0.05 + 0.6 * number / len(candidates),
                     t("recommendation.progress_trial", trial=number, metric=PROMOTION_METRIC, score=f"{score:.4f}"))
    result = fit_and_register(ctx, interactions, baskets, catalogue, best[1],
                              extra={"tuning": {"trials": len(trials), "best_validation": round(best[0], 5)}},
                              progress_from=0.7, data_read_at=data_read_at)
    result["trials"] = trials
    return result
