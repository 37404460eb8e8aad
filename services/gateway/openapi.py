"""One /openapi.json for the whole API: the gateway's own spec merged with each service's.

Each service generates its document from its marshmallow schemas (flask-smorest); the gateway
fetches them through the registry, keeps only public ``/v1`` paths, and adds the bearer-key
security scheme. Merged documents are cached for a minute.
"""

from __future__ import annotations

import copy
import html
import time

from flask import Blueprint, Response, current_app, jsonify

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
    """Swagger UI when the browser can load it, and a plain route list that works offline."""
    rows = []
    for path, item in merged_spec().get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                            f"<td>{html.escape(operation.get('summary', ''))}</td></tr>")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>shopmind API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger"></div>
<div id="plain"><h1>shopmind API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<table>{''.join(rows)}</table></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>if (window.SwaggerUIBundle) {{ document.getElementById('plain').style.display='none';
SwaggerUIBundle({{url: '/openapi.json', dom_id: '#swagger'}}); }}</script></body></html>"""
    return Response(page, mimetype="text/html")
