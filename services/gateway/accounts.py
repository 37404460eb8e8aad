"""Console users and sessions: what the account routes, the gateway's authentication and the
``shopmind create-user`` command do (docs/api.md, "Console and sessions")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.gateway import accounts_data as data
from services.gateway import passwords
from shared.auth import Principal
from shared.config import Settings
from shared.db import ALL_SHOPS, session_scope, utcnow
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from shared.i18n import t
from shared.login_form import LOGIN_COOKIE, login_token_matches
from shared.models import User
from shared.ratelimit import rate_limiter

# A session's last-seen time is written at most this often (not on every request).
TOUCH_EVERY = timedelta(seconds=60)


class LoginThrottle:
    """Failed password checks per email and per address, each a budget per minute; once one is
    spent, even the right password is refused until the minute is over."""

    def __init__(self, settings: Settings):
        self.per_account = rate_limiter(settings.login_failures_per_account, settings.redis_url)
        self.per_address = rate_limiter(settings.login_failures_per_address, settings.redis_url)

    @staticmethod
    def _account_key(email: str) -> str:
        return "login-account:" + hashlib.sha256(email.encode()).hexdigest()[:24]

    def check(self, email: str, address: str | None) -> None:
        if self.per_account and (wait := self.per_account.spent(self._account_key(email))):
            raise TooManyRequests(t("accounts.throttled_account", seconds=wait), retry_after=wait)
        if self.per_address and (wait := self.per_address.spent(f"login-address:{address}")):
            raise TooManyRequests(t("accounts.throttled_address", seconds=wait), retry_after=wait)

    def failed(self, email: str, address: str | None) -> None:
        if self.per_account:
            self.per_account.hit(self._account_key(email))
        if self.per_address:
            self.per_address.hit(f"login-address:{address}")


@dataclass(frozen=True)
class SessionCaller:
    """A request signed in with a console session cookie."""

    principal: Principal
    token_hash: str
    csrf_token: str
    language: str


def describe_user(user: User) -> dict:
    return {"id": user.id, "email": user.email, "role": user.role, "language": user.language,
            "shop": user.shop_id, "created_at": user.created_at}


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- users ---------------------------------------------------------------------------------

def create_user(session: Session, shop_id: int, email: str, role: str, password: str | None = None) -> dict:
    """Add a user to the shop (the caller's session, which this commits); without ``password``
    one is generated and returned once, as ``password``."""
    email = normalise_email(email)
    generated = password is None
    password = passwords.generate_password() if generated else password
    language = data.shop_language(session, shop_id)
    try:
        user = data.add_user(session, shop_id, email, role, passwords.hash_password(password), language)
        session.commit()
    except IntegrityError:  # the unique email, in any shop (the session sees only its own)
        session.rollback()
        raise Conflict(t("accounts.email_taken", email=email)) from None
    reply = describe_user(user)
    if generated:
        reply["password"] = password
    return reply


def list_users(session: Session) -> list[dict]:
    return [describe_user(u) for u in data.list_users(session)]


def remove_user(session: Session, user_id: int) -> None:
    """Delete a user of the caller's shop; their sessions end in the same transaction."""
    user = data.get_user(session, user_id)
    if user is None:
        raise NotFound(t("accounts.no_user", user_id=user_id))
    data.delete_sessions_of(session, user.id)
    session.delete(user)
    session.commit()


def change_password(session: Session, throttle: LoginThrottle, caller: SessionCaller | None, current: str,
                    new: str, address: str | None) -> None:
    """Set a new password after checking the current one; every other session of the user ends."""
    user = data.get_user(session, _console_user(caller))
    throttle.check(user.email, address)
    if not passwords.password_matches(user.password_hash, current):
        throttle.failed(user.email, address)
        raise InvalidInput(t("accounts.wrong_current_password"),
                           errors={"current": [t("accounts.wrong_current_password")]})
    user.password_hash = passwords.hash_password(new)
    data.delete_sessions_of(session, user.id, keep=caller.token_hash)
    session.commit()


def set_language(session: Session, caller: SessionCaller | None, language: str) -> dict:
    user = data.get_user(session, _console_user(caller))
    user.language = language
    session.commit()
    return describe_user(user)


def describe_caller(session: Session, principal: Principal, caller: SessionCaller | None) -> dict:
    """``GET /v1/me``: the signed-in user, or the API key the request was made with."""
    me = {"kind": principal.kind, "shop": principal.shop_id, "role": principal.role,
          "shop_name": data.shop_name(session, principal.shop_id) if principal.shop_id else None}
    if caller is None:
        return {**me, "key_id": principal.key_id}
    user = data.get_user(session, caller.principal.console_user_id)
    return {**me, "user": describe_user(user), "id": user.id, "email": user.email, "language": user.language,
            "csrf_token": caller.csrf_token}


def _console_user(caller: SessionCaller | None) -> int:
    if caller is None:
        raise Forbidden(t("accounts.needs_session"))
    return caller.principal.console_user_id


# --- sessions --------------------------------------------------------------------------------

def sign_in(settings: Settings, throttle: LoginThrottle, email: str, password: str, address: str | None,
            login_form: tuple[str | None, str | None] = (None, None)) -> dict:
    """Check the password and open a session: ``{"user", "token", "csrf_token"}``. An unknown
    email and a wrong password get the same answer, in the same time.

    ``login_form``: the pre-session cookie and the form's token. A browser that loaded the login
    page sends the cookie and must send the token minted for it (403 otherwise); a request
    without the cookie (an API client) is not asked for one."""
    cookie, token = login_form
    if cookie is not None and not login_token_matches(settings.internal_token, cookie, token):
        raise Forbidden(t("accounts.login_form", cookie=LOGIN_COOKIE))
    email = normalise_email(email)
    throttle.check(email, address)
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        user = data.find_user_by_email(session, email)
        if not passwords.password_matches(user.password_hash if user else None, password):
            user = None
        elif passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        if user is not None:
            token, csrf_token = passwords.new_session_token(), passwords.new_csrf_token()
            data.add_session(session, user, passwords.hash_session_token(token), csrf_token)
            signed_in = {"user": describe_user(user), "token": token, "csrf_token": csrf_token}
    if user is None:
        throttle.failed(email, address)
        raise Unauthorized(t("accounts.bad_credentials"))
    return signed_in


def sign_out(settings: Settings, caller: SessionCaller | None) -> None:
    if caller is None:
        raise Forbidden(t("accounts.needs_session"))
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        data.delete_session(session, caller.token_hash)


def session_caller(settings: Settings, token: str) -> SessionCaller:
    """Who a session cookie belongs to; 401 when it is unknown, ended, idle too long or too old."""
    token_hash = passwords.hash_session_token(token)
    now = utcnow()
    with session_scope(ALL_SHOPS, settings.database_url) as session:
        found = data.session_with_user(session, token_hash)
        expired = found is not None and (
            now - found[0].created_at > timedelta(seconds=settings.session_max_s)
            or now - found[0].last_seen_at > timedelta(seconds=settings.session_idle_s))
        if expired:
            data.delete_session(session, token_hash)
        elif found is not None and now - found[0].last_seen_at > TOUCH_EVERY:
            data.touch_session(session, found[0], now)
    if found is None or expired:
        raise Unauthorized(t("accounts.session_ended"))
    row, user = found
    return SessionCaller(Principal(user.shop_id, user.role, console_user_id=user.id), token_hash, row.csrf_token,
                         user.language)
