"""Training and tuning jobs: load from the database, evaluate on a time holdout, fit, save, promote."""

from __future__ import annotations

import json
import logging
import random
import time

import pandas as pd

from services.recommendation import data
from services.recommendation.evaluate import best_retriever, data_end, evaluate
from services.recommendation.model import DEFAULT_PARAMS, NotEnoughData
from services.recommendation.recommender import train
from shared import artifacts
from shared.errors import InvalidInput
from shared.i18n import said, t
from shared.jobs import JobContext, job_task

log = logging.getLogger(__name__)
SERVICE = "recommendation"
PROMOTION_METRIC = "recall@20"
SEARCH_SPACE = {
    "factors": [32, 64, 128],
    "regularization": [0.01, 0.05, 0.2, 1.0],
    "alpha": [1.0, 5.0, 10.0, 40.0],
    "iterations": [10, 20],
    "half_life_days": [30.0, 90.0, 365.0],
    "weights": [DEFAULT_PARAMS["weights"], {"pv": 1.0, "fav": 2.0, "cart": 3.0, "buy": 5.0},
                {"pv": 1.0, "fav": 5.0, "cart": 8.0, "buy": 15.0}],
}


def holdout_days(interactions: pd.DataFrame, end: pd.Timestamp | None = None) -> float:
    """7 days, or a tenth of the history when it is shorter than ten weeks.

    The span ignores the oldest 1% of events: a few stray early rows (real logs have them) must not
    stretch a nine-day log into "ten weeks" and hold out most of it.
    """
    end = interactions["ts"].max() if end is None else end
    span = (end - interactions["ts"].quantile(0.01)).total_seconds() / 86400
    return round(min(7.0, max(span / 10, 0.5)), 2)


def _load(ctx: JobContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with ctx.session() as session:
        interactions = data.load_interactions(session)
        if interactions.empty:
            raise InvalidInput(t("recommendation.no_data_yet"))
        baskets = data.load_baskets(session)
        categories = data.load_event_categories(session)
    interactions = interactions.merge(categories.drop_duplicates("item_id"), on="item_id", how="left")
    with ctx.session() as session:
        catalogue = data.load_catalogue(session, interactions)
    return interactions, baskets, catalogue


def _active_params(ctx: JobContext) -> dict:
    with ctx.session() as session:
        active = artifacts.active_version(session, SERVICE)
        return {k: v for k, v in (active.params if active else {}).items() if k in DEFAULT_PARAMS}


def fit_and_register(ctx: JobContext, interactions, baskets, catalogue, params: dict, extra: dict | None = None,
                     progress_from: float = 0.1) -> dict:
    """Evaluate every retriever on a holdout, fit the best on everything, save the version, and
    promote it if it beats the active one."""
    end = data_end(interactions["ts"])
    window = ctx.params.get("holdout_days") or holdout_days(interactions, end)
    ctx.progress(progress_from, t("recommendation.progress_evaluating", days=window, end=f"{end:%Y-%m-%d}",
                                  interactions=f"{len(interactions):,}"))
    started = time.perf_counter()
    try:
        evaluation = evaluate(interactions, window, params, end=end)
        retriever, why = best_retriever(evaluation, PROMOTION_METRIC)
        metrics = {**evaluation[retriever], "retriever": retriever, "baselines": evaluation, "holdout_days": window}
    except NotEnoughData as exc:
        retriever, why = "als", t("recommendation.not_evaluated", reason=said(exc))
        metrics = {"evaluation": t("recommendation.evaluation_skipped", reason=said(exc)), "retriever": retriever,
                   "holdout_days": window}
    params = {**params, "personal": retriever}
    evaluate_s = time.perf_counter() - started
    ctx.progress(progress_from + (1 - progress_from) * 0.5, t("recommendation.progress_fitting"))
    started = time.perf_counter()
    model = train(interactions, baskets, catalogue, params, as_of=end)
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
            "retriever": retriever, "retriever_choice": why, "metrics": metrics, "data_window": data_window,
            "timings_s": {"evaluate": round(evaluate_s, 2), "fit": round(fit_s, 2)}}


@job_task("recommendation.train")
def train_recommender(ctx: JobContext) -> dict:
    """Retrain on all of the shop's data (with the active version's tuned parameters)."""
    ctx.progress(0.02, t("recommendation.progress_loading"))
    interactions, baskets, catalogue = _load(ctx)
    params = {**DEFAULT_PARAMS, **_active_params(ctx), **(ctx.params.get("params") or {})}
    return fit_and_register(ctx, interactions, baskets, catalogue, params)


@job_task("recommendation.tune")
def tune_recommender(ctx: JobContext) -> dict:
    """Random search over ALS and weighting parameters on a validation split, bounded in time,
    then train the best on all data. The validation split ends where the test holdout begins, so
    the reported test metrics stay unseen by the search."""
    ctx.progress(0.02, t("recommendation.progress_loading"))
    interactions, baskets, catalogue = _load(ctx)
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
                              progress_from=0.7)
    result["trials"] = trials
    return result
