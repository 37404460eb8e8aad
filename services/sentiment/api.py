"""HTTP routes of the sentiment service (docs/sentiment.md): parse, call one use case in ``service``, reply."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.sentiment import service
from services.sentiment.alerts import AlertRules
from services.sentiment.schemas import (
    AlertsArgsSchema,
    AlertsSchema,
    AnalyzeResultSchema,
    AnalyzeSchema,
    CategoriesSentimentSchema,
    ItemSentimentSchema,
    LexiconSchema,
    TrendArgsSchema,
)
from shared.auth import current_shop_id
from shared.db import request_session
from shared.schemas import JobEnvelopeSchema

blp = Blueprint("sentiment", __name__, url_prefix="/v1", description="Review sentiment, complaints and alerts")


@blp.route("/sentiment/analyze")
class Analyze(MethodView):
    @blp.arguments(AnalyzeSchema)
    @blp.response(200, AnalyzeResultSchema)
    def post(self, args):
        """Label, calibrated P(positive) and per-aspect sentiment for up to 1,000 texts."""
        return service.analyze_texts(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                     args["texts"])


@blp.route("/sentiment/items/<path:item_id>")
class ItemSentiment(MethodView):
    @blp.arguments(TrendArgsSchema, location="query")
    @blp.response(200, ItemSentimentSchema)
    def get(self, args, item_id):
        """Positive rate, its weekly trend, and the complaints (and praise) behind it, by aspect."""
        return service.item_sentiment(request_session(), current_shop_id(), item_id, args["weeks"])


@blp.route("/sentiment/categories")
class CategorySentiment(MethodView):
    @blp.arguments(TrendArgsSchema, location="query")
    @blp.response(200, CategoriesSentimentSchema)
    def get(self, args):
        """Per category over the last `weeks`: positive rate, its weekly trend and top complaints; and the
        items with the lowest positive rate."""
        return service.category_sentiment(request_session(), current_shop_id(), args["weeks"])


@blp.route("/sentiment/alerts")
class Alerts(MethodView):
    @blp.arguments(AlertsArgsSchema, location="query")
    @blp.response(200, AlertsSchema)
    def get(self, args):
        """Items whose share of negative reviews rose significantly, with the aspect driving it."""
        rules = AlertRules(window_days=args["window_days"], baseline_days=args["baseline_days"],
                           min_negative=args["min_negative"])
        return service.alert_list(request_session(), current_shop_id(), rules)


@blp.route("/sentiment/aspects")
class Aspects(MethodView):
    @blp.response(200, LexiconSchema)
    def get(self):
        """The shop's extra aspect terms (the built-in lexicon is in docs/sentiment.md)."""
        return service.shop_aspects(request_session())

    @blp.arguments(LexiconSchema)
    @blp.response(202, JobEnvelopeSchema)
    def put(self, args):
        """Replace the shop's extra aspect terms; every review is read again with them (a scoring job)."""
        return service.replace_aspects(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                       args["aspects"])
