"""The gateway: the only public entry. Authenticates, routes, aggregates, documents."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from services.console.pages import console
from services.gateway import accounts_api, aggregate, api, openapi, proxy, security
from shared import celery_app, db, webhooks
from shared.config import DOMAIN_SERVICES, Settings, keep_files_private
from shared.errors import problem, problem_response, register_error_handlers
from shared.service_client import REGISTRY_EXTENSION, ServiceRegistry
from shared.web import (
    configure_logging,
    health,
    init_language,
    init_request_ids,
    limit_json_bodies,
    new_api,
    resolve_settings,
)


def create_app(config: Mapping | Settings | None = None, service_apps: Mapping[str, Flask] | None = None) -> Flask:
    """Build the gateway. ``service_apps`` (all-in-one mode) are called in-process, and call each
    other in-process through the same registry; otherwise each service is reached at
    ``SHOPMIND_<NAME>_URL``."""
    settings = resolve_settings(config)
    configure_logging(settings.log_level)
    keep_files_private(settings)
    app = Flask("shopmind.gateway", root_path=str(Path(__file__).parent))  # serves ./static
    app.config.update(SETTINGS=settings, SERVICE_NAME="gateway", MAX_CONTENT_LENGTH=settings.max_body_bytes,
                      EXPECTED_SERVICES=DOMAIN_SERVICES, SEND_FILE_MAX_AGE_DEFAULT=86400)
    app.url_map.converters["row_id"] = proxy.RowIdConverter
    if settings.trusted_proxies > 0:
        # Behind nginx every request comes from nginx: the client's address (rate limits on unknown
        # keys, logs) is in X-Forwarded-For, believed only for as many hops as there are proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=1, x_host=1)
    init_request_ids(app)
    init_language(app)
    db.init_app(app)
    celery_app.configure(settings)
    smorest = new_api(app, "shopmind", serve_spec=False)  # openapi.py serves the merged document
    app.extensions["shopmind.api"] = smorest
    services = ServiceRegistry(settings, service_apps, client=proxy.ServiceClient)
    services.share_with(service_apps or {})
    app.extensions[REGISTRY_EXTENSION] = services
    register_error_handlers(app)
    security.init_app(app, settings)
    app.extensions["shopmind.webhook_tests"] = webhooks.TestThrottle(settings)
    limit_json_bodies(app, settings)  # after authentication: its errors speak the shop's language

    app.register_blueprint(health)
    app.register_blueprint(openapi.openapi)
    smorest.register_blueprint(api.blp)
    smorest.register_blueprint(aggregate.blp)
    smorest.register_blueprint(accounts_api.blp)
    app.register_blueprint(proxy.proxy)
    app.register_blueprint(console)  # the web console's pages under /, a client of /v1

    @app.get("/readyz")
    def readyz():
        checks, ok = aggregate.readiness()
        if ok:
            return jsonify(status="ready", checks=checks)
        down = ", ".join(k for k, v in checks.items() if not v.startswith("ok"))
        return problem_response(problem(503, f"not ready: {down} down", errors={k: [v] for k, v in checks.items()}))

    return app
