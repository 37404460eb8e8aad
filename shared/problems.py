"""The errors domain code raises, and the problem document they become. No Flask, no SQL, so
pure modules can raise them; :mod:`shared.errors` turns them into HTTP replies.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from shared.i18n import DEFAULT_LANGUAGE, Message, catalogue, t

# The id of the request being answered, if any. The web layer (shared.errors) plugs in Flask's;
# jobs and pure code have none.
current_request_id: Callable[[], str | None] = lambda: None  # noqa: E731


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
        "request_id": current_request_id(),
    }
    doc.update(extra)
    return doc
