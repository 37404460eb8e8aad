"""HTTP routes of the insights service (docs/insights.md): parse, call one use case, shape the reply."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from psycopg2.errors import QueryCanceled
from sqlalchemy.exc import OperationalError

from services.insights import service
from services.insights.answer import NotAnswerable
from services.insights.ask import answer_language, ask
from services.insights.data import STATEMENT_TIMEOUT_MS
from services.insights.nlq import UnknownValue, Unreadable, suggestions
from services.insights.schemas import (
    AnomaliesArgsSchema,
    AnswerSchema,
    AskSchema,
    MembersArgsSchema,
    SegmentsArgsSchema,
    SegmentsSchema,
)
from services.insights.weekly import weekly_report
from shared.auth import current_principal, current_shop_id
from shared.config import Settings
from shared.db import request_session
from shared.errors import InvalidInput
from shared.i18n import render, said, t

blp = Blueprint("insights", __name__, url_prefix="/v1", description="Questions, segments, anomalies and reports")


@blp.route("/ask")
class Ask(MethodView):
    @blp.arguments(AskSchema)
    @blp.response(200, AnswerSchema)
    def post(self, args):
        """Answer a plain question with a table, a chart and a sentence; say how it was read."""
        question = args["question"]
        try:
            return ask(request_session(), current_shop_id(), question, args["as_of"],
                       service.segment_lookup(current_shop_id(), _settings()))
        except Unreadable as exc:
            raise _unanswerable(question, said(exc), exc) from None
        except NotAnswerable as exc:
            raise _unanswerable(question, said(exc), exc, read=True) from None
        except OperationalError as exc:
            if not isinstance(exc.orig, QueryCanceled):
                raise  # the database is down: 503 from the shared handler
            raise _unanswerable(question, t("insights.too_slow", seconds=STATEMENT_TIMEOUT_MS // 1000), exc,
                                read=True) from None


def _unanswerable(question: str, why, exc: Exception, read: bool = False) -> InvalidInput:
    """A 422 that says why, in the answer's language, with questions that would work."""
    language = answer_language(question)
    close = [question.replace(exc.value, v) for v in exc.close] if isinstance(exc, UnknownValue) else []
    detail = why if read else t("insights.unreadable", reason=why)
    return InvalidInput(render(detail, language), errors={"question": [render(why, language)]},
                        suggestions=close or suggestions(question, language))


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


@blp.route("/segments")
class Segments(MethodView):
    @blp.arguments(SegmentsArgsSchema, location="query")
    @blp.response(200, SegmentsSchema)
    def get(self, args):
        """RFM groups and behaviour clusters: sizes, revenue shares, averages, what to do with each (and,
        with `trend_months`, each group's buyers and revenue per month)."""
        return service.segments_overview(request_session(), current_shop_id(), _settings(), args["trend_months"])


@blp.route("/segments/<name>/customers")
class SegmentMembers(MethodView):
    @blp.arguments(MembersArgsSchema, location="query")
    def get(self, args, name):
        """Members of an RFM group or cluster (pseudonymous user ids), as JSON or CSV for coupon targeting."""
        if args["format"] == "csv":
            export = service.segment_members_csv(current_shop_id(), _settings(), name)
            return Response(export.text, mimetype="text/csv",
                            headers={"Content-Disposition": f"attachment; filename={export.filename}"})
        return service.segment_members_page(current_shop_id(), _settings(), name, args["offset"], args["limit"])


@blp.route("/anomalies")
class Anomalies(MethodView):
    @blp.arguments(AnomaliesArgsSchema, location="query")
    @blp.response(200)
    def get(self, args):
        """Days whose KPI broke the pattern (weekday rhythm removed, festivals expected), with drivers."""
        return service.anomaly_report(request_session(), current_shop_id(), args["metric"], args["days"],
                                      args["category"])


@blp.route("/reports/weekly")
class WeeklyReport(MethodView):
    @blp.response(200, content_type="text/html")
    def get(self):
        """A self-contained HTML page: KPIs and their change, top and falling items, segments,
        anomalies, complaints, stock-out risks and price advice of the shop's last 7 days."""
        html = weekly_report(request_session(), current_shop_id(), _settings(), current_principal())
        return Response(html, mimetype="text/html")
