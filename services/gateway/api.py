"""Platform and admin routes the gateway serves itself (docs/api.md, "Platform routes")."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.gateway import aggregate, data, security
from services.gateway.schemas import (
    DeliveryPageSchema,
    JobListArgsSchema,
    JobPageSchema,
    KeyCreateSchema,
    KeyListSchema,
    ModelListArgsSchema,
    ModelPageSchema,
    ModelVersionSchema,
    NewKeySchema,
    RetrainResultSchema,
    RetrainSchema,
    ShopCreatedSchema,
    ShopCreateSchema,
    ShopSchema,
    ShopUpdateSchema,
    UserTokenCreateSchema,
    UserTokenSchema,
    WebhookCreateSchema,
    WebhookListSchema,
    WebhookSchema,
    WebhookTestSchema,
)
from shared import artifacts, jobs, webhooks
from shared.auth import USER_TOKEN_HEADER, current_principal, current_shop_id, mint_user_token
from shared.config import TRAINABLE_SERVICES
from shared.db import ALL_SHOPS, request_session, session_scope
from shared.errors import NotFound
from shared.i18n import t
from shared.models import Shop
from shared.schemas import JobSchema, PageArgsSchema, WaitArgsSchema
from shared.web import retry_after_unless

blp = Blueprint("platform", __name__, url_prefix="/v1", description="Shops, keys, jobs, models, webhooks")


def _settings():
    return current_app.config["SETTINGS"]


@blp.route("/shops")
class Shops(MethodView):
    @blp.arguments(ShopCreateSchema)
    @blp.response(201, ShopCreatedSchema)
    def post(self, args):
        """Create a shop and its first admin API key (platform token only)."""
        with session_scope(ALL_SHOPS, _settings().database_url) as session:
            shop, key, secret = data.create_shop(session, args["name"], args["timezone"], args["currency"],
                                                 args["language"])
        return {"shop": shop, "api_key": {"id": key.id, "key": secret, "role": key.role}}


@blp.route("/shops/current")
class CurrentShop(MethodView):
    @blp.response(200, ShopSchema)
    def get(self):
        """The shop of the calling key: name, timezone, currency and language."""
        return request_session().get(Shop, current_shop_id())

    @blp.arguments(ShopUpdateSchema)
    @blp.response(200, ShopSchema)
    def patch(self, args):
        """Rename the shop, or change its timezone or the language it answers in (admin)."""
        session = request_session()
        shop = data.update_shop(session, current_shop_id(), args)
        session.commit()
        security.forget_shop(shop.id)
        return shop


@blp.route("/keys")
class Keys(MethodView):
    @blp.response(200, KeyListSchema)
    def get(self):
        """List this shop's active API keys (never the keys themselves)."""
        return {"items": data.list_keys(request_session())}

    @blp.arguments(KeyCreateSchema)
    @blp.response(201, NewKeySchema)
    def post(self, args):
        """Create an API key with a role: admin, analyst or client."""
        session = request_session()
        key, secret = data.create_key(session, current_shop_id(), args["role"])
        session.commit()
        return {"id": key.id, "key": secret, "role": key.role}


@blp.route("/keys/<row_id:key_id>")
class KeyById(MethodView):
    @blp.response(204)
    def delete(self, key_id):
        """Revoke an API key."""
        session = request_session()
        data.revoke_key(session, key_id)
        session.commit()
        current_app.extensions["shopmind.keys"].forget(key_id)


@blp.route("/user-tokens")
class UserTokens(MethodView):
    @blp.arguments(UserTokenCreateSchema)
    @blp.response(201, UserTokenSchema)
    def post(self, args):
        """Vouch for a shopper: a short-lived token that lets a front-end key read that user's own
        personal recommendations with reasons (admin key, called by the shop's backend)."""
        token, expires_at = mint_user_token(_settings().internal_token, current_shop_id(), args["user_id"],
                                            args["ttl_seconds"])
        return {"token": token, "user_id": args["user_id"], "header": USER_TOKEN_HEADER,
                "expires_at": datetime.fromtimestamp(expires_at, UTC)}


@blp.route("/jobs")
class Jobs(MethodView):
    @blp.arguments(JobListArgsSchema, location="query")
    @blp.response(200, JobPageSchema)
    def get(self, args):
        """List this shop's jobs, newest first."""
        rows, cursor = data.list_jobs(request_session(), args["status"], args["kind"], args["limit"], args["cursor"])
        return {"items": [jobs.job_to_dict(j) for j in rows], "next_cursor": cursor}


@blp.route("/jobs/<job_id>")
class JobById(MethodView):
    @blp.arguments(WaitArgsSchema, location="query")
    @blp.response(200, JobSchema)
    def get(self, args, job_id):
        """A job's status, progress, result or error; `?wait=` waits for it to finish."""
        job = data.get_job(request_session(), job_id)
        if args["wait"] and job.status not in jobs.FINISHED:
            [job], waited = jobs.wait_for(_settings(), current_shop_id(), [job_id], args["wait"])
            return jobs.job_to_dict(job), 200, retry_after_unless(waited)
        return jobs.job_to_dict(job)


@blp.route("/jobs/<job_id>/cancel")
class CancelJob(MethodView):
    @blp.response(202, JobSchema, description="a running job will stop at its next safe point")
    @blp.alt_response(200, schema=JobSchema, description="the job was queued and is now cancelled")
    @blp.alt_response(409, description="the job has already finished")
    def post(self, job_id):
        """Cancel a job: a queued one at once, a running one at its next safe point (nothing
        half-written). Follow it with `GET /v1/jobs/{id}?wait=`."""
        session = request_session()
        job = jobs.request_cancel(session, data.get_job(session, job_id))
        return jobs.job_to_dict(job), 200 if job.status == "cancelled" else 202


@blp.route("/admin/retrain")
class Retrain(MethodView):
    @blp.arguments(RetrainSchema)
    @blp.arguments(WaitArgsSchema, location="query")
    @blp.response(202, RetrainResultSchema)
    @blp.alt_response(200, schema=RetrainResultSchema, description="all jobs finished within ?wait=")
    def post(self, args, wait_args):
        """Retrain the shop's models now (one job per service)."""
        started, skipped = aggregate.retrain(args["models"], current_principal())
        if wait_args["wait"] and started:
            latest, waited = jobs.wait_for(_settings(), current_shop_id(), [j["id"] for j in started],
                                           wait_args["wait"])
            started = [jobs.job_to_dict(j) for j in latest]
            if all(j["status"] in jobs.FINISHED for j in started):
                return {"jobs": started, "skipped": skipped}, 200
            return {"jobs": started, "skipped": skipped}, 202, retry_after_unless(waited)
        return {"jobs": started, "skipped": skipped}


@blp.route("/models")
class Models(MethodView):
    @blp.arguments(ModelListArgsSchema, location="query")
    @blp.response(200, ModelPageSchema)
    def get(self, args):
        """List model versions, newest first; filter by `service`."""
        rows, cursor = data.list_models(request_session(), args["service"], args["limit"], args["cursor"])
        return {"items": [artifacts.describe(r) for r in rows], "next_cursor": cursor}


@blp.route("/models/<row_id:model_id>/promote")
class PromoteModel(MethodView):
    @blp.response(200, ModelVersionSchema)
    def post(self, model_id):
        """Make this version the active one of its service (serving swaps to it within seconds)."""
        session = request_session()
        row = artifacts.promote(session, data.get_model(session, model_id))
        session.commit()
        return artifacts.describe(row)


@blp.route("/models/<service>/rollback")
class RollbackModel(MethodView):
    @blp.response(200, ModelVersionSchema)
    def post(self, service):
        """Re-activate the version that was active before the current one."""
        if service not in TRAINABLE_SERVICES:
            raise NotFound(t("gateway.no_such_service", service=service, services=", ".join(TRAINABLE_SERVICES)))
        session = request_session()
        row = artifacts.rollback(session, service)
        session.commit()
        return artifacts.describe(row)


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookListSchema)
    def get(self):
        """List this shop's webhook subscriptions."""
        return {"items": data.list_webhooks(request_session())}

    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookSchema)
    def post(self, args):
        """Subscribe a URL to events; deliveries are signed with `secret` (HMAC-SHA256)."""
        webhooks.check_url(args["url"], _settings())
        session = request_session()
        hook = data.create_webhook(session, current_shop_id(), args["url"], args["events"], args["secret"])
        session.commit()
        return hook


@blp.route("/webhooks/<row_id:webhook_id>")
class WebhookById(MethodView):
    @blp.response(204)
    def delete(self, webhook_id):
        """Unsubscribe (pending deliveries are dropped)."""
        session = request_session()
        session.delete(data.get_webhook(session, webhook_id))
        session.commit()


@blp.route("/webhooks/<row_id:webhook_id>/test")
class WebhookTest(MethodView):
    @blp.response(200, WebhookTestSchema)
    @blp.alt_response(429, description="this webhook was tested moments ago, or the shop tested too many")
    def post(self, webhook_id):
        """Send a signed `ping` to the subscription now (whatever events it chose) and log it with
        its deliveries. A receiver that fails is still a 200: `ok: false` and the reason."""
        session = request_session()
        reply = webhooks.send_test(session, _settings(), data.get_webhook(session, webhook_id),
                                   current_app.extensions["shopmind.webhook_tests"])
        session.commit()
        return reply


@blp.route("/webhooks/<row_id:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args, webhook_id):
        """The delivery log of one subscription, newest first."""
        rows, cursor = data.list_deliveries(request_session(), webhook_id, args["limit"], args["cursor"])
        return {"items": rows, "next_cursor": cursor}

