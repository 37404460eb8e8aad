"""HTTP routes of the sentiment service (API.md, "Sentiment")."""

from __future__ import annotations

import functools

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.sentiment import data, tasks
from services.sentiment.alerts import AlertRules
from services.sentiment.analysis import ReviewReader
from services.sentiment.aspects import Lexicon
from services.sentiment.model import SentimentClassifier
from services.sentiment.schemas import (
    AlertsArgsSchema,
    AlertsSchema,
    AnalyzeResultSchema,
    AnalyzeSchema,
    ItemSentimentSchema,
    LexiconSchema,
    TrendArgsSchema,
)
from services.sentiment.summary import item_summary
from shared import jobs
from shared.artifacts import ActiveModelCache
from shared.auth import current_shop_id
from shared.db import request_session
from shared.errors import NotFound
from shared.i18n import t
from shared.schemas import JobEnvelopeSchema

blp = Blueprint("sentiment", __name__, url_prefix="/v1", description="Review sentiment, complaints and alerts")
MODELS: ActiveModelCache[SentimentClassifier] = ActiveModelCache(
    "sentiment", lambda artifact: SentimentClassifier.from_artifact(artifact.arrays, artifact.params))


def _reader() -> tuple[ReviewReader, int]:
    settings = current_app.config["SETTINGS"]
    loaded = MODELS.get(current_shop_id(), settings)
    classifier, version = (loaded.model, loaded.version) if loaded else (tasks.base_model(settings), 0)
    return ReviewReader(classifier, _lexicon(_frozen(data.lexicon_extension(request_session())))), version


def _frozen(extension: dict[str, list[str]]) -> tuple:
    return tuple(sorted((aspect, tuple(words)) for aspect, words in extension.items()))


@functools.lru_cache(maxsize=256)
def _lexicon(extension: tuple) -> Lexicon:
    """One lexicon (and its compiled term patterns) per distinct set of shop terms, not per request."""
    return Lexicon().extended({aspect: list(words) for aspect, words in extension})


@blp.route("/sentiment/analyze")
class Analyze(MethodView):
    @blp.arguments(AnalyzeSchema)
    @blp.response(200, AnalyzeResultSchema)
    def post(self, args):
        """Label, calibrated P(positive) and per-aspect sentiment for up to 1,000 texts."""
        reader, version = _reader()
        return {"model_version": version, "results": reader.analyze(args["texts"])}


@blp.route("/sentiment/items/<path:item_id>")
class ItemSentiment(MethodView):
    @blp.arguments(TrendArgsSchema, location="query")
    @blp.response(200, ItemSentimentSchema)
    def get(self, args, item_id):
        """Positive rate, its weekly trend, and the complaints (and praise) behind it, by aspect."""
        session = request_session()
        if not data.item_known(session, item_id):
            raise NotFound(t("sentiment.unknown_item", item_id=item_id))
        reviews = data.item_review_count(session, item_id)
        scores = data.item_scores(session, item_id)
        return item_summary(item_id, reviews, scores, data.shop_timezone(session, current_shop_id()), args["weeks"])


@blp.route("/sentiment/alerts")
class Alerts(MethodView):
    @blp.arguments(AlertsArgsSchema, location="query")
    @blp.response(200, AlertsSchema)
    def get(self, args):
        """Items whose share of negative reviews rose significantly, with the aspect driving it."""
        rules = AlertRules(window_days=args["window_days"], baseline_days=args["baseline_days"],
                           min_negative=args["min_negative"])
        alerts, as_of = tasks.current_alerts(request_session(), current_shop_id(), rules)
        return {"as_of": as_of, "rules": rules.__dict__, "alerts": alerts}


@blp.route("/sentiment/aspects")
class Aspects(MethodView):
    @blp.response(200, LexiconSchema)
    def get(self):
        """The shop's extra aspect terms (the built-in lexicon is in docs/sentiment.md)."""
        return {"aspects": data.lexicon_extension(request_session())}

    @blp.arguments(LexiconSchema)
    @blp.response(202, JobEnvelopeSchema)
    def put(self, args):
        """Replace the shop's extra aspect terms; every review is read again with them (a scoring job)."""
        session = request_session()
        data.save_lexicon_extension(session, current_shop_id(), args["aspects"])
        session.commit()
        # Stored scores stay until each is replaced, so summaries never go blank meanwhile.
        job = jobs.start(session, current_app.config["SETTINGS"], current_shop_id(), "sentiment.score",
                         params={"rescore_all": True})
        return {"job": jobs.job_to_dict(job)}
