"""HTTP routes of the recommendation service (docs/recommendations.md): parse, call one use case in
``service``, reply."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.recommendation import service
from services.recommendation.schemas import (
    HistoryArgsSchema,
    HistorySchema,
    ItemArgsSchema,
    PopularArgsSchema,
    RecommendationsSchema,
    SessionSchema,
    TuneSchema,
    UserArgsSchema,
)
from shared.auth import current_principal, current_shop_id
from shared.db import request_session
from shared.schemas import JobEnvelopeSchema

blp = Blueprint("recommendation", __name__, url_prefix="/v1",
                description="Personalised, similar, bought-together and trending items")


@blp.route("/recommendations/users/<path:user_id>")
class ForUser(MethodView):
    @blp.arguments(UserArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, user_id):
        """Personal recommendations for a user, updated by their latest events without a retrain."""
        return service.for_user(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                current_principal(), user_id, args["n"], args["category"], args["exclude_seen"])


@blp.route("/recommendations/users/<path:user_id>/history")
class UserHistory(MethodView):
    @blp.arguments(HistoryArgsSchema, location="query")
    @blp.response(200, HistorySchema)
    def get(self, args, user_id):
        """What a buyer viewed, carted and bought, newest first (staff keys, or the user's own token)."""
        return service.user_history(request_session(), current_shop_id(), current_principal(), user_id,
                                    args["limit"])


@blp.route("/recommendations/items/<path:item_id>/similar")
class Similar(MethodView):
    @blp.arguments(ItemArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, item_id):
        """Items similar to this one (behaviour first, then category and title)."""
        return service.similar(request_session(), current_shop_id(), current_app.config["SETTINGS"], item_id,
                               args["n"])


@blp.route("/recommendations/items/<path:item_id>/bought-together")
class BoughtTogether(MethodView):
    @blp.arguments(ItemArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, item_id):
        """Items often bought in the same order as this one, ranked by lift."""
        return service.bought_together(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                       item_id, args["n"])


@blp.route("/recommendations/popular")
class Popular(MethodView):
    @blp.arguments(PopularArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args):
        """Best sellers and trending items over a window, optionally within a category."""
        return service.popular(request_session(), current_shop_id(), current_app.config["SETTINGS"], args["n"],
                               args["category"], args["window_days"])


@blp.route("/recommendations/session")
class Session(MethodView):
    @blp.arguments(SessionSchema)
    @blp.response(200, RecommendationsSchema)
    def post(self, args):
        """Recommendations for an anonymous visitor from the items they just viewed."""
        return service.for_session(request_session(), current_shop_id(), current_app.config["SETTINGS"],
                                   args["item_ids"], args["n"])


@blp.route("/recommendations/tune")
class Tune(MethodView):
    @blp.arguments(TuneSchema)
    @blp.response(202, JobEnvelopeSchema)
    def post(self, args):
        """Search ALS and weighting parameters (bounded in time), then train and maybe promote the best."""
        return service.start_tuning(request_session(), current_shop_id(), current_app.config["SETTINGS"], args)
