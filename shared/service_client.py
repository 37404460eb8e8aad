"""Calling another service's public route, as the caller of the current request.

A service never imports another service: when it needs another one's answer (the weekly report
lists pricing's advice and forecasting's stock-out risks) it calls that service's public route,
the way the gateway does. All-in-one mode hands every app the others themselves and the call is
a WSGI call in this process (no sockets); distributed mode reaches each service at
``SHOPMIND_<NAME>_URL`` with a pooled HTTP client and explicit timeouts. Either way the call
carries the caller's signed principal (so the other service sees the same shop and role), the
request id and the language being answered in; a service that is down, slow or not configured
becomes a 503/504 problem, never a hang.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
from flask import Flask, current_app, g
from werkzeug.test import EnvironBuilder, run_wsgi_app

from shared import i18n
from shared.auth import Principal, principal_headers
from shared.config import DOMAIN_SERVICES, Settings
from shared.errors import GatewayTimeout, ServiceUnavailable
from shared.i18n import t

REGISTRY_EXTENSION = "shopmind.registry"


@dataclass(frozen=True)
class ServiceReply:
    status: int
    body: Any


class ServiceClient:
    """One service: either a Flask app in this process or a base URL."""

    def __init__(self, name: str, settings: Settings, app: Flask | None = None, base_url: str | None = None):
        self.name = name
        self.settings = settings
        self.app = app
        self.base_url = base_url
        self._http = None
        if app is None:
            self._http = httpx.Client(
                base_url=base_url,
                timeout=httpx.Timeout(settings.service_timeout_s, connect=2.0),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )

    def _signed_headers(self, principal: Principal | None, method: str, path: str) -> dict[str, str]:
        # The language settled on for this request (the request's, else the shop's), for the service to answer in.
        headers = {"X-Request-ID": g.get("request_id", ""), "Accept-Language": i18n.current_language(),
                   i18n.SOURCE_HEADER: "request" if i18n.language_was_asked() else "shop"}
        if principal is not None:
            headers.update(principal_headers(principal, self.settings.internal_token, method, path))
        return headers

    def call(self, method: str, path: str, principal: Principal | None, json_body: Any = None,
             timeout_s: float | None = None) -> ServiceReply:
        """A JSON call: ``path`` is already URL-encoded and may carry a query string; the signature
        covers the decoded path, as the service will see it."""
        headers = self._signed_headers(principal, method, unquote(path.split("?", 1)[0]))
        if self.app is not None:
            builder = EnvironBuilder(path=path, method=method, headers=headers, json=json_body)
            try:
                app_iter, status, _headers = run_wsgi_app(self.app, builder.get_environ(), buffered=True)
                raw = b"".join(app_iter)
            finally:
                builder.close()
            return ServiceReply(int(status.split()[0]), _json_or_text(raw))
        try:
            reply = self._http.request(method, path, headers=headers, json=json_body,
                                       timeout=timeout_s or self.settings.service_timeout_s)
        except httpx.TimeoutException:
            raise GatewayTimeout(t("gateway.service_timeout", service=self.name,
                                   seconds=f"{timeout_s or self.settings.service_timeout_s:.0f}")) from None
        except httpx.TransportError as exc:
            raise ServiceUnavailable(t("gateway.service_down", service=self.name, error=type(exc).__name__)) from None
        return ServiceReply(reply.status_code, _json_or_text(reply.content))


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")


class ServiceRegistry:
    """Where each domain service lives: an app in this process, else its configured URL."""

    def __init__(self, settings: Settings, apps: Mapping[str, Flask] | None = None,
                 client: type[ServiceClient] = ServiceClient):
        self.clients: dict[str, ServiceClient] = {}
        for name in DOMAIN_SERVICES:
            if apps and name in apps:
                self.clients[name] = client(name, settings, app=apps[name])
            elif name in settings.service_urls:
                self.clients[name] = client(name, settings, base_url=settings.service_urls[name])

    def get(self, name: str) -> ServiceClient:
        client = self.clients.get(name)
        if client is None:
            raise ServiceUnavailable(t("gateway.service_not_configured", service=name,
                                       variable=f"SHOPMIND_{name.upper()}_URL"))
        return client

    def share_with(self, apps: Mapping[str, Flask]) -> None:
        """Let ``apps`` (the services of an all-in-one process) call each other through this registry."""
        for app in apps.values():
            app.extensions[REGISTRY_EXTENSION] = self


def registry() -> ServiceRegistry:
    """The current app's registry: the one it was given (the gateway's, shared in all-in-one mode),
    else one built from ``SHOPMIND_<NAME>_URL`` on first use."""
    found = current_app.extensions.get(REGISTRY_EXTENSION)
    if found is None:
        found = current_app.extensions.setdefault(REGISTRY_EXTENSION,
                                                  ServiceRegistry(current_app.config["SETTINGS"]))
    return found
