"""One error format: RFC 9457 ``application/problem+json`` for every 4xx and 5xx.

Domain code raises :class:`ShopmindError` subclasses (no Flask needed); the HTTP layer turns
them, werkzeug's own exceptions (404, 405, 413, ...) and webargs/marshmallow validation
errors into the same document: ``{"type","title","status","detail","errors","request_id"}``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask, Response, g, json, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from shared.i18n import DEFAULT_LANGUAGE, Message, catalogue, render, t

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class ShopmindError(Exception):
    """Base of the errors that map to a 4xx/5xx; carries what a caller needs to fix it."""

    status = 400
    slug = "bad-request"

    def __init__(self, detail: str | Message, errors: dict[str, list[str | Message]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra

    def to_problem(self) -> dict[str, Any]:
        return problem(self.status, self.detail, errors=self.errors, slug=self.slug, **self.extra)


class Unauthorized(ShopmindError):
    status, slug = 401, "unauthorized"


class Forbidden(ShopmindError):
    status, slug = 403, "forbidden"


class NotFound(ShopmindError):
    status, slug = 404, "not-found"


class Conflict(ShopmindError):
    status, slug = 409, "conflict"


class InvalidInput(ShopmindError):
    status, slug = 422, "invalid-input"


class TooManyRequests(ShopmindError):
    status, slug = 429, "rate-limited"

    def __init__(self, detail: str | Message, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(ShopmindError):
    status, slug = 503, "service-unavailable"


class GatewayTimeout(ShopmindError):
    status, slug = 504, "gateway-timeout"


def problem(status: int, detail: str | Message | None = None, *, errors: dict | None = None,
            slug: str | None = None, title: str | Message | None = None, **extra: Any) -> dict[str, Any]:
    """A problem document as a dict (also used for failed jobs' ``error``); its texts may be
    messages, rendered when the document is sent (or stored, for a job, as markers)."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    status_title = t(f"problem.status_{status}") if f"problem.status_{status}" in catalogue(DEFAULT_LANGUAGE) \
        else t("problem.status_other", status=status)
    doc = {
        "type": f"https://shopmind.dev/problems/{slug or phrase.lower().replace(' ', '-')}",
        "title": title or status_title,
        "status": status,
        "detail": detail or status_title,
        "errors": errors or {},
        "request_id": g.get("request_id") if g else None,
    }
    doc.update(extra)
    return doc


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
