"""What every service's app factory shares: request ids, logging, errors, health, internal auth.

A service's ``app.py`` is one call::

    def create_app(config=None):
        return create_service_app("forecasting", [blp], config)
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint as ApiBlueprint
from webargs.core import is_json
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from shared import celery_app, db, i18n, json_body
from shared.auth import current_shop_id, set_current_principal, verify_principal
from shared.config import Settings, keep_files_private, load_settings, train_task
from shared.errors import Api, InvalidInput, register_error_handlers
from shared.i18n import t

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_PUBLIC_PATHS = ("/healthz", "/openapi.json")


class RequestIdFilter(logging.Filter):
    """Puts the current request (or job) id on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    # One line per gateway->service call is noise; errors still surface as problems.
    logging.getLogger("httpx").setLevel(logging.WARNING)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, plus messages rendered in the request's language."""

    ensure_ascii = False  # Chinese text stays readable in the body (it is UTF-8)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        # LazyText is a str, which json writes as it is: render every message first.
        return super().dumps(i18n.render(obj), **kwargs)

    def default(self, o: Any) -> Any:
        if isinstance(o, i18n.Message):
            return o.render()
        return super().default(o)


def init_language(app: Flask) -> None:
    """Every request reads and answers in one language: its ``Accept-Language`` (the gateway
    resolves the shop's own setting into it before calling a service), else zh-CN."""
    app.json = JSONProvider(app)

    @app.before_request
    def _set_language():
        asked = i18n.negotiate(request.headers.get("Accept-Language"))
        g.language_token = i18n.set_language(
            asked or i18n.DEFAULT_LANGUAGE,
            asked=asked is not None and request.headers.get(i18n.SOURCE_HEADER, "request") == "request")

    @app.after_request
    def _say_language(response):
        response.headers["Content-Language"] = i18n.current_language()
        response.vary.add("Accept-Language")
        return response

    @app.teardown_request
    def _reset_language(_exc):
        token = g.pop("language_token", None)
        if token is not None:
            i18n.reset_language(token)


def job_reply(settings: Settings, job, wait_s: float) -> tuple:
    """The answer of a route that started ``job``: ``{"job"}`` 202, or, with ``?wait=``, the finished
    job 200 if it ended in time (else 202 with when to poll again)."""
    from shared import jobs

    if wait_s:
        [job], waited = jobs.wait_for(settings, job.shop_id, [job.id], wait_s)
        if job.status in jobs.FINISHED:
            return {"job": jobs.job_to_dict(job)}, 200
        return {"job": jobs.job_to_dict(job)}, 202, retry_after_unless(waited)
    return {"job": jobs.job_to_dict(job)}, 202


def retry_after_unless(waited: bool) -> dict[str, str]:
    """The headers of a ``?wait=`` reply: when no wait slot was free, when to poll again."""
    from shared.waits import RETRY_AFTER_S

    return {} if waited else {"Retry-After": str(RETRY_AFTER_S)}


def resolve_settings(config: Mapping | Settings | None) -> Settings:
    """App factories accept ready Settings, a mapping of overrides (tests), or None (env)."""
    return config if isinstance(config, Settings) else load_settings(config)


def init_request_ids(app: Flask) -> None:
    @app.before_request
    def _assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.request_id_token = request_id_var.set(g.request_id)

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.teardown_request
    def _reset_request_id(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def new_api(app: Flask, title: str, serve_spec: bool = True) -> Api:
    """flask-smorest Api with our problem+json errors; ``serve_spec`` exposes /openapi.json."""
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/" if serve_spec else None,
        OPENAPI_JSON_PATH="openapi.json",
    )
    return Api(app)


def limit_json_bodies(app: Flask, settings: Settings) -> None:
    """Request bodies are checked once, before any route: JSON bodies get a far smaller cap than
    streamed uploads, a bounded nesting depth and text that can be stored (no NUL, no lone
    surrogate); a JSON route refuses a body of another type (415) rather than ignore it; and NUL is
    refused in paths, queries and form fields, whatever the body's type."""

    @app.before_request
    def _refuse_large_json():
        if "\x00" in request.path or b"%00" in request.query_string:
            raise BadRequest(str(t("problem.nul_in_path")))
        if request.mimetype == "multipart/form-data":
            if request.endpoint != "proxy.forward":  # the service that reads the upload checks it
                _refuse_nul_in_form()
            return
        length = request.content_length
        if length and length > settings.max_json_bytes:
            raise RequestEntityTooLarge(
                f"a JSON body may be at most {settings.max_json_bytes:,} bytes; send files as multipart uploads")
        if request.endpoint == "proxy.forward":
            return  # the gateway passes proxied bodies on unread; the service that reads them checks them
        limit = min(settings.max_json_bytes, settings.max_body_bytes)
        # A chunked body has no Content-Length to check up front: read one byte past the limit.
        request.max_content_length = limit + 1
        body = request.get_data()
        if len(body) > limit:
            raise RequestEntityTooLarge(str(t("problem.json_too_large", limit=f"{limit:,}")))
        if b"\\u0000" in body:
            raise BadRequest(str(t("problem.nul_in_json")))
        if is_json(request.mimetype):
            if body:
                _check_json(body)
        elif body and _takes_json_body():
            raise UnsupportedMediaType(t("problem.not_json", type=request.mimetype or "-"))


def _check_json(body: bytes) -> None:
    """Parse once here, so nothing later meets a body it cannot parse or store."""
    try:
        _value, bad_text = json_body.read(body)
    except json_body.TooDeep:
        raise BadRequest(t("problem.json_too_deep", max=json_body.MAX_DEPTH)) from None
    except json_body.NotJson:
        raise BadRequest(t("problem.invalid_json")) from None
    if bad_text:
        fields = [path or "body" for path in bad_text]
        raise InvalidInput(t("problem.invalid_fields", fields=", ".join(fields)),
                           errors={field: [t("validation.lone_surrogate")] for field in fields})


def _takes_json_body() -> bool:
    """The route reads a JSON body (flask-smorest records each ``@blp.arguments`` location)."""
    view = current_app.view_functions.get(request.endpoint)
    handler = getattr(getattr(view, "view_class", None), request.method.lower(), view)
    parameters = getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" for p in parameters)


def _refuse_nul_in_form() -> None:
    """Form fields and file names reach queries and logs; file contents are the importer's to judge."""
    texts = [*request.form.keys(), *request.form.values(), *request.files.keys(),
             *(upload.filename or "" for upload in request.files.values())]
    if any("\x00" in text for text in texts):
        raise BadRequest(str(t("problem.nul_in_form")))


health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """The process is up (no dependency checks: that is /readyz)."""
    return jsonify(status="ok", service=current_app.config["SERVICE_NAME"])


def create_service_app(
    name: str,
    blueprints: Iterable[ApiBlueprint],
    config: Mapping | Settings | None = None,
) -> Flask:
    """Build an internal service: it trusts only requests signed by the gateway; its retrain
    route starts ``config.train_task(name)`` (a service outside TRAINABLE_SERVICES has none)."""
    settings = resolve_settings(config)
    configure_logging(settings.log_level)
    keep_files_private(settings)
    app = Flask(f"shopmind.{name}")
    app.config.update(SETTINGS=settings, SERVICE_NAME=name, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    init_request_ids(app)
    init_language(app)
    limit_json_bodies(app, settings)
    db.init_app(app)
    celery_app.configure(settings)  # so the service can start jobs (send_task or the embedded runner)
    api = new_api(app, f"shopmind {name}")
    register_error_handlers(app)
    app.register_blueprint(health)

    @app.before_request
    def _require_gateway_signature():
        if request.path in _PUBLIC_PATHS:
            return
        set_current_principal(verify_principal(request.headers, settings.internal_token, request.method,
                                               request.path))

    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    app.register_blueprint(_internal_blueprint(train_task(name)))
    return app


def _internal_blueprint(train_task: str | None) -> Blueprint:
    """Routes only the gateway calls (kept out of the public OpenAPI document)."""
    internal = Blueprint("internal", __name__, url_prefix="/internal")

    @internal.post("/retrain")
    def retrain():
        from shared import jobs
        from shared.errors import Conflict

        if train_task is None:
            raise Conflict(t("models.nothing_to_train", service=current_app.config["SERVICE_NAME"]))
        job = jobs.start(db.request_session(), current_app.config["SETTINGS"], current_shop_id(), train_task,
                         params=request.get_json(silent=True), reuse_unfinished=True)
        return jsonify(job=jobs.job_to_dict(job)), 202

    return internal
