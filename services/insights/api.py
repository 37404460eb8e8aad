"""HTTP routes of the insights service (API.md, "Insights")."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from psycopg2.errors import QueryCanceled
from sqlalchemy.exc import OperationalError

from services.insights import tasks
from services.insights.answer import NotAnswerable
from services.insights.ask import answer_language, ask
from services.insights.data import STATEMENT_TIMEOUT_MS
from services.insights.nlq import UnknownValue, Unreadable, suggestions
from services.insights.schemas import (
    AnomaliesArgsSchema,
    AnswerSchema,
    AskSchema,
    MembersArgsSchema,
    SegmentsSchema,
)
from services.insights.segments import summary
from services.pricing.elasticity import DemandCurves
from shared.artifacts import ActiveModelCache, LoadedModel
from shared.auth import current_shop_id
from shared.db import request_session
from shared.errors import Conflict, InvalidInput, NotFound
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
            return ask(request_session(), current_shop_id(), question, args["as_of"], _segment_of)
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


def _load_segments(artifact):
    return {"customers": pd.DataFrame({k: np.asarray(v) for k, v in artifact.arrays.items()}),
            "params": artifact.params}


SEGMENTS: ActiveModelCache[dict] = ActiveModelCache("insights", _load_segments)
# The weekly report lists the pricing service's top suggestions: it reads that model the same way.
PRICING: ActiveModelCache[DemandCurves] = ActiveModelCache(
    "pricing", lambda artifact: DemandCurves.from_artifact(artifact.arrays, artifact.params))


def _segments() -> LoadedModel[dict]:
    loaded = SEGMENTS.get(current_shop_id(), current_app.config["SETTINGS"])
    if loaded is None:
        raise Conflict(t("insights.no_segments"))
    return loaded


def _segment_of() -> pd.Series:
    """Each buyer's RFM group, for questions asked by 客户分群 (409 until segments are computed)."""
    customers = _segments().model["customers"]
    return pd.Series(customers["rfm_group"].to_numpy(), index=customers["user_id"].to_numpy())


@blp.route("/segments")
class Segments(MethodView):
    @blp.response(200, SegmentsSchema)
    def get(self):
        """RFM groups and behaviour clusters: sizes, revenue shares, averages, what to do with each."""
        loaded = _segments()
        customers, params = loaded.model["customers"], loaded.model["params"]
        return {"model_version": loaded.version, "as_of": params["as_of"], "customers": int(len(customers)),
                "rfm": summary(customers, "rfm_group"),
                "clusters": {"k": params["k"], "silhouette": params["silhouette"],
                             "groups": params["cluster_profiles"]}}


@blp.route("/segments/<name>/customers")
class SegmentMembers(MethodView):
    @blp.arguments(MembersArgsSchema, location="query")
    def get(self, args, name):
        """Members of an RFM group or cluster (pseudonymous user ids), as JSON or CSV for coupon targeting."""
        customers = _segments().model["customers"]
        column = "cluster" if name.startswith("cluster_") else "rfm_group"
        members = customers[customers[column] == name].sort_values("spend", ascending=False)
        if members.empty:
            known = sorted(set(customers["rfm_group"]) | set(customers["cluster"]))
            raise NotFound(t("insights.unknown_segment", name=name, segments=", ".join(known)))
        fields = ["user_id", "rfm_group", "cluster", "recency_days", "orders", "spend", "r", "f", "m"]
        if args["format"] == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(fields)
            writer.writerows(members[fields].itertuples(index=False))
            return Response(buffer.getvalue(), mimetype="text/csv",
                            headers={"Content-Disposition": f"attachment; filename=segment-{len(members)}.csv"})
        page = members.iloc[args["offset"]:args["offset"] + args["limit"]]
        return {"segment": name, "total": int(len(members)),
                "items": [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                          for row in page[fields].to_dict("records")]}


@blp.route("/anomalies")
class Anomalies(MethodView):
    @blp.arguments(AnomaliesArgsSchema, location="query")
    @blp.response(200)
    def get(self, args):
        """Days whose KPI broke the pattern (weekday rhythm removed, festivals expected), with drivers."""
        return tasks.anomaly_report(request_session(), current_shop_id(), args["metric"], args["days"],
                                    args["category"])


@blp.route("/reports/weekly")
class WeeklyReport(MethodView):
    @blp.response(200, content_type="text/html")
    def get(self):
        """A self-contained HTML page: KPIs and their change, top and falling items, segments,
        anomalies, complaints, stock-out risks and price advice of the shop's last 7 days."""
        settings = current_app.config["SETTINGS"]
        loaded = SEGMENTS.get(current_shop_id(), settings)
        segments = summary(loaded.model["customers"], "rfm_group") if loaded else None
        pricing = PRICING.get(current_shop_id(), settings)
        html = tasks.weekly_report(request_session(), current_shop_id(), segments, pricing.model if pricing else None)
        return Response(html, mimetype="text/html")
