"""HTTP routes of the insights service (API.md, "Insights")."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from services.insights.answer import NotAnswerable
from services.insights.ask import ask
from services.insights.nlq import Unreadable, suggestions
from services.insights.schemas import AnswerSchema, AskSchema
from shared.auth import current_shop_id
from shared.db import request_session
from shared.errors import InvalidInput

blp = Blueprint("insights", __name__, url_prefix="/v1", description="Questions, segments, anomalies and reports")


@blp.route("/ask")
class Ask(MethodView):
    @blp.arguments(AskSchema)
    @blp.response(200, AnswerSchema)
    def post(self, args):
        """Answer a plain question with a table, a chart and a sentence; say how it was read."""
        question = args["question"]
        try:
            return ask(request_session(), current_shop_id(), question, args["as_of"])
        except Unreadable as exc:
            raise InvalidInput(f"could not read the question: {exc}", errors={"question": [str(exc)]},
                               suggestions=suggestions(question)) from None
        except NotAnswerable as exc:
            raise InvalidInput(str(exc), errors={"question": [str(exc)]}, suggestions=suggestions(question)) from None
