"""The login form's CSRF token (pure: no Flask, no database; the console and the gateway share it).

``GET /login`` sets a random pre-session cookie (``shopmind_login``) and puts a signed,
short-lived token for it in the form's hidden field ``csrf_token``; ``POST /v1/sessions``, when
that cookie comes with it, wants the token back (double submit). Another site's page can neither
read the token nor make the browser send the cookie (``SameSite=Strict``), so it cannot sign a
visitor in to an account of its choosing. A request without the cookie (an API client) needs no
token: the sign-in route takes JSON only, which another site's page cannot post without the
browser asking this one first (CORS), and it never says yes.

The token is ``<expires_at>.<HMAC-SHA256(key, nonce.expires_at)>``, its key derived from
``SHOPMIND_INTERNAL_TOKEN`` for this use alone, so every gateway process checks what any minted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

LOGIN_COOKIE = "shopmind_login"
LOGIN_TOKEN_TTL_S = 2 * 3600
_LOGIN_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def new_login_nonce() -> str:
    return secrets.token_urlsafe(32)


def is_login_nonce(value: str | None) -> bool:
    return bool(value and _LOGIN_NONCE.match(value))


def _login_signature(secret: str, nonce: str, expires_at: int) -> str:
    key = hmac.new(secret.encode(), b"login-form", hashlib.sha256).digest()  # used for nothing else
    return hmac.new(key, f"{nonce}.{expires_at}".encode(), hashlib.sha256).hexdigest()


def mint_login_token(secret: str, nonce: str, now: float | None = None, ttl_s: int = LOGIN_TOKEN_TTL_S) -> str:
    """The form's token for the pre-session cookie ``nonce``: ``<expires_at>.<signature>``."""
    expires_at = int((now or time.time()) + ttl_s)
    return f"{expires_at}.{_login_signature(secret, nonce, expires_at)}"


def login_token_matches(secret: str, nonce: str | None, token: str | None, now: float | None = None) -> bool:
    """Whether ``token`` was minted for ``nonce`` and has not expired."""
    expires_at, _, signature = (token or "").partition(".")
    if not is_login_nonce(nonce) or not expires_at.isdigit() or len(expires_at) > 12:
        return False
    if not hmac.compare_digest(_login_signature(secret, nonce, int(expires_at)).encode(), signature.encode()):
        return False
    return int(expires_at) >= (now or time.time())
