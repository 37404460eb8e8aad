"""API keys, roles, and the signed principal the gateway forwards to services.

The gateway authenticates a request once (API key or platform token), decides whether the
key's role may call the route (:func:`required_role`, one table for the whole API), and
forwards who is calling in ``X-Shopmind-Principal``, signed with the internal token. Services
accept nothing without a valid signature, so they cannot be called around the gateway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass

from flask import g

from shared.errors import Forbidden, Unauthorized
from shared.i18n import t

ROLE_RANK = {"client": 0, "analyst": 1, "admin": 2}
PRINCIPAL_HEADER = "X-Shopmind-Principal"
SIGNATURE_HEADER = "X-Shopmind-Principal-Signature"
# A signed header older than this is refused (limits replay inside the private network).
MAX_SIGNATURE_AGE_S = 300

# Routes a front-end (client) key may call; everything else needs analyst or admin.
_CLIENT_ROUTES = [
    ("GET", re.compile(r"^/v1/recommendations/")),
    ("POST", re.compile(r"^/v1/recommendations/session$")),
    ("POST", re.compile(r"^/v1/events$")),
    ("GET", re.compile(r"^/v1/me$")),
]
# Writes that only read data and compute an answer: analysts may call them.
_ANALYST_WRITES = [
    ("POST", re.compile(r"^/v1/ask$")),
    ("POST", re.compile(r"^/v1/sentiment/analyze$")),
    ("POST", re.compile(r"^/v1/pricing/simulate$")),
    # Saying an alert was seen or dealt with changes nothing in the business.
    ("POST", re.compile(r"^/v1/alerts/[^/]+/(acknowledge|resolve|reopen)$")),
    # A console user's own settings and session: every role manages its own.
    ("PATCH", re.compile(r"^/v1/me$")),
    ("POST", re.compile(r"^/v1/users/me/password$")),
    ("DELETE", re.compile(r"^/v1/sessions/current$")),
]
# Reads that expose configuration rather than shop data: admins only.
_ADMIN_READS = [re.compile(r"^/v1/webhooks"), re.compile(r"^/v1/keys"), re.compile(r"^/v1/users")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a shop's API key, a console user's session, or the platform token
    (``shop_id`` None)."""

    shop_id: int | None
    role: str
    key_id: int | None = None
    # The shopper a client key's request proved to be (a valid user token), else None.
    user_id: str | None = None
    # The console user a session request comes from (``key_id`` is None then).
    console_user_id: int | None = None

    @property
    def kind(self) -> str:
        return "user" if self.console_user_id is not None else "key"

    def may_see_history_of(self, user_id: str) -> bool:
        """Staff keys see any buyer's history; a front-end key only the proven user's own."""
        return self.role != "client" or self.user_id == user_id

    @property
    def is_platform(self) -> bool:
        return self.role == "platform"


def generate_api_key() -> str:
    return "sm_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def required_role(method: str, path: str) -> str:
    """The least role allowed to call ``method path``; unknown routes default to admin."""
    method = "GET" if method == "HEAD" else method
    if any(m == method and rx.match(path) for m, rx in _CLIENT_ROUTES):
        return "client"
    if method == "GET" and not any(rx.match(path) for rx in _ADMIN_READS):
        return "analyst"
    if any(m == method and rx.match(path) for m, rx in _ANALYST_WRITES):
        return "analyst"
    return "admin"


def check_role(principal: Principal, method: str, path: str) -> None:
    needed = required_role(method, path)
    if ROLE_RANK.get(principal.role, -1) < ROLE_RANK[needed]:
        who = "auth.role_user" if principal.kind == "user" else "auth.role"
        raise Forbidden(t(who, role=principal.role, method=method, path=path, needed=needed))


# --- user tokens: a shop's backend vouches for the shopper behind a front-end key ---------

USER_TOKEN_HEADER = "X-Shopmind-User-Token"
USER_TOKEN_MAX_TTL_S = 86_400
_USER_TOKEN_PREFIX = "ut1."


def _user_token_key(secret: str, shop_id: int) -> bytes:
    # One key per shop, derived from the internal secret: a token can never speak for another shop.
    return hmac.new(secret.encode(), f"user-token:{shop_id}".encode(), hashlib.sha256).digest()


def mint_user_token(secret: str, shop_id: int, user_id: str, ttl_s: int, now: float | None = None) -> tuple[str, int]:
    """A signed, expiring statement "this request is from ``user_id``"; returns (token, expires_at)."""
    expires_at = int((now or time.time()) + min(ttl_s, USER_TOKEN_MAX_TTL_S))
    body = json.dumps({"s": shop_id, "u": user_id, "e": expires_at}, separators=(",", ":"), ensure_ascii=False)
    payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    signature = hmac.new(_user_token_key(secret, shop_id), payload.encode(), hashlib.sha256).hexdigest()
    return f"{_USER_TOKEN_PREFIX}{payload}.{signature}", expires_at


def read_user_token(secret: str, shop_id: int, token: str, now: float | None = None) -> str:
    """The user a token proves, for this shop; 401 when it is malformed, forged, another shop's
    or expired."""
    head, _, signature = token.rpartition(".")
    if not head.startswith(_USER_TOKEN_PREFIX) or len(token) > 2048:
        raise Unauthorized(t("auth.user_token_malformed", header=USER_TOKEN_HEADER))
    payload = head.removeprefix(_USER_TOKEN_PREFIX)
    expected = hmac.new(_user_token_key(secret, shop_id), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized(t("auth.user_token_forged"))
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if body.get("s") != shop_id:
        raise Unauthorized(t("auth.user_token_forged"))
    if body.get("e", 0) < (now or time.time()):
        raise Unauthorized(t("auth.user_token_expired"))
    return body["u"]


# --- signed principal header (gateway -> service) --------------------------------------

def _sign(payload: bytes, token: str) -> str:
    return hmac.new(token.encode(), payload, hashlib.sha256).hexdigest()


def principal_headers(principal: Principal, token: str, method: str, path: str) -> dict[str, str]:
    """Signed for one request (method and path), so a captured header cannot call another route."""
    body = dict(asdict(principal), ts=int(time.time()), method=method.upper(), path=path)
    payload = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    return {PRINCIPAL_HEADER: payload.decode(), SIGNATURE_HEADER: _sign(payload, token)}


def verify_principal(headers, token: str, method: str, path: str) -> Principal:
    """Read and check the gateway's signed header; raise 401 if missing, forged, stale or for
    another request."""
    payload = headers.get(PRINCIPAL_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not payload or not signature:
        raise Unauthorized(t("auth.gateway_only"))
    if not hmac.compare_digest(_sign(payload.encode(), token), signature):
        raise Unauthorized(t("auth.bad_signature"))
    body = json.loads(base64.urlsafe_b64decode(payload.encode()))
    if abs(time.time() - body.pop("ts", 0)) > MAX_SIGNATURE_AGE_S:
        raise Unauthorized(t("auth.signature_expired"))
    if (body.pop("method", None), body.pop("path", None)) != (method.upper(), path):
        raise Unauthorized(t("auth.signature_elsewhere"))
    return Principal(**body)


# --- the current request's caller --------------------------------------------------------

def set_current_principal(principal: Principal) -> None:
    g.principal = principal


def current_principal(required: bool = True) -> Principal | None:
    principal = g.get("principal")
    if principal is None and required:
        raise Unauthorized(t("auth.send_key"))
    return principal


def current_shop_id() -> int:
    """The authenticated shop; the shop never comes from the URL or the body."""
    principal = current_principal()
    if principal.shop_id is None:
        raise Forbidden(t("auth.needs_shop_key"))
    return principal.shop_id
