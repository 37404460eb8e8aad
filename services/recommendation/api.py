"""HTTP routes of the recommendation service (API.md, "Recommendation")."""

from __future__ import annotations

import functools

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.recommendation import data
from services.recommendation.recommender import Answer, Recommender
from services.recommendation.schemas import (
    ItemArgsSchema,
    PopularArgsSchema,
    RecommendationsSchema,
    SessionSchema,
    TuneSchema,
    UserArgsSchema,
)
from shared import jobs
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.auth import current_principal, current_shop_id
from shared.db import request_session
from shared.errors import Forbidden, InvalidInput
from shared.i18n import t
from shared.models import Shop
from shared.privacy import pseudonymise
from shared.schemas import JobEnvelopeSchema

blp = Blueprint("recommendation", __name__, url_prefix="/v1",
                description="Personalised, similar, bought-together and trending items")
MODELS: ActiveModelCache[Recommender] = ActiveModelCache(
    "recommendation", lambda artifact: Recommender.from_arrays(artifact.arrays, artifact.params))
NO_MODEL = "recommendation.no_model"


def _active() -> LoadedModel[Recommender] | None:
    return MODELS.get(current_shop_id(), current_app.config["SETTINGS"])


@functools.lru_cache(maxsize=4096)
def _salt(shop_id: int) -> str:
    return request_session().get(Shop, shop_id).user_id_salt  # never changes for a shop


def _respond(answer: Answer, loaded: LoadedModel | None, **ids) -> dict:
    return {**ids, "model_version": loaded.version if loaded else None, "items": answer.items,
            "fallback": answer.fallback, "message": answer.message}


def _no_model(**ids) -> dict:
    return {**ids, "model_version": None, "items": [], "fallback": "popular", "message": t(NO_MODEL)}


def _may_see_history_of(user_id: str) -> bool:
    principal = current_principal()
    if principal.user_id is not None and principal.user_id != user_id:
        raise Forbidden(t("auth.user_token_other_user"))
    return principal.may_see_history_of(user_id)


def _check_category(model: Recommender, category: str | None) -> None:
    if category and category not in model.categories_known():
        known = sorted(model.categories_known())
        listed = t("recommendation.known_categories", categories=", ".join(known[:50]))
        raise InvalidInput(t("recommendation.unknown_category", category=category), errors={"category": [listed]})


@blp.route("/recommendations/users/<path:user_id>")
class ForUser(MethodView):
    @blp.arguments(UserArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, user_id):
        """Personal recommendations for a user, updated by their latest events without a retrain."""
        loaded = _active()
        if loaded is None:
            return _no_model(user_id=user_id)
        model = loaded.model
        _check_category(model, args["category"])
        # A front-end key is public: without the user's token it gets their picks, never their history.
        personal = _may_see_history_of(user_id)
        pseudonym = pseudonymise(_salt(current_shop_id()), user_id)
        recent = data.recent_events(request_session(), pseudonym, model.as_of.to_pydatetime())
        answer = model.for_user(pseudonym, recent, args["n"], args["category"],
                                exclude_seen=args["exclude_seen"] or not personal, explain=personal)
        return _respond(answer, loaded, user_id=user_id)


@blp.route("/recommendations/items/<path:item_id>/similar")
class Similar(MethodView):
    @blp.arguments(ItemArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, item_id):
        """Items similar to this one (behaviour first, then category and title)."""
        loaded = _active()
        if loaded is None:
            return _no_model(item_id=item_id)
        return _respond(loaded.model.similar(item_id, args["n"]), loaded, item_id=item_id)


@blp.route("/recommendations/items/<path:item_id>/bought-together")
class BoughtTogether(MethodView):
    @blp.arguments(ItemArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args, item_id):
        """Items often bought in the same order as this one, ranked by lift."""
        loaded = _active()
        if loaded is None:
            return _no_model(item_id=item_id)
        return _respond(loaded.model.bought_together(item_id, args["n"]), loaded, item_id=item_id)


@blp.route("/recommendations/popular")
class Popular(MethodView):
    @blp.arguments(PopularArgsSchema, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args):
        """Best sellers and trending items over a window, optionally within a category."""
        loaded = _active()
        if loaded is None:
            return _no_model()
        _check_category(loaded.model, args["category"])
        return _respond(loaded.model.popular(args["n"], args["category"], args["window_days"]), loaded)


@blp.route("/recommendations/session")
class Session(MethodView):
    @blp.arguments(SessionSchema)
    @blp.response(200, RecommendationsSchema)
    def post(self, args):
        """Recommendations for an anonymous visitor from the items they just viewed."""
        loaded = _active()
        if loaded is None:
            return _no_model()
        return _respond(loaded.model.session(args["item_ids"], args["n"]), loaded)



@blp.route("/recommendations/tune")
class Tune(MethodView):
    @blp.arguments(TuneSchema)
    @blp.response(202, JobEnvelopeSchema)
    def post(self, args):
        """Search ALS and weighting parameters (bounded in time), then train and maybe promote the best."""
        job = jobs.start(request_session(), current_app.config["SETTINGS"], current_shop_id(),
                         "recommendation.tune", args, reuse_unfinished=True)
        return {"job": jobs.job_to_dict(job)}
