"""Sentiment use cases: what the routes and the jobs do, on top of the reading (``analysis``,
``aspects``, ``model``), the summaries and alert statistics (``summary``, ``alerts``) and the SQL
(``data``). No HTTP here: api.py parses and shapes, tasks.py wraps the jobs.

Training (retrain): star ratings are the shop's labels (1–2 negative, 4–5 positive, 3 left out).
With enough of them, a model is fitted on the default corpus plus 80% of them and kept only if it
beats the models it competes with (the default and the shop's current one) on the other 20%;
then every review is scored with whichever model won. Scoring (after each review import) scores
what the active model has not scored yet. Both end by looking for negative-review spikes and
sending each new one as a webhook event.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sqlalchemy.orm import Session

from services.sentiment import base, data
from services.sentiment.alerts import AlertRules, find_alerts
from services.sentiment.analysis import ReviewReader
from services.sentiment.aspects import Lexicon
from services.sentiment.model import SentimentClassifier, accuracy_and_macro_f1
from services.sentiment.summary import group_summary, item_summary, positive_rate
from shared import artifacts, jobs, webhooks
from shared.artifacts import ActiveModelCache
from shared.catalogue import titles as item_titles
from shared.catalogue import with_titles
from shared.config import Settings
from shared.errors import NotFound
from shared.i18n import t
from shared.jobs import JobContext
from shared.models import shop_timezone

log = logging.getLogger(__name__)
SERVICE = "sentiment"
MODELS: ActiveModelCache[SentimentClassifier] = ActiveModelCache(
    SERVICE, lambda artifact: SentimentClassifier.from_artifact(artifact.arrays, artifact.params))
MIN_ITEM_REVIEWS = 5  # an item listed by its positive rate needs at least this many reviews in the weeks
MIN_RATED_PER_CLASS = 50  # fewer shop labels than this per class cannot beat ~17k corpus reviews
HELD_OUT_SHARE = 0.2
SHOP_WEIGHT = 1.0  # a shop review weighs as much as a corpus review (measured: docs/benchmarks.md)
SCORE_BATCH = 2000
ALERT_KIND = "negative_review_spike"


# --- requests -----------------------------------------------------------------------------------

def analyze_texts(session: Session, shop_id: int, settings: Settings, texts: list[str]) -> dict:
    """Label, calibrated P(positive) and per-aspect sentiment of each text, with the shop's model
    (the default one, version 0, before it has its own) and aspect terms."""
    loaded = MODELS.get(shop_id, settings)
    classifier, version = (loaded.model, loaded.version) if loaded else (base_model(settings), base.BASE_VERSION)
    reader = ReviewReader(classifier, _lexicon(_frozen(data.lexicon_extension(session))))
    return {"model_version": version, "results": reader.analyze(texts)}


def item_sentiment(session: Session, shop_id: int, item_id: str, weeks: int) -> dict:
    """Positive rate, its weekly trend, and the complaints (and praise) behind it, by aspect."""
    if not data.item_known(session, item_id):
        raise NotFound(t("sentiment.unknown_item", item_id=item_id))
    reviews = data.item_review_count(session, item_id)
    scores = data.item_scores(session, item_id)
    return {**item_summary(item_id, reviews, scores, shop_timezone(session, shop_id), weeks),
            "title": item_titles(session, [item_id]).get(item_id)}


def category_sentiment(session: Session, shop_id: int, weeks: int) -> dict:
    """Per category over the last ``weeks`` weeks before the latest review: positive rate, trend,
    complaints; and the items with the lowest positive rate (at least MIN_ITEM_REVIEWS reviews)."""
    latest = data.latest_review_time(session)
    if latest is None:
        return {"weeks": weeks, "as_of": None, "categories": [], "items": []}
    timezone = shop_timezone(session, shop_id)
    scores = data.recent_scores(session, latest - timedelta(weeks=weeks))
    categories = data.item_categories(session)
    scores["category"] = scores["item_id"].map(categories).fillna(t("sentiment.no_category"))
    groups = [group_summary(str(name), group, timezone, weeks) for name, group in scores.groupby("category")]
    groups.sort(key=lambda g: (g["positive_rate"] is None, g["positive_rate"] or 0))
    items = []
    for item_id, group in scores.groupby("item_id"):
        if len(group) >= MIN_ITEM_REVIEWS:
            items.append({"item_id": str(item_id), "category": group["category"].iloc[0], "reviews": int(len(group)),
                          "positive_rate": positive_rate(group["label"])})
    items.sort(key=lambda i: (i["positive_rate"] is None, i["positive_rate"] or 0))
    as_of = pd.Timestamp(latest).tz_convert(timezone).date().isoformat()
    return {"weeks": weeks, "as_of": as_of, "categories": groups, "items": with_titles(session, items[:50])}


def alert_list(session: Session, shop_id: int, rules: AlertRules) -> dict:
    """Items whose share of negative reviews rose significantly, as of the latest scored review."""
    alerts, as_of = current_alerts(session, shop_id, rules)
    return {"as_of": as_of, "rules": rules.__dict__, "alerts": alerts}


def shop_aspects(session: Session) -> dict:
    return {"aspects": data.lexicon_extension(session)}


def replace_aspects(session: Session, shop_id: int, settings: Settings, aspects: dict[str, list[str]]) -> dict:
    """Save the shop's extra aspect terms and start reading every review again with them."""
    data.save_lexicon_extension(session, shop_id, aspects)
    session.commit()
    # Stored scores stay until each is replaced, so summaries never go blank meanwhile.
    job = jobs.start(session, settings, shop_id, "sentiment.score", params={"rescore_all": True})
    return {"job": jobs.job_to_dict(job)}


def _frozen(extension: dict[str, list[str]]) -> tuple:
    return tuple(sorted((aspect, tuple(words)) for aspect, words in extension.items()))


@functools.lru_cache(maxsize=256)
def _lexicon(extension: tuple) -> Lexicon:
    """One lexicon (and its compiled term patterns) per distinct set of shop terms, not per request."""
    return Lexicon().extended({aspect: list(words) for aspect, words in extension})


# --- jobs, and what they share with requests ----------------------------------------------------

@functools.cache
def _base_model(artifact_dir: Path) -> SentimentClassifier:
    return base.load(artifact_dir)


def base_model(settings: Settings) -> SentimentClassifier:
    """The default model, loaded once per process (built first if this machine has none)."""
    return _base_model(settings.artifact_dir)


def active_model(session, settings: Settings) -> tuple[SentimentClassifier, int]:
    """The shop's active model and its version; the default model (version 0) when it has none."""
    row = artifacts.active_version(session, SERVICE)
    if row is None:
        return base_model(settings), base.BASE_VERSION
    artifact = artifacts.load_artifact(row, settings)
    return SentimentClassifier.from_artifact(artifact.arrays, artifact.params), row.version


def rating_labels(rated: pd.DataFrame) -> pd.DataFrame:
    """text, label (1 positive / 0 negative) from star ratings; 3 stars say neither and are left out."""
    known = rated[rated["rating"].isin([1, 2, 4, 5]) & rated["text"].str.strip().astype(bool)]
    return pd.DataFrame({"text": known["text"].to_numpy(), "label": (known["rating"] >= 4).astype(int).to_numpy()})


def train(ctx: JobContext) -> dict:
    """Refine the default model with the shop's rated reviews if that wins on held-out ones, then score."""
    ctx.progress(0.02, t("sentiment.progress_reading"))
    with ctx.session() as session:
        labelled = rating_labels(data.rated_reviews(session))
        current = artifacts.active_version(session, SERVICE)
        current_model = active_model(session, ctx.settings)[0] if current is not None else None
    counts = labelled["label"].value_counts().reindex([0, 1], fill_value=0)
    summary = {"rated_reviews": {"positive": int(counts[1]), "negative": int(counts[0])}}
    if counts.min() < MIN_RATED_PER_CLASS:
        summary["model"] = "default"
        summary["note"] = t("sentiment.too_few_rated", positive=int(counts[1]), negative=int(counts[0]),
                            needed=MIN_RATED_PER_CLASS)
        summary["scoring"] = _score_all(ctx, 0.3)
        return summary

    ctx.progress(0.05, t("sentiment.progress_loading"))
    fit_rows, held_out = train_test_split(np.arange(len(labelled)), test_size=HELD_OUT_SHARE, random_state=0,
                                          stratify=labelled["label"])
    corpus_texts, corpus_labels, _facts = base.corpus()
    ctx.progress(0.1, t("sentiment.progress_fitting", reviews=f"{len(fit_rows):,}"))
    started = time.perf_counter()
    candidate = _fit_with_shop(corpus_texts, corpus_labels, labelled.iloc[fit_rows])
    fit_s = time.perf_counter() - started
    truth, texts = labelled["label"].to_numpy()[held_out], labelled["text"].iloc[held_out].tolist()
    scores = {"refined": accuracy_and_macro_f1(truth, candidate.predict_proba(texts)),
              "default": accuracy_and_macro_f1(truth, base_model(ctx.settings).predict_proba(texts))}
    if current_model is not None:
        scores[f"active_v{current.version}"] = accuracy_and_macro_f1(truth, current_model.predict_proba(texts))
    best = max(scores, key=lambda name: (scores[name]["accuracy"], name == "refined"))
    summary.update(held_out=scores, held_out_reviews=len(held_out), chosen=best)
    if best == "refined":
        ctx.progress(0.5, t("sentiment.progress_refitting", reviews=f"{len(labelled):,}"))
        final = _fit_with_shop(corpus_texts, corpus_labels, labelled)
        arrays, params = final.to_artifact()
        metrics = {"accuracy": scores["refined"]["accuracy"], "macro_f1": scores["refined"]["macro_f1"],
                   "default_accuracy": scores["default"]["accuracy"], "held_out_reviews": len(held_out)}
        with ctx.session() as session:
            row = artifacts.save_version(session, ctx.settings, ctx.shop_id, SERVICE, arrays=arrays, params=params,
                                         metrics=metrics, data_window={"rated_reviews": len(labelled)},
                                         job_id=ctx.job_id)
            artifacts.promote(session, row)
            summary.update(model_id=row.id, version=row.version, promoted=True)
        summary["note"] = t("sentiment.refined_serves")
    else:
        summary["promoted"] = False
        kept = t("sentiment.model_default") if best == "default" else \
            t("sentiment.model_active", version=best.removeprefix("active_v"))
        summary["note"] = t("sentiment.kept_model", model=kept)
    summary["timings_s"] = {"fit": round(fit_s, 1)}
    summary["scoring"] = _score_all(ctx, 0.7)
    return summary


def _fit_with_shop(corpus_texts: list[str], corpus_labels: np.ndarray, shop: pd.DataFrame) -> SentimentClassifier:
    texts = corpus_texts + shop["text"].tolist()
    labels = np.concatenate([corpus_labels, shop["label"].to_numpy()])
    weights = np.concatenate([np.ones(len(corpus_texts)), np.full(len(shop), SHOP_WEIGHT)])
    return SentimentClassifier().fit(texts, labels, sample_weight=weights)


def score(ctx: JobContext) -> dict:
    """Score the reviews the active model has not scored (``rescore_all``: every review, as after
    the shop's aspect terms change), then look for spikes."""
    return _score_all(ctx, 0.0, everything=bool(ctx.params.get("rescore_all")))


def _score_all(ctx: JobContext, progress_from: float, everything: bool = False) -> dict:
    started = time.perf_counter()
    with ctx.session() as session:
        classifier, version = active_model(session, ctx.settings)
        reader = ReviewReader(classifier, Lexicon().extended(data.lexicon_extension(session)))
        total = data.count_reviews(session) if everything else data.count_unscored(session, version)
        done = 0
        ctx.progress(progress_from, t("sentiment.progress_scoring", reviews=f"{total:,}", version=version), force=True)
        # Reviews imported while this runs are picked up by a second pass (keyset pages skip them).
        for _pass in range(3):
            for batch in data.unscored_batches(session, version, SCORE_BATCH, everything):
                results = reader.analyze(batch["text"].tolist())
                data.save_scores(session, [
                    {"shop_id": ctx.shop_id, "review_id": r.review_id, "item_id": r.item_id,
                     "created_at": r.created_at, "label": res["label"], "score": res["score"],
                     "aspects": res["aspects"], "model_version": version}
                    for r, res in zip(batch.itertuples(), results, strict=True)])
                session.commit()
                done += len(batch)
                ctx.progress(progress_from + (0.95 - progress_from) * min(done / max(total, 1), 1.0),
                             t("sentiment.progress_scored", done=f"{done:,}", total=f"{total:,}"))
            everything = False
            if data.count_unscored(session, version) == 0:
                break
    seconds = time.perf_counter() - started
    alerts = raise_alerts(ctx)
    return {"model_version": version, "reviews_scored": done, "seconds": round(seconds, 2),
            "reviews_per_s": round(done / seconds) if seconds and done else None, "alerts_sent": alerts}


def scored_frame(session, timezone: str, since=None) -> pd.DataFrame:
    """Scored reviews as ``alerts.find_alerts`` reads them (day in the shop's time zone)."""
    frame = data.recent_scores(session, since)
    if frame.empty:
        return pd.DataFrame(columns=["item_id", "day", "negative", "complaints", "text"])
    local = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(timezone)
    return pd.DataFrame({
        "item_id": frame["item_id"], "day": local.dt.date, "negative": frame["label"] == "negative",
        "complaints": frame["aspects"].map(lambda aspects: [a["aspect"] for a in aspects or []
                                                            if a.get("label") == "negative"]),
        "text": frame["text"]})


def current_alerts(session, shop_id: int, rules: AlertRules = AlertRules()) -> tuple[list[dict], str | None]:
    """(alerts, as_of): spikes as of the shop's latest scored review."""
    latest = data.latest_review_time(session)
    if latest is None:
        return [], None
    since = latest - timedelta(days=rules.window_days + rules.baseline_days + 1)
    frame = scored_frame(session, shop_timezone(session, shop_id), since)
    if frame.empty:
        return [], None
    as_of = max(frame["day"])
    return with_titles(session, find_alerts(frame, rules, as_of)), as_of.isoformat()


def raise_alerts(ctx: JobContext) -> int:
    """A ``negative_review_spike`` event per new spike: once per item per window, not on every run."""
    sent = 0
    rules = AlertRules()
    with ctx.session() as session:
        alerts, _as_of = current_alerts(session, ctx.shop_id, rules)
        for alert in alerts:
            end = pd.Timestamp(alert["window"]["to"]).date()
            earlier = tuple((end - timedelta(days=k)).isoformat() for k in range(1, rules.window_days))
            sent += webhooks.emit_once(session, ctx.shop_id, ALERT_KIND, alert["item_id"], end.isoformat(), alert,
                                       covered_by=earlier)
        session.commit()
    if sent:
        log.info("shop %s: %d negative review spike alert(s) sent", ctx.shop_id, sent)
    return sent
