"""One error format: RFC 9457 ``application/problem+json`` for every 4xx and 5xx.

Domain code raises :class:`ShopmindError` subclasses (``shared/problems.py``, no Flask); this layer turns
them, werkzeug's own exceptions (404, 405, 413, ...) and webargs/marshmallow validation
errors into the same document: ``{"type","title","status","detail","errors","request_id"}``.
"""

from __future__ import annotations

import logging
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask, Response, g, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from shared import problems
from shared.i18n import DEFAULT_LANGUAGE, Message, catalogue, render, t
from shared.problems import (  # noqa: F401  (re-exported: the web layer's callers import them from here)
    Conflict,
    Forbidden,
    GatewayTimeout,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    ShopmindError,
    TooManyRequests,
    Unauthorized,
    problem,
)

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
# Problem documents built while answering a request carry its id.
problems.current_request_id = lambda: g.get("request_id") if g else None


def problem_response(doc: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(doc), status=doc["status"], mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ProblemSchema(ma.Schema):
    """Documents the error payload in /openapi.json."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.Dict()
    request_id = ma.fields.String(allow_none=True)


def _flatten_validation_messages(messages: dict) -> dict[str, list[str]]:
    """webargs groups messages by location ({"json": {...}}) and nests them for lists and nested
    schemas ({"texts": {"1": [...]}}); callers want {"texts.1": [messages]}."""
    errors: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            errors[prefix] = [render(v) for v in (value if isinstance(value, list) else [value])]

    for location, by_field in messages.items():
        if isinstance(by_field, dict):
            walk("", by_field)
        else:
            errors[location] = [render(v) for v in (by_field if isinstance(by_field, list) else [by_field])]
    return errors


def http_exception_problem(error: HTTPException) -> dict[str, Any]:
    data = getattr(error, "data", None) or {}
    errors = {}
    detail = error.description
    if "messages" in data:  # webargs / marshmallow validation
        errors = _flatten_validation_messages(data["messages"])
        if "Invalid JSON body." in str(data["messages"]):
            detail = t("problem.invalid_json")
        else:
            detail = t("problem.invalid_fields", fields=", ".join(sorted(errors)))
    elif data.get("message"):
        detail = data["message"]
    elif type(error).description == detail and f"problem.http_{error.code}" in catalogue(DEFAULT_LANGUAGE):
        detail = t(f"problem.http_{error.code}")  # werkzeug's stock English sentence
    return problem(error.code or 500, detail, errors=errors or data.get("errors"))


class Api(flask_smorest.Api):
    """flask-smorest's Api with its single error handler emitting problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):
        return http_exception_response(error)


def http_exception_response(error: HTTPException) -> Response:
    doc = http_exception_problem(error)
    headers = {}
    allowed = sorted(set(getattr(error, "valid_methods", None) or ()) - {"HEAD", "OPTIONS"})
    if error.code == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
        if isinstance(doc["detail"], Message) and doc["detail"].key == "problem.http_405":
            doc["detail"] = t("problem.method_not_allowed", method=request.method, allowed=", ".join(allowed))
    return problem_response(doc, headers)


def register_error_handlers(app: Flask) -> None:
    """Domain errors and unexpected exceptions (500) become problems too."""

    @app.errorhandler(ShopmindError)
    def _domain_error(error: ShopmindError):
        headers = {}
        if isinstance(error, TooManyRequests):
            headers["Retry-After"] = str(error.retry_after)
        return problem_response(error.to_problem(), headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return http_exception_response(error)

    @app.errorhandler(OperationalError)
    def _database_down(error: OperationalError):
        log.error("database unavailable: %s", error.orig)
        doc = problem(503, t("problem.database_down"), slug="database-unavailable")
        return problem_response(doc, {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http_error(error)
        log.exception("unhandled error")
        return problem_response(problem(500, t("problem.http_500")))
