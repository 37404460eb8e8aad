"""Routing ``/v1/...`` to the service that owns it, in-process or over HTTP.

All-in-one mode hands the gateway the service apps themselves and requests are passed to them
as WSGI calls (no sockets, bodies streamed through). Distributed mode reaches each service at
``SHOPMIND_<NAME>_URL`` with a pooled HTTP client and explicit timeouts; a service that is down
or slow becomes a 503/504 problem, never a hang.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import httpx
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as RoutingNotFound
from werkzeug.routing import IntegerConverter, Map, Rule
from werkzeug.test import run_wsgi_app

from shared import service_client
from shared.auth import Principal, current_principal
from shared.errors import GatewayTimeout, NotFound, ServiceUnavailable
from shared.i18n import LazyText, t
from shared.models import PUBLIC_ID_MAX
from shared.service_client import registry

log = logging.getLogger(__name__)

# First path segment after /v1 -> owning service (docs/api.md, docs/architecture.md).
SERVICE_FOR_PREFIX = {
    "imports": "ingestion",
    "events": "ingestion",
    "recommendations": "recommendation",
    "forecasts": "forecasting",
    "replenishment": "forecasting",
    "sentiment": "sentiment",
    "pricing": "pricing",
    "ask": "insights",
    "segments": "insights",
    "anomalies": "insights",
    "reports": "insights",
    "decisions": "decisions",
}
MAX_ROW_ID = PUBLIC_ID_MAX
# Served by the gateway itself; anything else under these prefixes is a 405, not a proxy.
GATEWAY_PREFIXES = {"shops", "keys", "user-tokens", "jobs", "admin", "models", "webhooks", "items", "dashboard",
                    "sessions", "me", "users", "alerts"}
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "host", "authorization"}
# The caller's credentials stay at the gateway: services trust the signed principal alone.
_CREDENTIALS = {"authorization", "cookie", "x-csrf-token"}


class ServiceClient(service_client.ServiceClient):
    """One downstream service, which the gateway can also pass whole requests on to."""

    def forward(self, principal: Principal) -> Response:
        """Pass the current request on, unchanged but for auth, and stream the answer back."""
        headers = self._signed_headers(principal, request.method, request.path)
        if self.app is not None:
            dropped = {"werkzeug.request", "HTTP_X_REQUEST_ID", "HTTP_ACCEPT_LANGUAGE",
                       "HTTP_X_SHOPMIND_LANGUAGE_SOURCE",
                       *("HTTP_" + name.upper().replace("-", "_") for name in _CREDENTIALS)}
            environ = {k: v for k, v in request.environ.items() if k not in dropped}
            for name, value in headers.items():
                environ["HTTP_" + name.upper().replace("-", "_")] = value
            app_iter, status, response_headers = run_wsgi_app(self.app, environ, buffered=False)
            return Response(app_iter, status=status, headers=response_headers)
        ours = {name.lower() for name in headers}
        named = {h.strip().lower() for h in request.headers.get("Connection", "").split(",")}
        dropped = _HOP_BY_HOP | _CREDENTIALS | ours | named
        forwarded = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        forwarded.update(headers)
        has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
        upstream = self._http.build_request(
            request.method, _raw_path(), params=request.query_string.decode("latin-1") or None,
            headers=forwarded, content=_body_chunks() if has_body else None,
            # ?wait= may legitimately hold the call open for up to 120 s
            timeout=httpx.Timeout(max(self.settings.service_timeout_s, _wait_seconds() + 5 if _wait_seconds() else 0),
                                  connect=2.0),
        )
        try:
            reply = self._http.send(upstream, stream=True)
        except httpx.TimeoutException:
            raise GatewayTimeout(t("gateway.service_timeout", service=self.name,
                                   seconds=f"{self.settings.service_timeout_s:.0f}")) from None
        except httpx.TransportError as exc:
            raise ServiceUnavailable(t("gateway.service_down", service=self.name, error=type(exc).__name__)) from None
        response = Response(reply.iter_raw(), status=reply.status_code,
                            headers=[(k, v) for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP],
                            direct_passthrough=True)
        response.call_on_close(reply.close)
        return response


def _raw_path() -> str:
    """The path as the client sent it: request.path is decoded, so a%3Fb would become "a?b"."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(request.path, safe="/:@!$&'()*+,;=-._~")


def _wait_seconds() -> float:
    try:
        return min(float(request.args.get("wait", 0) or 0), 120.0)
    except ValueError:
        return 0.0


def _body_chunks(chunk_size: int = 64 * 1024):
    stream = request.stream
    while chunk := stream.read(chunk_size):
        yield chunk


proxy = Blueprint("proxy", __name__)


class RowIdConverter(IntegerConverter):
    """A database row id in a path (keys, models, webhooks): digits, and at most what the column holds."""

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ROW_ID:  # beyond any public id: no such row can exist
            # Routing runs before the app's error handlers see domain errors: raise werkzeug's own.
            raise RoutingNotFound(LazyText("gateway.id_too_large", {"id": value, "max": MAX_ROW_ID}))
        return number


def _gateway_route_miss(path: str, method: str) -> None:
    """A gateway path that reached the catch-all: 405 when the path exists for another method,
    else fall through to a 404 (``/v1/webhooks/null/deliveries`` names no webhook)."""
    rules = current_app.extensions.get("shopmind.gateway_rules")
    if rules is None:  # the app's own routes without this catch-all, built once
        rules = Map([Rule(r.rule, methods=r.methods, endpoint=r.endpoint) for r in current_app.url_map.iter_rules()
                     if r.endpoint != "proxy.forward"], converters=current_app.url_map.converters)
        current_app.extensions["shopmind.gateway_rules"] = rules
    try:
        rules.bind("").match(path, method=method)
    except MethodNotAllowed as exc:
        raise MethodNotAllowed(valid_methods=exc.valid_methods) from None
    except HTTPException:
        return


@proxy.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def forward(rest: str):
    prefix = rest.split("/", 1)[0]
    service = SERVICE_FOR_PREFIX.get(prefix)
    if service is None:
        if prefix in GATEWAY_PREFIXES:
            _gateway_route_miss(request.path, request.method)
        raise NotFound(t("gateway.no_route", path=f"/v1/{rest}"))
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length and limit and request.content_length > limit:
        raise RequestEntityTooLarge()  # refuse before streaming anything downstream
    return registry().get(service).forward(current_principal())
