"""Who is calling, may they, and how often: the gateway's ``before_request``.

A request proves who it is with a Bearer API key, or with the console's session cookie; both
reach the same ``/v1`` routes with the same role table and the same shop scoping. A cookie is
sent by the browser on its own, so a state-changing request made with one must also carry the
session's CSRF token (``X-CSRF-Token``); a Bearer key is never sent on its own and needs none.
"""

from __future__ import annotations

import dataclasses
import hmac
import threading
import time

from flask import Flask, current_app, g, request
from sqlalchemy import select

from services.console.pages import PAGE_PATHS as CONSOLE_PAGES
from services.gateway import accounts
from shared import i18n
from shared.auth import USER_TOKEN_HEADER, Principal, check_role, hash_api_key, read_user_token, set_current_principal
from shared.config import Settings
from shared.db import ALL_SHOPS, session_scope
from shared.errors import Forbidden, TooManyRequests, Unauthorized
from shared.models import ApiKey, Shop
from shared.ratelimit import rate_limiter

# The console's pages are public here: each sends a visitor without a session to /login, and
# everything they show comes from /v1 calls, which are checked.
PUBLIC_PATHS = {"/healthz", "/readyz", "/openapi.json", "/docs", "/favicon.ico", *CONSOLE_PAGES}
PUBLIC_PREFIXES = ("/static/",)  # our own scripts and the vendored assets
PLATFORM_ROUTES = {("POST", "/v1/shops")}
# Signing in needs no credential (its own throttle stands in for the key's rate limit).
SIGN_IN_ROUTES = {("POST", "/v1/sessions")}
SESSION_COOKIE = "shopmind_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Key lookups are cached briefly; a revoked key stops working in this process at once
# (the cache entry is dropped) and in other processes within this many seconds.
KEY_CACHE_TTL_S = 5.0


class KeyCache:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._entries: dict[str, tuple[Principal | None, float]] = {}
        self._lock = threading.Lock()

    def lookup(self, key: str) -> Principal | None:
        key_hash = hash_api_key(key)
        now = time.monotonic()
        entry = self._entries.get(key_hash)
        if entry is not None and now - entry[1] < KEY_CACHE_TTL_S:
            return entry[0]
        with session_scope(ALL_SHOPS, self.settings.database_url) as session:
            row = session.scalars(
                select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
            ).first()
            principal = Principal(row.shop_id, row.role, row.id) if row else None
        with self._lock:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[key_hash] = (principal, now)
        return principal

    def forget(self, key_id: int) -> None:
        with self._lock:
            self._entries = {h: e for h, e in self._entries.items() if not (e[0] and e[0].key_id == key_id)}


class ShopLanguages:
    """Each shop's language, cached briefly (a change made in this process applies at once)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._entries: dict[int, tuple[str, float]] = {}

    def get(self, shop_id: int) -> str:
        entry = self._entries.get(shop_id)
        if entry is not None and time.monotonic() - entry[1] < KEY_CACHE_TTL_S:
            return entry[0]
        with session_scope(ALL_SHOPS, self.settings.database_url) as session:
            language = session.scalar(select(Shop.language).where(Shop.id == shop_id)) or i18n.DEFAULT_LANGUAGE
        self._entries[shop_id] = (language, time.monotonic())
        return language

    def forget(self, shop_id: int) -> None:
        self._entries.pop(shop_id, None)


def forget_shop(shop_id: int) -> None:
    """The shop's settings changed: re-read them on its next request."""
    current_app.extensions["shopmind.shop_languages"].forget(shop_id)


def init_app(app: Flask, settings: Settings) -> None:
    keys = KeyCache(settings)
    languages = ShopLanguages(settings)
    app.extensions["shopmind.shop_languages"] = languages
    limiter = rate_limiter(settings.rate_limit_per_minute, settings.redis_url)
    app.extensions["shopmind.keys"] = keys
    app.extensions["shopmind.limiter"] = limiter
    app.extensions["shopmind.login_throttle"] = accounts.LoginThrottle(settings)

    @app.before_request
    def _authenticate():
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES) or request.method == "OPTIONS":
            return
        if (request.method, request.path) in SIGN_IN_ROUTES:
            return
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and "Authorization" not in request.headers:  # an explicit key wins over the browser's cookie
            _authenticate_session(settings, cookie, limiter)
            return
        token = _bearer_token()
        if (request.method, request.path) in PLATFORM_ROUTES:
            # Anything but the platform token is one answer, a shop's valid key included: the
            # route must not tell keys from garbage (that would test guessed keys for free).
            if not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
                _slow_down_guessing()
                raise Unauthorized(i18n.t("auth.platform_token"))
            set_current_principal(Principal(None, "platform"))
            return
        principal = keys.lookup(token)
        if principal is None:
            _slow_down_guessing()  # each unknown key costs a lookup
            raise Unauthorized(i18n.t("auth.unknown_key"))
        # The reader's language: what the request asks for, else the shop's own setting.
        if not i18n.negotiate(request.headers.get("Accept-Language")):
            i18n.set_language(languages.get(principal.shop_id))
        check_role(principal, request.method, request.path)
        if limiter is not None:
            # Keyed by a hash prefix, not the row id, so counters never collide across databases.
            wait = limiter.hit(hash_api_key(token)[:16])
            if wait is not None:
                raise TooManyRequests(i18n.t("auth.rate_limited", limit=settings.rate_limit_per_minute, seconds=wait),
                                      retry_after=wait)
        if principal.role == "client" and (user_token := request.headers.get(USER_TOKEN_HEADER)):
            user_id = read_user_token(settings.internal_token, principal.shop_id, user_token)
            principal = dataclasses.replace(principal, user_id=user_id)
        set_current_principal(principal)


def _authenticate_session(settings: Settings, cookie: str, limiter) -> None:
    if (request.method, request.path) in PLATFORM_ROUTES:  # no user of a shop is the platform
        raise Unauthorized(i18n.t("auth.platform_token"))
    caller = accounts.session_caller(settings, cookie)
    g.console_session = caller
    # The reader's language: what the request asks for, else the user's own setting. A page the browser
    # opens itself (the weekly report's frame, a CSV link) carries the browser's language, not the
    # console's: there the user's setting wins, as it does on the console's own pages.
    navigated = request.headers.get("Sec-Fetch-Mode") == "navigate"
    if navigated or not i18n.negotiate(request.headers.get("Accept-Language")):
        i18n.set_language(caller.language)
    if request.method not in SAFE_METHODS and not hmac.compare_digest(
            request.headers.get(CSRF_HEADER, "").encode(), caller.csrf_token.encode()):
        raise Forbidden(i18n.t("accounts.csrf", header=CSRF_HEADER))
    check_role(caller.principal, request.method, request.path)
    if limiter is not None and (wait := limiter.hit("session:" + caller.token_hash[:16])) is not None:
        raise TooManyRequests(i18n.t("accounts.rate_limited", limit=settings.rate_limit_per_minute, seconds=wait),
                              retry_after=wait)
    set_current_principal(caller.principal)


def console_session() -> accounts.SessionCaller | None:
    """The console session the current request was made with, or None (an API key)."""
    return g.get("console_session")


def _slow_down_guessing() -> None:
    """A client sending wrong keys or platform tokens is limited per address (one budget for both)."""
    limiter = current_app.extensions["shopmind.limiter"]
    if limiter is not None and (wait := limiter.hit(f"badkey:{request.remote_addr}")) is not None:
        raise TooManyRequests(i18n.t("auth.guessing", seconds=wait), retry_after=wait)


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(i18n.t("auth.send_key"))
    return token.strip()
