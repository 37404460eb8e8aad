"""One /openapi.json for the whole API: the gateway's own spec merged with each service's.

Each service generates its document from its marshmallow schemas (flask-smorest); the gateway
fetches them through the registry, keeps only public ``/v1`` paths, and adds the bearer-key
security scheme. Merged documents are cached for a minute.
"""

from __future__ import annotations

import copy
import html
import json
import time
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, url_for

from services.gateway.proxy import registry
from shared.errors import ShopmindError

CACHE_TTL_S = 60.0
openapi = Blueprint("openapi", __name__)
_cache: dict[int, tuple[float, dict]] = {}


def merged_spec() -> dict:
    key = id(current_app)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_TTL_S:
        return hit[1]
    spec = copy.deepcopy(current_app.extensions["shopmind.api"].spec.to_dict())
    spec["info"] = {"title": "shopmind API", "version": "v1",
                    "description": "AI decisions for Tmall/Taobao shops. Authenticate with "
                                   "`Authorization: Bearer <api key>`."}
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})["apiKey"] = {"type": "http", "scheme": "bearer"}
    spec["security"] = [{"apiKey": []}]
    unavailable = []
    for name, client in registry().clients.items():
        try:
            reply = client.call("GET", "/openapi.json", None, timeout_s=3.0)
        except ShopmindError:
            unavailable.append(name)
            continue
        if reply.status != 200 or not isinstance(reply.body, dict):
            unavailable.append(name)
            continue
        for path, item in reply.body.get("paths", {}).items():
            if path.startswith("/v1/"):
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation.setdefault("tags", [name])
                spec.setdefault("paths", {})[path] = item
        for section, entries in reply.body.get("components", {}).items():
            components.setdefault(section, {}).update(entries)
    if unavailable:
        spec["info"]["x-unavailable-services"] = sorted(unavailable)
    spec["paths"] = dict(sorted(spec.get("paths", {}).items()))
    _cache[key] = (time.monotonic(), spec)
    return spec


@openapi.get("/openapi.json")
def openapi_json():
    return jsonify(merged_spec())


@openapi.get("/docs")
def docs():
    """Swagger UI, from assets this package serves itself, over a plain route list (which is what a
    browser without JavaScript shows)."""
    rows = []
    for path, item in merged_spec().get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                            f"<td>{html.escape(operation.get('summary', ''))}</td></tr>")
    swagger = url_for("static", filename="vendor/swagger-ui-dist/swagger-ui-bundle.js", v=_version("swagger-ui-dist"))
    style = url_for("static", filename="vendor/swagger-ui-dist/swagger-ui.css", v=_version("swagger-ui-dist"))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>shopmind API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="{url_for("static", filename="favicon.svg")}" type="image/svg+xml">
<link rel="stylesheet" href="{style}"></head>
<body><div id="swagger"></div>
<div id="plain"><h1>shopmind API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<table>{''.join(rows)}</table></div>
<script src="{swagger}"></script>
<script src="{url_for("static", filename="docs.js")}"></script></body></html>"""
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@openapi.get("/favicon.ico")
def favicon():
    return current_app.send_static_file("favicon.svg")


# Scripts only from us; Swagger UI sets inline styles from its own script, and shows data: images.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _version(package: str) -> str:
    """The vendored version, so a browser's cached copy is replaced when we upgrade."""
    manifest = json.loads((Path(current_app.static_folder) / "vendor" / "manifest.json").read_text())
    return manifest["packages"][package]["version"]
