"""HTTP routes of the decisions service (docs/decisions.md): parse, call one use case in ``service``, reply."""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.decisions import service
from services.decisions.schemas import (
    AuditArgsSchema,
    AuditSchema,
    DecisionCreateSchema,
    DecisionListArgsSchema,
    DecisionPageSchema,
    DecisionSchema,
    MembersArgsSchema,
    MembersPageSchema,
)
from shared.auth import current_principal, current_shop_id
from shared.db import request_session
from shared.schemas import JobEnvelopeSchema, WaitArgsSchema
from shared.web import job_reply

blp = Blueprint("decisions", __name__, url_prefix="/v1",
                description="Decisions: advice accepted or rejected, sent to the business, checked afterwards")

IDEMPOTENCY_HEADER = "Idempotency-Key"


@blp.route("/decisions")
class Decisions(MethodView):
    @blp.arguments(DecisionCreateSchema)
    @blp.response(201, DecisionSchema)
    @blp.alt_response(200, schema=DecisionSchema, description="the same decision was already recorded; "
                                                              "nothing new was sent")
    def post(self, args):
        """Record a decision on a piece of advice (from its `suggestion_id`, or given explicitly).

        The advice is frozen as it is now (model version, predicted effect and interval). Accepting
        sends `price_change_accepted`, `restock_accepted` or `campaign_accepted` to the shop's
        webhooks; the same decision posted again (same `Idempotency-Key` header, same suggestion and
        status, or the same content) answers 200 with the first one and sends nothing."""
        key = (request.headers.get(IDEMPOTENCY_HEADER) or "")[:200] or None
        recorded = service.record(request_session(), current_shop_id(), current_principal(), args, key)
        return recorded.decision, 201 if recorded.created else 200

    @blp.arguments(DecisionListArgsSchema, location="query")
    @blp.response(200, DecisionPageSchema)
    def get(self, args):
        """The decision log, newest first; filter by kind, status, item, segment, measured."""
        return service.list_decisions(request_session(), args, args["limit"], args["cursor"])


@blp.route("/decisions/<int:decision_id>")
class DecisionItem(MethodView):
    @blp.response(200, DecisionSchema)
    def get(self, decision_id):
        """One decision, with its outcome once measured."""
        return service.get_decision(request_session(), decision_id)


@blp.route("/decisions/<int:decision_id>/members")
class DecisionMembers(MethodView):
    @blp.arguments(MembersArgsSchema, location="query")
    @blp.response(200, MembersPageSchema)
    def get(self, args, decision_id):
        """A campaign's customers to contact (`group=treatment`) or to leave alone (`group=holdout`),
        as JSON pages or one CSV."""
        if args["format"] == "csv":
            text = service.members_csv(request_session(), decision_id, args["group"])
            return Response(text, mimetype="text/csv", headers={
                "Content-Disposition": f"attachment; filename=decision-{decision_id}-{args['group']}.csv"})
        found = service.members(request_session(), decision_id, args["group"], args["limit"], args["cursor"])
        return {"decision_id": decision_id, "group": args["group"], "items": found.user_ids,
                "next_cursor": found.next_cursor}


@blp.route("/decisions/audit")
class Audit(MethodView):
    @blp.arguments(AuditArgsSchema, location="query")
    @blp.response(200, AuditSchema)
    def get(self, args):
        """Per model: how often its advice held up, and its mean predicted against realised effect."""
        return service.audit(request_session(), args["service"])


@blp.route("/decisions/outcomes/check")
class CheckOutcomes(MethodView):
    @blp.arguments(WaitArgsSchema, location="query")
    @blp.response(202, JobEnvelopeSchema)
    @blp.alt_response(200, schema=JobEnvelopeSchema, description="the check finished within ?wait=")
    def post(self, args):
        """Measure now every accepted decision whose window the shop's data covers (a job; it also
        runs after each orders or inventory import and nightly)."""
        settings = current_app.config["SETTINGS"]
        job = service.start_check(request_session(), settings, current_shop_id())
        return job_reply(settings, job, args["wait"])
