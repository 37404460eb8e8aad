"""Answers the gateway assembles from several services: retrain, item overview, dashboard, readiness.

Fan-out calls run concurrently under one time budget; a part that fails or is late comes back
as ``{"error": ...}`` in its place, so the whole answer is never a 500 because one service is.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import quote, urlencode

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from services.gateway import alerts, data
from services.gateway.proxy import registry
from services.gateway.schemas import AlertListArgsSchema, AlertListSchema, AlertSchema
from shared import i18n
from shared.auth import Principal, current_principal
from shared.config import TRAINABLE_SERVICES
from shared.db import get_engine, request_session
from shared.errors import Conflict, NotFound, ServiceUnavailable, ShopmindError
from shared.i18n import Message, t
from shared.models import ALERT_STATUSES, Product

blp = Blueprint("aggregates", __name__, url_prefix="/v1", description="Answers assembled from several services")
_pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="shopmind-fanout")


def _call_part(service: str, path: str, principal: Principal, budget_s: float) -> Any:
    try:
        # The HTTP timeout is the budget, so a slow service frees its thread when the answer is due.
        reply = registry().get(service).call("GET", path, principal, timeout_s=budget_s)
    except ShopmindError as exc:
        return {"error": exc.to_problem()}
    if reply.status != 200:
        detail = reply.body.get("detail") if isinstance(reply.body, dict) else str(reply.body)[:200]
        return {"error": {"status": reply.status, "detail": detail, "service": service}}
    return reply.body


def fan_out(parts: dict[str, tuple[str, str]], principal: Principal, budget_s: float) -> Callable[[], dict[str, Any]]:
    """Start calling ``{name: (service, path)}`` concurrently; the function returned waits for the
    answers (until ``budget_s`` after the start), late or failed parts becoming errors. The caller
    can do its own work in between."""
    deadline = time.monotonic() + budget_s
    futures = {
        # Each part runs in a copy of this request's context (Flask's request and app, the language,
        # the request id) without pushing it again: ending a part must not end the request.
        name: _pool.submit(contextvars.copy_context().run, _call_part, service, path, principal, budget_s)
        for name, (service, path) in parts.items()
    }

    def answers() -> dict[str, Any]:
        wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
        answer = {}
        for name, future in futures.items():
            if future.done():
                answer[name] = future.result()
            else:
                future.cancel()  # not started yet: never run it
                answer[name] = {"error": {"status": 504,
                                          "detail": t("gateway.part_timeout", seconds=f"{budget_s:.1f}")}}
        return answer

    return answers


def _reasons(skipped: list[dict]) -> Message | str:
    return i18n.join([t("gateway.service_reason", service=s["service"], reason=s["reason"]) for s in skipped])


def retrain(models: list[str], principal: Principal) -> tuple[list[dict], list[dict]]:
    """Ask each service to start its training job; a service with nothing to train is skipped."""
    services = TRAINABLE_SERVICES if "all" in models else list(dict.fromkeys(models))
    started, skipped = [], []
    for service in services:
        try:
            reply = registry().get(service).call("POST", "/internal/retrain", principal, json_body={})
        except ShopmindError as exc:
            skipped.append({"service": service, "reason": exc.detail, "status": exc.status})
            continue
        if reply.status == 202:
            started.append(reply.body["job"])
        else:
            reason = reply.body.get("detail") if isinstance(reply.body, dict) else t("gateway.http_status",
                                                                                     status=reply.status)
            skipped.append({"service": service, "reason": reason, "status": reply.status})
    if not started and any(s.get("status", 503) >= 500 for s in skipped):
        raise ServiceUnavailable(t("gateway.nothing_retrained", reasons=_reasons(skipped)))
    if not started:
        raise Conflict(t("gateway.nothing_retrained", reasons=_reasons(skipped)),
                       errors={s["service"]: [s["reason"]] for s in skipped})
    return started, skipped


@blp.route("/items/<path:item_id>/overview")
class ItemOverview(MethodView):
    @blp.response(200)
    def get(self, item_id):
        """Product, forecast, stock risk, sentiment, price advice and similar items in one answer."""
        product = request_session().get(Product, (current_principal().shop_id, item_id))
        if product is None:
            raise NotFound(t("gateway.no_product", item_id=item_id))
        path_id, query_id = quote(item_id, safe=""), urlencode({"item_id": item_id})
        parts = fan_out({
            "forecast": ("forecasting", f"/v1/forecasts/items/{path_id}?horizon=14"),
            "stock": ("forecasting", f"/v1/replenishment?{query_id}"),
            "sentiment": ("sentiment", f"/v1/sentiment/items/{path_id}"),
            "pricing": ("pricing", f"/v1/pricing/items/{path_id}"),
            "similar": ("recommendation", f"/v1/recommendations/items/{path_id}/similar?n=5"),
        }, current_principal(), current_app.config["SETTINGS"].aggregate_budget_s)
        return {"item_id": item_id, "product": data.describe_product(product), **parts()}


@blp.route("/dashboard")
class Dashboard(MethodView):
    @blp.response(200)
    def get(self):
        """The shop's KPIs (yesterday, this week, this month, last 30 days, each vs the period before), alerts,
        and job and model status."""
        session = request_session()
        alerts = fan_out({
            "negative_reviews": ("sentiment", "/v1/sentiment/alerts"),
            "stockout_risk": ("forecasting", "/v1/replenishment?risk=high"),
            "anomalies": ("insights", "/v1/anomalies"),
            "competitor_undercuts": ("pricing", "/v1/pricing/competitors"),
        }, current_principal(), current_app.config["SETTINGS"].aggregate_budget_s)
        kpis = data.shop_kpis(session)  # while the alerts are being asked for
        return {
            "kpis": kpis,
            "alerts": alerts(),
            "jobs": data.job_summary(session),
            "models": data.active_models(session),
        }


@blp.route("/alerts")
class Alerts(MethodView):
    @blp.arguments(AlertListArgsSchema, location="query")
    @blp.response(200, AlertListSchema)
    def get(self, args):
        """Every alert in one list (stock-out risks, negative review spikes, KPI anomalies, competitor
        undercuts, decisions that turned out worse than predicted, failed jobs), each with its status.
        A source that fails or is late is named in `unavailable`, the rest still listed."""
        parts = fan_out({
            "stockout_risk": ("forecasting", "/v1/replenishment?risk=high&limit=200"),
            "negative_reviews": ("sentiment", "/v1/sentiment/alerts"),
            "anomalies": ("insights", "/v1/anomalies"),
            "competitor_undercuts": ("pricing", "/v1/pricing/competitors"),
            "decisions": ("decisions", "/v1/decisions?measured=true&limit=200"),
        }, current_principal(), current_app.config["SETTINGS"].aggregate_budget_s)
        session = request_session()
        failed = data.failed_jobs(session, days=7)
        found, unavailable = alerts.gather(parts(), failed)
        every = alerts.with_states(found, data.alert_states(session))
        counts = {status: sum(a["status"] == status for a in every) for status in ALERT_STATUSES}
        listed = [a for a in every if args["status"] in (None, a["status"])]
        return {"items": listed, "counts": counts, "unavailable": unavailable}


@blp.route("/alerts/<alert_id>/<any(acknowledge, resolve, reopen):action>")
class AlertAction(MethodView):
    @blp.response(200, AlertSchema)
    def post(self, alert_id, action):
        """Acknowledge, resolve or reopen an alert of `GET /v1/alerts` (by its id)."""
        if not alerts.is_alert_id(alert_id):
            raise NotFound(t("alerts.unknown", alert_id=alert_id[:64]))
        status = {"acknowledge": "acknowledged", "resolve": "resolved", "reopen": "open"}[action]
        session = request_session()
        state = data.set_alert_state(session, current_principal(), alert_id, status)
        session.commit()
        return {"id": alert_id, **state}


def readiness() -> tuple[dict[str, str], bool]:
    """Database, broker and every service: "ok" or what is wrong."""
    settings = current_app.config["SETTINGS"]
    checks: dict[str, str] = {}
    try:
        with get_engine(settings.database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}"
    if settings.redis_url:
        try:
            import redis

            redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1).ping()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"down: {type(exc).__name__}"
    else:
        checks["broker"] = "ok (embedded worker)"
    for name, client in registry().clients.items():
        try:
            reply = client.call("GET", "/healthz", None, timeout_s=2.0)
            checks[name] = "ok" if reply.status == 200 else f"down: HTTP {reply.status}"
        except ShopmindError as exc:
            checks[name] = f"down: {exc.detail}"
    missing = set(current_app.config["EXPECTED_SERVICES"]) - set(registry().clients)
    for name in missing:
        checks[name] = "down: not configured"
    return checks, all(v.startswith("ok") for v in checks.values())

